"""One submission file → a :class:`ParsedSubmission`, by its format (``.xlsx`` spec §3, ``.csv`` §4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dvk.ingest.csv_form import parse_csv
from dvk.ingest.form import DeclaredTotal, ModelLine, ParsedSubmission
from dvk.ingest.xlsx_form import parse_xlsx
from dvk.periods import local_today
from dvk.reference import FieldDirectory, UnitDirectory

PARSERS = {".xlsx": parse_xlsx, ".csv": parse_csv}
SUBMISSION_SUFFIXES = frozenset(PARSERS)


def parse_file(data: bytes, file_name: str, *, units: UnitDirectory | None = None,
               fields: FieldDirectory | None = None, today: dt.date | None = None) -> ParsedSubmission:
    """Parse a file's bytes; raises :class:`~dvk.ingest.problems.SubmissionError` with every problem."""
    parser = PARSERS[Path(file_name).suffix.lower()]
    return parser(data, file_name, units=units or UnitDirectory(), fields=fields or FieldDirectory(),
                  today=today or local_today())


__all__ = ["DeclaredTotal", "ModelLine", "ParsedSubmission", "SUBMISSION_SUFFIXES", "parse_file"]
