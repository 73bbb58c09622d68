"""``python -m dvk.report [YEAR ...]`` = ``dvk report --year YEAR …``: the gate then the annual
report of each year given, else of every year to report (annual reports, or the annual report due; see :mod:`dvk.cli`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from dvk.cli import year_args
    from dvk.cli import main as dvk

    return dvk(["report", *year_args(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
