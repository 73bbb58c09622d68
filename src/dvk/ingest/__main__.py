"""``python -m dvk.ingest`` = ``dvk ingest``: load the inbox now, print the result as JSON
(see :mod:`dvk.cli`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from dvk.cli import main as dvk

    return dvk(["ingest", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
