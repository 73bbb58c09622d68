"""Great Expectations' SQL datasource on PostgreSQL against the gate's pandas path (issue 14).

    .venv/bin/python bench/gx_sql_bench.py --scale city --repeats 5
    .venv/bin/python bench/gx_sql_bench.py --scale demo --repeats 5

The gate (``dvk.gate.runner``) reads each dataset (``checks.chk_<name>`` of the year) into a
DataFrame and validates it through a pandas datasource. On PostgreSQL, GX can instead run the
expectations as SQL in the server (``context.data_sources.add_postgres(...)``, one query asset per
dataset: the same columns, rows and order as the pandas path reads). This script builds a
warehouse on a throw-away PostgreSQL server (``dvk.pg_local``; the demo inbox or a
``bench/synth.py`` scale: ingest + dbt build), then, for every gated year, validates every suite
both ways in the same GX context, ``--repeats`` times (the order alternating), and

- compares what the gate keeps of each suite (verdict, and per expectation: success,
  element_count, unexpected_count, observed_value, error) and every failure and warning entry;
- times each path (pandas: read the frames + validate; SQL: validate), process CPU time too.

``--tamper`` compares again after changing a few figures of ``marts.fct_annual_unit_field`` (so
that blocking checks fail and the detailed second pass runs). Prints a table; ``--json`` saves it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO / "src"))


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def columns(con, relation: str) -> list[str]:
    schema, table = relation.split(".")
    rows = con.execute("select column_name from information_schema.columns where table_schema = ? and "
                       "table_name = ? order by ordinal_position", [schema, table]).fetchall()
    return [r[0] for r in rows]


def validate_pandas(year: int, specs, context):
    from dvk.gate import runner
    from dvk.gate.datasets import DATASETS
    from dvk.gate.result import GateResult
    from dvk.settings import get_settings
    from dvk.warehouse import read_only, target

    out = GateResult(year=year, passed=False, warehouse="", checked_at="")
    with read_only(target(get_settings())) as con:
        frames = {d.name: runner._for_gx(runner._read(con, d, year)) for d in DATASETS}
    runner._validate(year, frames, specs, out, context)
    return out


def validate_sql(year: int, specs, context, url: str, queries: dict[str, str]):
    """The pandas path's :func:`dvk.gate.runner._validate`, through GX's PostgreSQL datasource."""
    from dvk.gate import runner
    from dvk.gate.datasets import DATASETS
    from dvk.gate.result import GateResult

    out = GateResult(year=year, passed=False, warehouse="", checked_at="")
    source = context.data_sources.add_postgres(name="dvk_sql", connection_string=_sqlalchemy_url(url))
    try:
        for dataset in DATASETS:
            spec = specs[dataset.name]
            asset = source.add_query_asset(name=dataset.name, query=queries[dataset.name].format(year=int(year)))
            batch = asset.add_batch_definition_whole_table(name=f"{dataset.name}_{year}").get_batch()
            validation = batch.validate(spec.build(), result_format="BASIC")
            if not validation.success:
                runner._detail_unmet(spec, dataset, batch, validation)
            out.suites[dataset.name] = runner._process(spec, dataset, validation, year, out)
    finally:
        context.data_sources.delete("dvk_sql")
    return out


def sql_queries() -> dict[str, str]:
    """Each dataset's query as the pandas path reads it (its helper columns left out)."""
    from dvk.gate.datasets import DATASETS, HELPER_COLUMNS
    from dvk.settings import get_settings
    from dvk.warehouse import read_only, target

    out = {}
    with read_only(target(get_settings())) as con:
        for d in DATASETS:
            cols = [c for c in columns(con, d.relation) if c not in HELPER_COLUMNS]
            out[d.name] = (f"select {', '.join(cols)} from {d.relation} where year = {{year}} "
                           f"order by {', '.join(d.order_by)}")
    return out


def _norm(value: Any) -> Any:
    """Numbers compared as numbers (GX's SQL engine returns Decimal where pandas gives float)."""
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6)
    return value


def kept(result) -> dict[str, Any]:
    """What the gate keeps of a validation: the suites' verdicts and expectations, the entries."""
    suites = {name: {"success": s["success"],
                     "expectations": [{k: e[k] for k in ("check", "success", "element_count", "unexpected_count",
                                                          "observed_value", "error")} for e in s["expectations"]]}
              for name, s in result.suites.items()}
    entries = {kind: sorted(json.dumps(_norm(e), sort_keys=True, default=str, ensure_ascii=False)
                            for e in getattr(result, kind))
               for kind in ("failures", "warnings", "missing_units", "provisional_units")}
    return _norm({"suites": suites, **entries, "passed": not result.failures})


def differences(a: dict, b: dict, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, list) and isinstance(b, list):  # entry lists (sorted): what only one side has
        only_a = [x for x in a if x not in b]
        only_b = [x for x in b if x not in a]
        return [f"{path}: {len(a)} with pandas, {len(b)} with sql; only pandas {only_a[:3]} (+{max(0, len(only_a) - 3)}); "
                f"only sql {only_b[:3]} (+{max(0, len(only_b) - 3)})"]
    return [] if a == b else [f"{path}: pandas {str(a)[:160]!r} / sql {str(b)[:160]!r}"]


