"""Style checks run by the test command, in every tier: ruff on the Python code ([tool.ruff] in
pyproject.toml) and sqlfluff on the dbt project's SQL (dbt_project/.sqlfluff: jinja templater,
DuckDB dialect). The rules left out for now are listed, with counts, beside each configuration."""

from __future__ import annotations

import subprocess
import sys

from dvk.settings import DBT_PROJECT_DIR, PROJECT_ROOT


def test_ruff():
    from ruff.__main__ import find_ruff_bin

    proc = subprocess.run([find_ruff_bin(), "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"ruff check (fix with .venv/bin/ruff check --fix FILE):\n{proc.stdout}{proc.stderr}"


def test_sqlfluff_on_the_dbt_project():
    proc = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "--disable-progress-bar",
         "models", "snapshots", "macros", "tests"],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"sqlfluff lint (in dbt_project/):\n{proc.stdout[-6000:]}{proc.stderr[-3000:]}"
