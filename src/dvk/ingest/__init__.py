"""Ingest: the inbox's submission files into the raw layer of the warehouse.

``ingest_inbox()`` reads every new ``.xlsx`` / ``.csv`` file of ``DVK_INBOX_DIR``; each is loaded
whole in its own transaction or quarantined with a report of every problem found.
"""

from dvk.ingest.inbox import IngestResult, ingest_inbox
from dvk.ingest.problems import Problem, SubmissionError

__all__ = ["IngestResult", "Problem", "SubmissionError", "ingest_inbox"]