def measure(years: list[int], repeats: int, url: str, label: str) -> dict:
    from dvk.gate._gx import ephemeral_context
    from dvk.gate.datasets import DATASETS
    from dvk.gate.suites import load_suite

    specs = {d.name: load_suite(d.name) for d in DATASETS}
    queries = sql_queries()
    context = ephemeral_context()
    # warm-up: GX's first validation of a datasource type imports and caches its engine
    validate_pandas(years[0], specs, context)
    validate_sql(years[0], specs, context, url, queries)
    out: dict[str, Any] = {"years": {}}
    for year in years:
        times: dict[str, list[float]] = {"pandas": [], "sql": []}
        cpu: dict[str, list[float]] = {"pandas": [], "sql": []}
        results: dict[str, Any] = {}
        for r in range(repeats):
            for path in (("pandas", "sql") if r % 2 == 0 else ("sql", "pandas")):
                c0, t0 = time.process_time(), time.perf_counter()
                res = (validate_pandas(year, specs, context) if path == "pandas"
                       else validate_sql(year, specs, context, url, queries))
                times[path].append(time.perf_counter() - t0)
                cpu[path].append(time.process_time() - c0)
                results[path] = kept(res)
        diff = differences(results["pandas"], results["sql"])
        out["years"][year] = {
            "same": not diff, "differences": diff[:20], "n_differences": len(diff),
            "passed": {p: results[p]["passed"] for p in results},
            "failures": {p: len(results[p]["failures"]) for p in results},
            "warnings": {p: len(results[p]["warnings"]) for p in results},
            "median_s": {p: statistics.median(v) for p, v in times.items()},
            "runs_s": times,
            "median_cpu_s": {p: statistics.median(v) for p, v in cpu.items()},
        }
        y = out["years"][year]
        print(f"{label} {year}: same={y['same']} ({y['n_differences']} differences) passed={y['passed']} "
              f"failures={y['failures']} warnings={y['warnings']} median pandas {y['median_s']['pandas']:.2f} s "
              f"(cpu {y['median_cpu_s']['pandas']:.2f}) sql {y['median_s']['sql']:.2f} s "
              f"(cpu {y['median_cpu_s']['sql']:.2f})", flush=True)
        for d in diff[:8]:
            print("    ", d, flush=True)
    return out


TAMPER = [  # a few annual figures changed: reconciliation and annual-count checks fail
    "update marts.fct_annual_unit_field set models_new = models_new + 1, models_total = models_total + 2 "
    "where (unit_code, field_code) in (select unit_code, field_code from marts.fct_annual_unit_field "
    "order by year, unit_code, field_code limit 3)",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="demo", help="demo (the demo inbox) or a bench/synth.py scale")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tamper", action="store_true", help="also compare after changing a few figures")
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from dvk import pg_local

    folder = Path(tempfile.mkdtemp(prefix="dvk-gx-sql-"))
    for k in [k for k in os.environ if k.startswith("DVK_")]:
        del os.environ[k]
    if args.scale == "demo":
        from dvk.settings import DEMO_INBOX_DIR

        inbox = DEMO_INBOX_DIR
    else:
        from scale_bench import Bench

        bench = Bench(args.scale, 2026, args.work.resolve(), 1, airflow=False, nightly=False, pandas_engines=(),
                      query_repeats=1, verbose=False)
        bench.project = args.work.resolve() / f"{args.scale}-gx-sql-project"
        bench.prepare()
        inbox = bench.data / "inbox"
        os.environ["DVK_PROJECT_ROOT"] = str(bench.project)
    server = pg_local.start(prefix="dvk-gx-sql-pg-")
    try:
        url = server.new_database("dvk_gx_sql")
        os.environ.update({
            "DVK_WAREHOUSE_URL": url, "DVK_INBOX_DIR": str(inbox), "DVK_INBOX_SETTLE_SECONDS": "0",
            "DVK_WAREHOUSE": str(folder / "wh" / "dvk.duckdb"), "DVK_REPORTS_DIR": str(folder / "reports"),
            "DVK_QUARANTINE_DIR": str(folder / "quarantine"), "DVK_PUBLISHED_DIR": str(folder / "published"),
            "DVK_LOG_DIR": str(folder / "logs"),
        })
        from dvk import pipeline

        t0 = time.perf_counter()
        pipeline.ingest()
        pipeline.transform()
        years = pipeline.report_years(None)
        print(f"warehouse built in {time.perf_counter() - t0:.1f} s; years {years}", flush=True)
        result: dict[str, Any] = {"scale": args.scale, "repeats": args.repeats, "url": url.rsplit("@", 1)[-1]}
        result["clean"] = measure(years, args.repeats, url, "clean")
        if args.tamper:
            from dvk import warehouse

            con = warehouse.connect(url, read_only=False)
            try:
                for sql in TAMPER:
                    con.execute(sql)
            finally:
                con.close()
            result["tampered"] = measure(years, args.repeats, url, "tampered")
    finally:
        server.stop(remove=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
