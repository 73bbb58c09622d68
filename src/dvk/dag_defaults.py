"""What the project's three DAGs share (light: imported at DAG-parse time; dags/*.py only wire).

Each DAG names its id, schedule, tags and documentation; the rest is the same for all of them:
a start date in the office's time zone, no catch-up of missed intervals (a run reads the whole
inbox, so one run after an outage catches up by itself), one run of a DAG at a time, the owner,
and no default retries (a task that can fail transiently sets its own, with its reason).
"""

from __future__ import annotations

from typing import Any

import pendulum

#: the office's time zone: the DAGs' schedules are in local time
TIMEZONE = "Asia/Ho_Chi_Minh"


def dag_defaults() -> dict[str, Any]:
    """Keyword arguments of ``@dag`` common to every DAG of the project (a fresh dict each call)."""
    return {
        "start_date": pendulum.datetime(2024, 1, 1, tz=TIMEZONE),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {"owner": "dvk-data", "retries": 0},
    }
