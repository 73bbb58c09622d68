"""The pipeline at city, province and national scale: stage by stage, as a whole through Airflow,
and against the comparisons the scale issue asks for. Medians over several runs, one process per
stage (so each stage's peak memory is its own).

    .venv/bin/python bench/scale_bench.py --scale province --runs 3 --json province.json
    .venv/bin/python bench/scale_bench.py --scale national --runs 1
    .venv/bin/python bench/scale_bench.py --scale tiny --runs 1       # what the test command runs

What one run does, in this order, each step a fresh Python process (``--stage``):

====================  =================================================================
floor                 parse every file with python-calamine / the csv module alone
ingest                ``dvk.ingest.ingest_inbox`` into an empty warehouse
dbt build             ``dvk.transform.build()`` (seeds, snapshot, models, data tests)
direct SQL            the same compiled SQL executed straight in DuckDB (bench/direct_sql.py),
                      on a copy of the warehouse as the ingest left it
dbt start-up          a dbt invocation that selects nothing: dbt's fixed cost, with the parse
                      state the build left, and again with a full parse (an empty target folder),
                      as the full run's build has: the latter is subtracted from the build
gate                  the years the run changed (``dvk.pipeline.changed_years``; every year with
                      annual reports in a full run), gated in one process (``gate_years``)
publish               ``dvk.pipeline.publish``: the read-only copy + Parquet, the changed years
                      written (in place when a publication exists), the others kept
report                ``dvk.report.build_annual_report`` for every year
nightly: ...          1% new files added to the inbox, then ingest, dbt build, gate and
                      publish again on the same warehouse (the nightly DAGs' work)
query                 the analyst guide's annual summary queries on the published copy
pandas                bench/pandas_baseline.py: read every file, group into the summary
airflow               ``python -m dvk.run_local``: the three DAGs through ``dag.test()``
====================  =================================================================

The synthetic data comes from ``bench/synth.py`` (deterministic by seed) and is kept under the
work folder (default ``.local/bench/``), reused by later runs of the same scale and seed. The
master list of units of a scale replaces ``dbt_project/seeds/reporting_units.csv`` in a copy of
the project (``DVK_PROJECT_ROOT``), which is what a province or the country would do; the copy's
changes and split-shares seeds are replaced by the ones synth wrote (the merges of its synthetic
units; none for a real list), never the city's.

Each run also checks the figures: the annual summary in the warehouse and the pandas script's
must both equal the generator's ``expected.json``; a mismatch fails the benchmark.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

RESULT_TAG = "BENCH_RESULT "
NIGHTLY_STAGES = ("ingest", "dbt build", "gate", "publish")
# The analyst guide's queries the annual summary is made of (docs/analyst-guide.md).
SUMMARY_QUERIES = ("headline_by_year", "models_per_field_and_year")


# ----------------------------------------------------------------------------- child: one stage
def _count(warehouse: Path, sql: str) -> int:
    """One number from the warehouse ``warehouse`` names: the settings' warehouse is PostgreSQL when
    ``DVK_WAREHOUSE_URL`` is set (``dvk.warehouse.connect``), any other path a DuckDB file."""
    from dvk import warehouse as dvk_warehouse

    with dvk_warehouse.read_only(warehouse) as con:
        return int(con.execute(sql).fetchone()[0])


def _published_count(table: str) -> int:
    """Rows of ``table`` in the publication: the copied DuckDB file, or the schema ``analytics``."""
    from dvk.settings import get_settings

    settings = get_settings()
    if settings.postgres is not None:
        return _count(settings.warehouse, f"select count(*) from analytics.{table}")
    return _count(settings.published_warehouse, f"select count(*) from marts.{table}")


def _years() -> list[int]:
    from dvk.pipeline import report_years

    return report_years(None)


def stage_floor(args: dict) -> dict:
    import csv
    import io

    from python_calamine import CalamineWorkbook

    inbox = Path(args["inbox"])
    files = rows = 0
    start = time.perf_counter()
    for path in sorted(inbox.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        files += 1
        if path.suffix.lower() == ".csv":
            text = path.read_bytes().decode("utf-8-sig")
            rows += sum(1 for _ in csv.reader(io.StringIO(text)))
        else:
            book = CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                rows += len(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
            book.close()
    return {"rows": rows, "files": files, "seconds": time.perf_counter() - start}


def stage_ingest(args: dict) -> dict:
    from dvk.ingest import ingest_inbox
    from dvk.settings import get_settings

    start = time.perf_counter()
    result = ingest_inbox(get_settings()).as_dict()
    seconds = time.perf_counter() - start
    if result["files_quarantined"]:
        raise SystemExit(f"{result['files_quarantined']} generated files were quarantined: {result}")
    rows = _count(get_settings().warehouse,  # the model rows this ingest loaded
                  "select count(*) from raw.submission_models m join raw.submissions s using (submission_id) "
                  f"where s.load_id = '{result['load_id']}'")
    return {"rows": rows, "files": result["files_loaded"], "detail": result, "seconds": seconds}


def stage_dbt(args: dict) -> dict:
    from dvk.pipeline import transform
    from dvk.settings import get_settings

    transform()
    return {"rows": _count(get_settings().warehouse, "select count(*) from raw.submission_models")}


def stage_dbt_startup(args: dict) -> dict:
    """dbt's fixed cost. Warm (default): in the build's target folder, so with the parse state the
    build left (what a nightly build starts from). ``cold``: in an empty target folder, so with a
    full parse of the project (what the full run's first build starts from)."""
    from direct_sql import fixed_startup

    from dvk.settings import get_settings
    from dvk.transform import PARTIAL_PARSE_VARIABLE

    settings = get_settings()
    cold = bool(args.get("cold"))
    target = settings.dbt_target_dir.parent / "dbt_target_cold" if cold else settings.dbt_target_dir
    if cold:
        shutil.rmtree(target, ignore_errors=True)
        os.environ.pop(PARTIAL_PARSE_VARIABLE, None)  # a parse state given from outside
    try:
        fixed_startup(settings.warehouse, target)  # timed as the stage's whole work
    finally:
        if cold:
            shutil.rmtree(target, ignore_errors=True)
    return {"rows": 0}


def stage_direct(args: dict) -> dict:
    """Compile (untimed), then time the compiled SQL run straight in DuckDB."""
    from direct_sql import compile_project, load_plan, run_direct

    from dvk.settings import get_settings
    from dvk.transform import PARTIAL_PARSE_FILE, PARTIAL_PARSE_VARIABLE

    warehouse = Path(args["warehouse"])
    # the compile (untimed) starts from the parse state the build left, as the build's own next
    # invocation would: same project, vars and profile (the profile names the file, dvk.duckdb)
    state = get_settings().dbt_target_dir / PARTIAL_PARSE_FILE
    if state.is_file():
        os.environ[PARTIAL_PARSE_VARIABLE] = str(state)
    manifest = compile_project(warehouse, Path(args["target_dir"]))
    plan = load_plan(manifest)
    start = time.perf_counter()
    out = run_direct(warehouse, plan, include_tests=True)
    seconds = time.perf_counter() - start
    if out.get("test_failures"):
        raise SystemExit(f"data tests failed in the direct run: {out['test_failures']}")
    detail = {k: out[k] for k in ("total_s", "phases_s", "counts") if k in out}
    return {"rows": _count(warehouse, "select count(*) from raw.submission_models"), "seconds": seconds,
            "detail": detail}


def stage_gate(args: dict) -> dict:
    from dvk.settings import get_settings

    import great_expectations  # noqa: F401  (its import is outside the timing, like the other stages')

    import dvk.gate.runner  # noqa: F401

    from dvk.pipeline import changed_years, gate_years

    # what dvk_transform's changed_years and gate tasks do: the years the run changed (all of
    # them in a full run), every one in this process and one GX context
    start = time.perf_counter()
    plan = changed_years()
    passed = {int(y): r["passed"] for y, r in gate_years(plan).items()}
    seconds = time.perf_counter() - start
    rows = _count(get_settings().warehouse, "select count(*) from marts.fct_model")
    return {"rows": rows, "years": plan["changed"], "unchanged": plan["unchanged"], "passed": passed,
            "seconds": seconds}


def stage_publish(args: dict) -> dict:
    import dvk.publish  # noqa: F401
    from dvk.pipeline import publish

    start = time.perf_counter()
    out = publish(_years())
    seconds = time.perf_counter() - start

    return {"rows": _published_count("fct_model"), "detail": out, "seconds": seconds}


def stage_report(args: dict) -> dict:
    from dvk.gate import GateResult, gate_result_path
    from dvk.report import build_annual_report
    from dvk.settings import get_settings

    settings = get_settings()
    summaries = {}
    start = time.perf_counter()
    for year in _years():
        gate = GateResult.from_dict(json.loads(gate_result_path(year, settings).read_text(encoding="utf-8")))
        folder = build_annual_report(year, gate_result=gate)
        summaries[year] = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    seconds = time.perf_counter() - start
    rows = _count(settings.warehouse, "select count(*) from marts.fct_annual_unit_field")
    return {"rows": rows, "summaries": summaries, "seconds": seconds}


def stage_query(args: dict) -> dict:
    import duckdb

    from dvk.settings import get_settings

    queries = _guide_queries()
    repeats = int(args.get("repeats", 30))
    con = duckdb.connect(str(get_settings().published_warehouse), read_only=True)
    timings: dict[str, float] = {}
    rows = 0
    for name in SUMMARY_QUERIES:
        sql = queries[name]
        con.execute(sql).fetchall()  # warm: first touch of the pages
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = con.execute(sql).fetchall()
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples)
        rows = max(rows, len(result))
    fact_rows = con.execute("select count(*) from marts.fct_annual_unit_field").fetchone()[0]
    con.close()
    return {"rows": int(fact_rows), "median_s": timings, "repeats": repeats, "seconds": sum(timings.values())}


