"""Reading an .xlsx file's zip container straight from its central directory.

The guard (declared sizes), the memory budget (the XML parts it scans) and the formula scan (the
worksheet parts) each need a few parts of every workbook; :mod:`zipfile` costs tens of microseconds
a file to open, this costs a few. Anything that is not simple (zip64, a compression method other
than stored or deflated, a damaged directory) gives None, and the caller asks :mod:`zipfile`,
which also says whether the zip is readable at all.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

EOCD = b"PK\x05\x06"
#: The end-of-central-directory record (22 bytes) may be followed by a comment of up to 65,535 bytes.
EOCD_SEARCH_WINDOW = 22 + 65_535
_ZIP64 = 0xFFFFFFFF


def column_letter(index: int) -> str:
    """A column's letters in an A1 reference: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters



class ZipEntry(NamedTuple):
    name: str
    method: int  # 0 stored, 8 deflated
    size: int  # compressed
    usize: int  # declared uncompressed size
    local: int  # offset of the local header


_last: tuple[bytes, tuple[ZipEntry, ...] | None] | None = None  # the last workbook's, read once for its checks


def central_directory(data: bytes) -> tuple[ZipEntry, ...] | None:
    """Every entry of the zip's central directory, or None when that is not simple to read.

    The guard, the memory budget and the formula scan each ask for the same workbook's: it is read
    once (kept for the last ``data`` object asked about)."""
    global _last
    last = _last
    if last is not None and last[0] is data:
        return last[1]
    entries = _central_directory(data)
    _last = (data, entries)
    return entries


def _central_directory(data: bytes) -> tuple[ZipEntry, ...] | None:
    end = data.rfind(EOCD, max(0, len(data) - EOCD_SEARCH_WINDOW))
    if end < 0 or len(data) < end + 22:
        return None
    count, offset = struct.unpack_from("<H", data, end + 10)[0], struct.unpack_from("<L", data, end + 16)[0]
    if count == 0xFFFF or offset == _ZIP64:
        return None
    entries: list[ZipEntry] = []
    pos = offset
    try:
        for _ in range(count):
            if data[pos:pos + 4] != b"PK\x01\x02":
                return None
            method, size, usize, nlen, xlen, clen, local = struct.unpack_from("<10xH8xLL3H8xL", data, pos)
            if usize == _ZIP64:
                return None  # zip64 sizes: zipfile reads them
            entries.append(ZipEntry(data[pos + 46:pos + 46 + nlen].decode("utf-8", "replace"),
                                    method, size, usize, local))
            pos += 46 + nlen + xlen + clen
    except struct.error:
        return None
    return tuple(entries)


def inflate(data: bytes, entry: ZipEntry) -> bytes | None:
    """The entry's bytes, inflated to at most its declared size + 1 (so that a part larger than
    declared shows); None for another compression method or a damaged local header."""
    try:
        if data[entry.local:entry.local + 4] != b"PK\x03\x04":
            return None
        lnlen, lxlen = struct.unpack_from("<HH", data, entry.local + 26)
        start = entry.local + 30 + lnlen + lxlen
        raw = data[start:start + entry.size]
        if entry.method == 8:
            return zlib.decompressobj(-15).decompress(raw, entry.usize + 1)
        return raw if entry.method == 0 else None
    except (struct.error, zlib.error):
        return None
