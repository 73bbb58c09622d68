"""``python -m dvk.gate 2021 [2022 ...]``: run the gate, print the verdict; exit 1 if any failed."""

from __future__ import annotations

import sys

from dvk.gate import gate_result_path, run_gate


def main(argv: list[str] | None = None) -> int:
    years = [int(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not years:
        print("usage: python -m dvk.gate YEAR [YEAR ...]", file=sys.stderr)
        return 2
    ok = True
    for year in years:
        result = run_gate(year)
        verdict = "ĐẠT / passed" if result.passed else "KHÔNG ĐẠT / FAILED"
        print(f"{year}: {verdict} ({gate_result_path(year)})")
        for line in result.failure_lines():
            print(f"  - {line}")
        for line in result.warning_lines():
            print(f"  ! {line}")
        if result.missing_units:
            print("  chưa báo cáo / missing: " + ", ".join(u["unit_code"] for u in result.missing_units))
        if result.provisional_units:
            print("  tạm tính / provisional: " + ", ".join(
                f"{u['unit_code']} ({u['period_id']})" for u in result.provisional_units))
        if result.data_docs:
            print(f"  Báo cáo kiểm tra / gate report: {result.data_docs}")
        elif result.data_docs_error:
            print(f"  Báo cáo kiểm tra / gate report: không tạo được / not written: {result.data_docs_error}")
        ok = ok and result.passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