def _guide_queries() -> dict[str, str]:
    import re

    text = (REPO / "docs" / "analyst-guide.md").read_text(encoding="utf-8")
    found = dict(re.findall(r"<!-- query: (\w+) -->\s*```sql\n(.*?)```", text, flags=re.S))
    return found


def stage_pandas(args: dict) -> dict:
    from pandas_baseline import summarise_all

    start = time.perf_counter()
    summaries = summarise_all(Path(args["inbox"]), engine=args.get("engine", "openpyxl"))
    seconds = time.perf_counter() - start
    return {"rows": int(args.get("rows", 0)), "summaries": summaries, "seconds": seconds}


STAGES = {
    "floor": stage_floor, "ingest": stage_ingest, "dbt": stage_dbt, "dbt_startup": stage_dbt_startup,
    "direct": stage_direct, "gate": stage_gate, "publish": stage_publish, "report": stage_report,
    "query": stage_query, "pandas": stage_pandas,
}


def child_main(name: str, args_json: str) -> int:
    start = time.perf_counter()
    sys.path.insert(0, str(BENCH_DIR))
    out = STAGES[name](json.loads(args_json))
    out.setdefault("seconds", time.perf_counter() - start)
    print(RESULT_TAG + json.dumps(out, default=str), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent
@dataclass
class Measure:
    seconds: float
    rows: int
    peak_mib: float
    out: dict = field(default_factory=dict)
    process_s: float | None = None  # the stage's whole process: interpreter, imports and work


def run_child(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int, str]:
    """Run ``argv``; (wall seconds, peak RSS MiB of the process, return code, its stdout)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w+b") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return wall, usage.ru_maxrss / 1024, proc.returncode, text


class Bench:
    def __init__(self, scale: str, seed: int, work: Path, runs: int, airflow: bool, nightly: bool,
                 pandas_engines: tuple[str, ...], query_repeats: int, verbose: bool = False):
        self.scale, self.seed, self.work, self.runs = scale, seed, work, runs
        self.airflow, self.nightly, self.pandas_engines = airflow, nightly, pandas_engines
        self.query_repeats, self.verbose = query_repeats, verbose
        self.data = work / f"{scale}-seed{seed}"
        self.project = work / f"{scale}-seed{seed}-project"
        self.samples: dict[str, list[Measure]] = {}
        self.script = Path(__file__).resolve()  # what runs a stage (``--stage``); a subclass may add stages
        self.generate_seconds: float | None = None

    # ------------------------------------------------------------------ set-up
    def prepare(self) -> dict:
        import synth

        # (data of an older synth, without its unit changes, is made again)
        if not all((self.data / name).is_file() for name in ("expected.json", "unit_changes.csv")):
            shutil.rmtree(self.data, ignore_errors=True)
            start = time.perf_counter()
            synth.generate(self.scale, self.data, seed=self.seed)
            self.generate_seconds = time.perf_counter() - start
        shutil.rmtree(self.project, ignore_errors=True)
        self.project.mkdir(parents=True)
        ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".user.yml")
        for part in ("dbt_project", "expectations", "dags"):
            shutil.copytree(REPO / part, self.project / part, ignore=ignore)
        seeds = self.project / "dbt_project" / "seeds"
        shutil.copy2(self.data / "units.csv", seeds / "reporting_units.csv")
        # The deployment's own reorganisations (bench/synth.py: the merges of its synthetic units,
        # none for a real list), never the city's: those name units its master list does not hold.
        for name in ("unit_changes.csv", "unit_split_shares.csv"):
            shutil.copy2(self.data / name, seeds / name)
        return json.loads((self.data / "expected.json").read_text(encoding="utf-8"))

    def env(self, run_dir: Path, inbox: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DVK_", "AIRFLOW"))}
        env.update({
            "DVK_PROJECT_ROOT": str(self.project), "DVK_INBOX_DIR": str(inbox),
            "DVK_WAREHOUSE": str(run_dir / "warehouse" / "dvk.duckdb"),
            "DVK_REPORTS_DIR": str(run_dir / "reports"), "DVK_QUARANTINE_DIR": str(run_dir / "quarantine"),
            "DVK_PUBLISHED_DIR": str(run_dir / "published"),
            "DVK_AIRFLOW_HOME": str(self.work / f"{self.scale}-airflow"),
            "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(REPO / "src")]),
        })
        return env

    def stage(self, label: str, name: str, env: dict[str, str], log_dir: Path, **args: Any) -> Measure:
        argv = [sys.executable, str(self.script), "--stage", name, "--stage-args", json.dumps(args)]
        wall, peak, rc, text = run_child(argv, env, log_dir / f"{name}.log")
        result = next((json.loads(line[len(RESULT_TAG):]) for line in text.splitlines()
                       if line.startswith(RESULT_TAG)), None)
        if rc != 0 or result is None:
            raise RuntimeError(f"stage {label} failed (exit {rc}); log {log_dir / (name + '.log')}:\n{text[-3000:]}")
        seconds = float(result.pop("seconds"))
        measure = Measure(seconds=seconds, rows=int(result.get("rows", 0)), peak_mib=peak, out=result, process_s=wall)
        self.samples.setdefault(label, []).append(measure)
        if self.verbose:
            print(f"  {label:<26} {seconds:8.2f} s  {peak:7.0f} MiB", flush=True)
        return measure

    # ------------------------------------------------------------------ one run
    def one_run(self, r: int, expected: dict) -> None:
        run_dir = self.work / f"{self.scale}-run"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        data_inbox = self.data / "inbox"
        # The run's own inbox (a copy, untimed; its pages are in the cache for the floor and the
        # ingest alike): the nightly run adds its files to it, as a night does to the inbox of the
        # full load, so the ingest's inbox index (dvk.ingest.inbox_index) serves the night.
        inbox = run_dir / "inbox"
        shutil.copytree(data_inbox, inbox)
        env = self.env(run_dir, inbox)
        logs = run_dir / "logs"
        if self.verbose:
            print(f"run {r + 1}/{self.runs} ({self.scale})", flush=True)
        self.stage("floor", "floor", env, logs, inbox=str(inbox))
        ingest = self.stage("ingest", "ingest", env, logs)
        warehouse = run_dir / "warehouse" / "dvk.duckdb"
        raw_copy = run_dir / "direct" / "dvk.duckdb"
        raw_copy.parent.mkdir(parents=True)
        shutil.copy2(warehouse, raw_copy)
        self.stage("dbt build", "dbt", env, logs)
        self.stage("dbt start-up (no work)", "dbt_startup", env, logs)
        self.stage("dbt start-up, full parse (no work)", "dbt_startup", env, logs, cold=True)
        self.stage("direct SQL (same SQL)", "direct", env, logs, warehouse=str(raw_copy),
                   target_dir=str(raw_copy.parent / "dbt_target"))
        shutil.rmtree(raw_copy.parent, ignore_errors=True)
        gate = self.stage("gate", "gate", env, logs)
        if not all(gate.out["passed"].values()):
            raise RuntimeError(f"the gate failed on generated data: {gate.out}")
        self.stage("publish", "publish", env, logs)
        report = self.stage("report", "report", env, logs)
        check_summaries("pipeline", report.out["summaries"], expected)
        self.stage("query: annual summary", "query", env, logs, repeats=self.query_repeats)
        for engine in self.pandas_engines:
            pandas = self.stage(f"pandas script ({engine})", "pandas", env, logs, inbox=str(inbox),
                                engine=engine, rows=ingest.rows)
            # the pandas script sums every year with a file, in-year reports too: every expected year
            check_summaries(f"pandas ({engine})", pandas.out["summaries"], expected, years=list(expected["years"]))
        if self.nightly:
            self.nightly_run(run_dir, inbox, logs)
        if self.airflow:
            self.airflow_run(data_inbox, logs, ingest.rows)
        if not self.verbose:
            print(f"run {r + 1}/{self.runs} ({self.scale}) done", flush=True)

    def nightly_run(self, run_dir: Path, inbox: Path, logs: Path) -> None:
        night_inbox, new_files, night_data = self.prepare_nightly(run_dir, inbox)
        env = self.env(run_dir, night_inbox)
        measures = [self.stage(f"nightly: {s}", {"dbt build": "dbt"}.get(s, s), env, logs / "nightly")
                    for s in NIGHTLY_STAGES]
        loaded = measures[0].out["files"]
        if loaded != len(new_files):
            raise RuntimeError(f"nightly ingest loaded {loaded} files, expected the {len(new_files)} new ones")
        expected_after = json.loads((night_data / "expected.json").read_text(encoding="utf-8"))
        self.samples.setdefault("_nightly_new_files", []).append(Measure(0.0, len(new_files), 0.0))
        report = self.stage("nightly: report (check)", "report", env, logs / "nightly")
        check_summaries("pipeline after the nightly run", report.out["summaries"], expected_after)
        self.samples.pop("nightly: report (check)", None)

    def prepare_nightly(self, run_dir: Path, inbox: Path) -> tuple[Path, list, Path]:
        """1 % new files (deterministic by seed) added to the run's ``inbox``: (the inbox, the new
        files, the folder whose ``expected.json`` holds the figures after them)."""
        import synth

        night_inbox = inbox
        night_data = run_dir / "night-data"
        night_data.mkdir()
        # generate_new_files writes into <out>/inbox and updates <out>/expected.json.
        (night_data / "inbox").symlink_to(night_inbox, target_is_directory=True)
        shutil.copy2(self.data / "expected.json", night_data / "expected.json")
        shutil.copy2(self.data / "units.csv", night_data / "units.csv")
        new_files = synth.generate_new_files(self.scale, night_data, fraction=0.01, seed=self.seed + 1)
        return night_inbox, new_files, night_data

    def airflow_run(self, inbox: Path, logs: Path, rows: int) -> None:
        run_dir = self.work / f"{self.scale}-airflow-run"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        env = self.env(run_dir, inbox)
        home = Path(env["DVK_AIRFLOW_HOME"])
        if not (home / "airflow.db").is_file():  # migrate once per scale, outside the timing
            run_child([sys.executable, "-c", "from dvk import airflow_local as a; a.configure(); a.ensure_metadata_db()"],
                      env, logs / "airflow-migrate.log")
        wall, peak, rc, text = run_child([sys.executable, "-m", "dvk.run_local"], env, logs / "airflow.log")
        if rc != 0:
            raise RuntimeError(f"the pipeline through Airflow failed (exit {rc}):\n{text[-3000:]}")
        self.samples.setdefault("whole pipeline through Airflow", []).append(Measure(wall, rows, peak))
        if self.verbose:
            print(f"  {'whole pipeline (Airflow)':<26} {wall:8.2f} s  {peak:7.0f} MiB", flush=True)

    # ------------------------------------------------------------------ all runs
    def run(self) -> dict:
        expected = self.prepare()
        for r in range(self.runs):
            self.one_run(r, expected)
        return self.result(expected)

    def median(self, label: str) -> float | None:
        values = [m.seconds for m in self.samples.get(label, [])]
        return statistics.median(values) if values else None

    def result(self, expected: dict) -> dict:
        stages = {}
        for label, measures in self.samples.items():
            if label.startswith("_"):
                continue
            secs = [m.seconds for m in measures]
            med = statistics.median(secs)
            rows = measures[-1].rows
            procs = [m.process_s for m in measures if m.process_s is not None]
            stages[label] = {"median_s": med, "runs_s": secs, "rows": rows,
                             "process_median_s": statistics.median(procs) if procs else None,
                             "rows_per_s": rows / med if med and rows else None,
                             "peak_mib": max(m.peak_mib for m in measures)}
        m = self.median
        comparisons: dict[str, Any] = {}
        comparisons["ingest_over_floor"] = m("ingest") / m("floor")
        startup = m("dbt start-up (no work)")
        comparisons["dbt_startup_s"] = startup
        comparisons["dbt_over_direct"] = m("dbt build") / m("direct SQL (same SQL)")
        comparisons["dbt_minus_startup_over_direct"] = (m("dbt build") - startup) / m("direct SQL (same SQL)")
        # the full run's dbt build is a first build (an empty target folder: a full parse of the
        # project), so the start-up of the same kind is the cold one
        cold = m("dbt start-up, full parse (no work)")
        comparisons["dbt_startup_cold_s"] = cold
        comparisons["dbt_minus_cold_startup_over_direct"] = (m("dbt build") - cold) / m("direct SQL (same SQL)")
        full = sum(m(s) for s in NIGHTLY_STAGES)
        comparisons["full_run_s"] = full
        if self.nightly:
            nightly = sum(m(f"nightly: {s}") for s in NIGHTLY_STAGES)
            comparisons["nightly_run_s"] = nightly
            comparisons["nightly_over_full"] = nightly / full
            comparisons["nightly_new_files"] = self.samples["_nightly_new_files"][-1].rows
        query = [mm.out["median_s"] for mm in self.samples["query: annual summary"]]
        comparisons["query_median_ms"] = {q: 1000 * statistics.median(x[q] for x in query) for q in SUMMARY_QUERIES}
        comparisons["ingest_plus_transform_s"] = m("ingest") + m("dbt build")
        for engine in self.pandas_engines:
            comparisons[f"pipeline_over_pandas_{engine}"] = comparisons["ingest_plus_transform_s"] / m(f"pandas script ({engine})")
        totals = expected_totals(expected)
        return {
            "scale": self.scale, "seed": self.seed, "runs": self.runs,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([Path(sys.executable).name, "bench/scale_bench.py", *sys.argv[1:]]),
            "machine": machine(), "data": {**totals, "generate_s": self.generate_seconds},
            "stages": stages, "comparisons": comparisons,
        }


def expected_totals(expected: dict) -> dict:
    meta = expected.get("meta", {})
    return {k: meta[k] for k in ("units", "files", "model_rows", "years") if k in meta}


def annual_years(expected: dict, today=None) -> list[str]:
    """The years of ``expected`` the pipeline reports (``dvk.pipeline.report_years``): those whose
    generated files hold an annual report of at least one unit, and those whose annual report is
    due by ``today`` (the office's, by default), counted from shorter reports (provisional). A
    scale's last year can have in-year reports only (the province's 2026 ends at 2026Q3): until its
    annual reports are due (19 December 2026), its expected summary exists, but no annual report does."""
    from dvk.report.data import annual_report_due
    from dvk.settings import get_settings

    grace = get_settings().due_grace_days
    return [str(y) for y, exp in expected["years"].items()
            if int(exp["units_reported"]) > 0
            or (int(exp.get("files", 1)) > 0 and annual_report_due(int(y), grace, today))]


def check_summaries(who: str, got: dict, expected: dict, years: list[str] | None = None, today=None) -> None:
    """The annual figures ``who`` produced must equal the generator's, year by year: ``years``
    (default: the years the pipeline reports, :func:`annual_years` as of ``today``), and no other
    year."""
    problems = []
    wanted = annual_years(expected, today) if years is None else [str(y) for y in years]
    if not wanted:
        problems.append("the generated files hold no annual report")
    for year in wanted:
        exp = expected["years"][year]
        have = got.get(str(year)) or got.get(int(year))
        if have is None:
            problems.append(f"{year}: missing")
            continue
        for key in ("models_total", "models_new", "models_replicated"):
            if int(have[key]) != int(exp[key]):
                problems.append(f"{year} {key}: {have[key]} != expected {exp[key]}")
    extra = sorted({str(y) for y in got} - set(wanted))
    if extra:
        problems.append(f"figures for years not expected ({', '.join(wanted)}): {extra}")
    if problems:
        raise RuntimeError(f"{who}: annual figures differ from the generator's: " + "; ".join(problems))


def machine() -> dict:
    from machine_info import describe

    return describe(("duckdb", "dbt-core", "dbt-duckdb", "apache-airflow", "great-expectations", "pandas",
                     "python-calamine"))


def comparisons(result: dict) -> list[tuple[str, str]]:
    """The comparisons the scale issue asks for, as (what, measured) lines: one source for the
    console table and the Markdown."""
    c = result["comparisons"]
    rows = [
        ("ingest / parse-only floor", f"{c['ingest_over_floor']:.2f}× (target ≤ 2.5 at province scale)"),
        ("dbt build / direct SQL", f"{c['dbt_over_direct']:.2f}×"),
        (f"(dbt build − dbt start-up with the parse state kept {c['dbt_startup_s']:.2f} s) / direct SQL",
         f"{c['dbt_minus_startup_over_direct']:.2f}×"),
        (f"(dbt build − dbt start-up with a full parse {c['dbt_startup_cold_s']:.2f} s, as the build's) / direct SQL",
         f"{c['dbt_minus_cold_startup_over_direct']:.2f}× (target ≤ 3 at province scale)"),
    ]
    if "nightly_over_full" in c:
        rows.append((f"nightly ({c['nightly_new_files']:,} new files) / full run (ingest + dbt + gate + publish)",
                     f"{100 * c['nightly_over_full']:.1f} % ({c['nightly_run_s']:.2f} s / {c['full_run_s']:.2f} s; "
                     "target ≤ 25 % at province scale, ≤ 15 % national)"))
    for q, ms in c["query_median_ms"].items():
        rows.append((f"query `{q}`, median", f"{ms:.1f} ms (target < 100 ms)"))
    for key, value in c.items():
        if key.startswith("pipeline_over_pandas_"):
            rows.append((f"ingest + dbt build / pandas script ({key.rsplit('_', 1)[1]})", f"{value:.2f}× (target < 1)"))
    return rows


def _stage_cells(label: str, s: dict) -> tuple[str, str, str, str, str]:
    """(median, process, rows, rows/s, peak) of one stage, as text; queries in milliseconds."""
    query = label.startswith("query")
    return (f"{1000 * s['median_s']:.1f} ms" if query else f"{s['median_s']:.3f}",
            f"{s['process_median_s']:.2f}" if s["process_median_s"] else "",
            f"{s['rows']:,}",
            f"{s['rows_per_s']:,.0f}" if s["rows_per_s"] and not query else "",
            f"{s['peak_mib']:,.0f}")


def table(result: dict) -> str:
    lines = [f"Scale {result['scale']}: {result['data']}",
             f"{'stage':<32} {'median s':>10} {'process s':>9} {'rows':>10} {'rows/s':>11} {'peak MiB':>9}"]
    for label, s in result["stages"].items():
        med, proc, rows, rps, peak = _stage_cells(label, s)
        lines.append(f"{label:<32} {med:>10} {proc:>9} {rows:>10} {rps:>11} {peak:>9}")
    lines.append("")
    lines += [f"{what:<60} {measured}" for what, measured in comparisons(result)]
    mach = result["machine"]
    lines.append(f"median of {result['runs']} run(s); {mach['nproc']} CPUs ({mach['cpu']}), {mach['memory']}; "
                 f"load {mach['load_average'][0]:.2f}; {result['date']}")
    return "\n".join(lines)


def markdown(result: dict) -> str:
    """The stage table and the comparisons as Markdown, for docs/benchmarks.md."""
    lines = ["| stage | median s | process s | rows | rows/s | peak MiB |", "|---|---:|---:|---:|---:|---:|"]
    for label, s in result["stages"].items():
        cells = _stage_cells(label, s)
        if label.startswith("query"):
            label = "query: annual summary (both queries)"
        lines.append("| " + " | ".join((label, *cells)) + " |")
    lines += ["", "| comparison | measured |", "|---|---|"]
    lines += [f"| {what} | {measured} |" for what, measured in comparisons(result)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="city",
                        help="tiny, city, province (Hà Tĩnh's real list), province-synthetic or national (default city)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (default 3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench", help="data and run folder")
    parser.add_argument("--no-airflow", action="store_true", help="skip the whole run through Airflow")
    parser.add_argument("--no-nightly", action="store_true", help="skip the nightly (1%% new files) run")
    parser.add_argument("--pandas-engines", default=None,
                        help="comma-separated pandas read_excel engines (default openpyxl,calamine; national: calamine)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas script")
    parser.add_argument("--query-repeats", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables as Markdown here")
    parser.add_argument("--verbose", action="store_true", help="print every stage as it finishes")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--stage-args", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        return child_main(args.stage, args.stage_args)
    sys.path.insert(0, str(BENCH_DIR))
    engines = args.pandas_engines or ("calamine" if args.scale == "national" else "openpyxl,calamine")
    if args.no_pandas:
        engines = ""
    bench = Bench(args.scale, args.seed, args.work.resolve(), args.runs, airflow=not args.no_airflow,
                  nightly=not args.no_nightly, pandas_engines=tuple(e for e in engines.split(",") if e),
                  query_repeats=args.query_repeats, verbose=args.verbose)
    result = bench.run()
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
