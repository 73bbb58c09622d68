"""Problems found in a submission file: where (sheet, row, column) and what, in Vietnamese and English.

A :class:`Problem` is one thing a clerk must fix; a file with any problem is quarantined whole. The
parsers collect every problem of a file in a :class:`ProblemLog` and raise one
:class:`SubmissionError` carrying all of them at the end, so the clerk fixes the file in one go.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def _printable(text: str) -> str:
    """Control characters shown as ``\\xNN`` escapes; tabs and newlines as spaces."""
    return "".join(ch if ch.isprintable() else " " if ch in "\t\n\r" else
                   ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass(frozen=True)
class Problem:
    file: str
    code: str  # short English id: unknown_field, bad_value, missing_column, unreadable, ...
    message_vi: str
    message_en: str
    sheet: str | None = None
    row: int | None = None  # 1-based row of the sheet (the CSV header is row 1)
    column: str | None = None  # header text, with the column letter for xlsx: "C (Lĩnh vực)"

    def __post_init__(self) -> None:
        # Messages quote what the file holds (a value, a sheet name, a parser's error): never a
        # control character or an escape sequence in a report, the warehouse or a terminal.
        for name in ("file", "message_vi", "message_en", "sheet", "column"):
            value = getattr(self, name)
            if value is not None and not value.isprintable():
                object.__setattr__(self, name, _printable(value))

    def where_vi(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet «{self.sheet}»")
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column:
            parts.append(f"cột {self.column}")
        return ", ".join(parts) if parts else "toàn tệp"

    def where_en(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts) if parts else "whole file"

    def as_dict(self) -> dict:
        return asdict(self)


class SubmissionError(Exception):
    """A file that cannot be loaded; carries every problem found in it, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.where_en()}: {p.message_en}" for p in self.problems))


@dataclass
class ProblemLog:
    """Collects the problems of one file while it is read."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message_vi: str, message_en: str, *, sheet: str | None = None,
            row: int | None = None, column: str | None = None) -> None:
        self.problems.append(Problem(self.file, code, message_vi, message_en, sheet, row, column))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SubmissionError(self.problems)
