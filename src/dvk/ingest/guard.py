"""Checks a file must pass before it is parsed: size, emptiness, real type, zip bombs, encryption."""

from __future__ import annotations

import io
import zipfile

from dvk.ingest.problems import ProblemLog

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls are OLE containers
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_EXPANSION_RATIO = 100


def check_file(data: bytes, file_name: str, suffix: str, max_bytes: int) -> ProblemLog:
    log = ProblemLog(file_name)
    size = len(data)
    if size == 0:
        log.add("empty", "Tệp rỗng (0 byte)", "the file is empty (0 bytes)")
        return log
    if size > max_bytes:
        log.add("too_large", f"Tệp quá lớn ({size / 1e6:.1f} MB, tối đa {max_bytes / 1e6:.0f} MB)",
                f"file too large ({size} bytes, limit {max_bytes})")
        return log
    if suffix == ".xlsx":
        if data.startswith(OLE_MAGIC):
            log.add("encrypted_or_xls",
                    "Tệp có mật khẩu hoặc là tệp Excel cũ (.xls): hãy bỏ mật khẩu và lưu lại dạng .xlsx",
                    "the workbook is password-protected or an old .xls file: remove the password and save as .xlsx")
            return log
        if not data.startswith(ZIP_MAGIC):
            log.add("not_xlsx", "Tệp không phải là bảng tính Excel (.xlsx) dù có đuôi .xlsx",
                    "the file is not an Excel workbook although it is named .xlsx")
            return log
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
        except zipfile.BadZipFile:
            log.add("not_xlsx", "Tệp .xlsx bị hỏng, không mở được", "the .xlsx file is corrupt (bad zip)")
            return log
        expanded = sum(i.file_size for i in infos)
        if expanded > MAX_EXPANDED_BYTES or expanded > MAX_EXPANSION_RATIO * max(size, 1) and expanded > 20 * 1024 * 1024:
            log.add("zip_bomb",
                    f"Tệp nén giải ra quá lớn ({expanded / 1e6:.0f} MB từ {size / 1e6:.2f} MB): từ chối mở",
                    f"refused: the workbook expands to {expanded} bytes from {size} (zip bomb?)")
            return log
        if not any(i.filename == "xl/workbook.xml" for i in infos):
            log.add("not_xlsx", "Tệp nén không phải bảng tính Excel (thiếu xl/workbook.xml)",
                    "the zip file is not an Excel workbook (no xl/workbook.xml)")
    elif suffix == ".csv":
        if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC) or b"\x00" in data[:4096]:
            log.add("not_csv", "Tệp không phải văn bản CSV dù có đuôi .csv",
                    "the file is not a CSV text file although it is named .csv")
    return log
