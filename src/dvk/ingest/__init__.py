"""Ingest: the inbox's submission files into the raw layer of the warehouse.

``ingest_inbox()`` reads every new ``.xlsx`` / ``.csv`` file of ``DVK_INBOX_DIR``; each is loaded
whole (its rows never split across transactions; whole files are committed in groups) or
quarantined with a report of every problem found. ``pending_quarantine()`` (``quarantine``) lists
what waits for a unit to fix. docs/ingest.md describes it all.

Layout: ``problems`` (Problem, SubmissionError), ``cells`` (numbers and dates as typed),
``guard`` (size / type / zip-bomb checks), ``formulas`` (formula cells without a cached value),
``form`` (the columns both forms share and the parsed submission), ``xlsx_form`` and ``csv_form``
(the two parsers), ``parse`` (by file type), ``parse_pool`` (the parse in worker processes for a
large inbox), ``warehouse`` (the ``raw.*`` tables and their writes), ``inbox`` (the run),
``inbox_index`` (the files the last run read), ``quarantine`` (what is waiting to be fixed).
"""

from dvk.ingest.form import DeclaredTotal, ModelLine, ParsedSubmission
from dvk.ingest.inbox import IngestError, IngestResult, ingest_inbox
from dvk.ingest.parse import parse_file
from dvk.ingest.problems import Problem, SubmissionError
from dvk.ingest.quarantine import pending_quarantine

__all__ = [
    "DeclaredTotal",
    "IngestError",
    "IngestResult",
    "ModelLine",
    "ParsedSubmission",
    "Problem",
    "SubmissionError",
    "ingest_inbox",
    "parse_file",
    "pending_quarantine",
]
