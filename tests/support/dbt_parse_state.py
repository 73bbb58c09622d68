"""dbt's parse state, made once per test run; a new test warehouse's first dbt invocation starts from it.

A warehouse's first ``dbt build`` parses the whole project (about 6 s of CPU on the 2-CPU
machines, against under 3 s with the parse state of an earlier build), and the suite builds some
forty warehouses from nothing. dbt reads its saved state from ``DBT_PARTIAL_PARSE_FILE_PATH`` when
that is set (dbt's own flag; it still writes its state to the invocation's target folder;
``dvk.transform.run_dbt`` passes it on only to a target folder without a state of its own), and
reuses it only when the project files, the vars, the profile's connection values and dbt's version
are those it was made with: anything else, e.g. a test's own units file, is parsed in full, as
without it. The profile names the warehouse by its file name (``dvk.transform.dbt_working_dir``),
so one state serves every test warehouse called ``dvk.duckdb``.

``start(folder)`` runs ``dbt parse`` on an empty warehouse in a child process, in the background,
and moves its ``partial_parse.msgpack`` to ``state_file(folder)`` when it is complete (until then
the path names no file, and dbt parses in full). The benchmarks' stages that measure a full parse
drop the variable (``bench/scale_bench.py``'s cold start-up, ``bench/dbt_invoke.py --parse``); in
their smoke tests the other stages read it like any test.

    python -m tests.support.dbt_parse_state FOLDER
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from dvk.settings import get_settings
from dvk.transform import PARTIAL_PARSE_FILE, PARTIAL_PARSE_VARIABLE, run_dbt

REPO = Path(__file__).resolve().parents[2]
VARIABLE = PARTIAL_PARSE_VARIABLE


def state_file(folder: Path) -> Path:
    return folder / PARTIAL_PARSE_FILE


def start(folder: Path, log: Path) -> subprocess.Popen:
    """``dbt parse`` for ``folder`` in a child process (not waited for); its output in ``log``."""
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.dbt_parse_state", str(folder)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends dbt's process with it
        )


def stop(child: subprocess.Popen, wait: float = 60.0) -> None:
    """Let a parse that is still running finish (other workers may still read the state), then
    end it and dbt's process with it."""
    try:
        child.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def make(folder: Path) -> Path:
    """Parse the project for a warehouse ``folder/warehouse/dvk.duckdb`` with the default settings
    (the vars a test site without its own reference files passes) and publish the state."""
    settings = replace(get_settings(), warehouse=folder / "warehouse" / "dvk.duckdb", warehouse_url=None)
    run_dbt(["parse"], settings)
    made = settings.dbt_target_dir / PARTIAL_PARSE_FILE
    os.replace(made, state_file(folder))  # whole or not at all: dbt never reads a half-written file
    return state_file(folder)


if __name__ == "__main__":
    print(make(Path(sys.argv[1])))
