"""The README's run command: the whole pipeline through Airflow on the embedded default.

    python -m dvk.run_local [--year 2021]

Runs ``dvk_ingest``, ``dvk_transform`` and ``dvk_annual_report`` one after the other with
``dag.test()`` on a local Airflow home (SQLite), honouring ``DVK_INBOX_DIR``, ``DVK_WAREHOUSE``
and ``DVK_REPORTS_DIR``, then prints where the reports are. Exits 1 if a DAG run failed (a gate
failure included), after saying why.
"""

from __future__ import annotations

import argparse
import json
import sys

from dvk import airflow_local


def _print_gate_failures(reports_dir) -> None:
    for path in sorted((reports_dir / "gate").glob("*/gate_result.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("passed"):
            continue
        print(f"\nKiểm tra chất lượng năm {result.get('year')} KHÔNG ĐẠT / gate FAILED ({path}):")
        for failure in result.get("failures", []):
            print(f"  - {failure.get('message_vi')}\n    {failure.get('message_en')}")


def _print_annual_summaries(reports_dir, year: int | None = None) -> None:
    """One line per year with an annual report (every year, oldest first, or only ``year``)."""
    paths = sorted((reports_dir / "annual").glob("*/summary.json"), key=lambda p: p.parent.name)
    summaries = [json.loads(p.read_text(encoding="utf-8")) | {"_dir": p.parent} for p in paths]
    summaries = [s for s in summaries if year is None or s.get("year") == year]
    if not summaries:
        return
    print("\nBáo cáo năm / annual reports:")
    for summary in summaries:
        provisional = sum(1 for unit in summary.get("units", []) if unit.get("provisional"))
        missing = len(summary.get("missing_units", []))
        print(
            f"  {summary['year']}: {summary['units_registered']} đơn vị, {summary['models_total']} mô hình, "
            f"{summary['models_new']} xây mới, {summary['models_replicated']} nhân rộng; "
            f"tạm tính / provisional {provisional}, chưa báo cáo / missing {missing} -> {summary['_dir']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--year", type=int, default=None, help="report only this year (default: every year with annual submissions)")
    parser.add_argument("--unit", default=None, help="also show one unit's figures, status and gate failures (unit code)")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's task logs (INFO) as they run")
    args = parser.parse_args(argv)

    import os

    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO" if args.verbose else "WARNING")
    home = airflow_local.configure()
    from dvk.settings import get_settings

    settings = get_settings()
    print(f"Inbox:     {settings.inbox_dir}")
    print(f"Warehouse: {settings.warehouse}")
    print(f"Reports:   {settings.reports_dir}")
    print(f"Airflow:   {home} (SQLite, dag.test)")

    airflow_local.ensure_metadata_db()
    outcomes = [
        airflow_local.run_dag("dvk_ingest"),
        airflow_local.run_dag("dvk_transform"),
    ]
    if outcomes[0].succeeded and outcomes[1].tasks.get("dbt_build") == "success":
        # Even when a gate failed in dvk_transform, the other years' reports are still produced.
        outcomes.append(airflow_local.run_dag("dvk_annual_report", {"year": args.year, "unit_code": args.unit}))

    print("\n=== DVK pipeline ===")
    for outcome in outcomes:
        print(f"{outcome.dag_id:<20} {outcome.state}")
        for task, state in sorted(outcome.tasks.items()):
            print(f"    {task:<40} {state}")
    _print_gate_failures(settings.reports_dir)

    _print_annual_summaries(settings.reports_dir, args.year)
    docs = sorted((settings.reports_dir / "gate").glob("*/data_docs/index.html"))
    if docs:
        print("\nBáo cáo kiểm tra chất lượng / quality gate reports:")
        for path in docs:
            print(f"  {path}")
    quarantine = settings.quarantine_dir
    if quarantine.exists() and any(quarantine.rglob("*.problems.txt")):
        print(f"\nFiles in quarantine / tệp bị cách ly: {quarantine}")
    return 0 if all(o.succeeded for o in outcomes) and len(outcomes) == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
