"""Test-session set-up: Airflow must be configured before anything imports it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# One throw-away Airflow home (SQLite) for the whole session, never the developer's .local/.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="dvk-test-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["DVK_AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
# Tests write their inbox files and ingest them at once: no settle time (DVK_INBOX_SETTLE_SECONDS),
# unless a test sets one (tests/test_ingest_hostile.py does, for the uploads in progress).
os.environ.setdefault("DVK_INBOX_SETTLE_SECONDS", "0")

from dvk import airflow_local  # noqa: E402

airflow_local.configure(_AIRFLOW_HOME)

# Airflow's services and PostgreSQL as real processes, started once a session (tests/services_stack.py).
from services_stack import airflow_stack, loaded_stack  # noqa: E402,F401
