"""Checks a file must pass before it is parsed: size, emptiness, real type, zip bombs, encryption.

They run on the bytes (or only the size) so that a hostile or broken file is refused before any
parser touches it; each failure is a :class:`~dvk.ingest.problems.Problem` a clerk can act on.
"""

from __future__ import annotations

import io
import zipfile

from dvk.ingest import ooxml
from dvk.ingest.problems import Problem, ProblemLog

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls are OLE containers
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_EXPANSION_RATIO = 100


def check_size(size: int, file_name: str, max_bytes: int) -> list[Problem]:
    log = ProblemLog(file_name)
    if size == 0:
        log.add("empty", "Tệp rỗng (0 byte)", "the file is empty (0 bytes)")
    elif size > max_bytes:
        log.add("too_large", f"Tệp quá lớn ({size / 1e6:.1f} MB, tối đa {max_bytes / 1e6:.0f} MB)",
                f"the file is too large ({size} bytes, the limit is {max_bytes})")
    return log.problems


def zip_entries(data: bytes) -> list[tuple[str, int]] | None:
    """(name, declared uncompressed size) of every entry, read straight from the central directory
    (no decompression; a few microseconds). None when that is not simple (zip64, damage): the
    caller then asks :mod:`zipfile`, which also says whether the zip is readable at all."""
    directory = ooxml.central_directory(data)
    return None if directory is None else [(e.name, e.usize) for e in directory]


def check_content(data: bytes, file_name: str, suffix: str) -> list[Problem]:
    """The file is what its name says: a real .xlsx workbook (zip, not a bomb), or CSV text."""
    log = ProblemLog(file_name)
    if suffix == ".xlsx":
        if data.startswith(OLE_MAGIC):
            log.add("encrypted_or_xls",
                    "Tệp có đặt mật khẩu hoặc là tệp Excel cũ (.xls): hãy bỏ mật khẩu và lưu lại dạng .xlsx",
                    "the workbook is password-protected or an old .xls file: remove the password and save "
                    "it as .xlsx")
            return log.problems
        if not data.startswith(ZIP_MAGIC):
            log.add("not_xlsx", "Tệp không phải là bảng tính Excel (.xlsx) dù có đuôi .xlsx",
                    "the file is not an Excel workbook although its name ends in .xlsx")
            return log.problems
        entries = zip_entries(data)
        if entries is None:
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    entries = [(i.filename, i.file_size) for i in zf.infolist()]
            except zipfile.BadZipFile:
                log.add("not_xlsx", "Tệp .xlsx bị hỏng, không mở được", "the .xlsx file is corrupt (bad zip)")
                return log.problems
        expanded = sum(size for _, size in entries)
        ratio_bomb = expanded > MAX_EXPANSION_RATIO * max(len(data), 1) and expanded > 20 * 1024 * 1024
        if expanded > MAX_EXPANDED_BYTES or ratio_bomb:
            log.add("zip_bomb",
                    f"Tệp nén giải ra quá lớn ({expanded / 1e6:.0f} MB từ {len(data) / 1e6:.2f} MB): từ chối mở",
                    f"refused: the workbook expands to {expanded} bytes from {len(data)} (zip bomb?)")
            return log.problems
        if not any(name == "xl/workbook.xml" for name, _ in entries):
            log.add("not_xlsx", "Tệp nén này không phải bảng tính Excel (thiếu xl/workbook.xml)",
                    "the zip file is not an Excel workbook (no xl/workbook.xml)")
    elif suffix == ".csv":
        if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC) or b"\x00" in data[:4096]:
            log.add("not_csv", "Tệp không phải văn bản CSV dù có đuôi .csv (có thể là tệp Excel bị đổi tên)",
                    "the file is not CSV text although its name ends in .csv (a renamed workbook?)")
    return log.problems
