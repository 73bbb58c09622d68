"""``python -m dvk.report [YEAR ...]``: gate then annual report for the years given, else for every
year with annual submissions. Exit 1 if a gate failed."""

from __future__ import annotations

import sys

from dvk.gate import GateFailed
from dvk.report import build_annual_report, years_with_annual_submissions


def main(argv: list[str] | None = None) -> int:
    from dvk.filemodes import apply_umask

    apply_umask()
    args = sys.argv[1:] if argv is None else argv
    years = [int(a) for a in args] or years_with_annual_submissions()
    ok = True
    for year in years:
        try:
            print(f"{year}: {build_annual_report(year)}")
        except GateFailed as exc:
            print(str(exc), file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
