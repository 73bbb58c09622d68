"""Both warehouse engines side by side in one run (issue 14): DuckDB (the default) and PostgreSQL
(``DVK_WAREHOUSE_URL=postgresql://…``) on the same synthetic deployment, on this machine.

    .venv/bin/python bench/engines_bench.py --scale city --runs 3 --json engines-city.json
    .venv/bin/python bench/engines_bench.py --scale tiny --runs 1 --analysts 2 --idle-seconds 0.5 \
        --think-seconds 0.05   # the smoke test (tests/test_engines_bench.py)

1. Stages, each a fresh Python process (``bench/scale_bench.py``'s stage functions, which read the
   warehouse through ``dvk.warehouse`` and so follow ``DVK_WAREHOUSE_URL``): ingest, dbt build,
   gate, publish, report (its figures checked against the generator's) and the analyst guide's
   annual summary queries. The engines alternate per repetition (DuckDB first in odd runs,
   PostgreSQL first in even ones), each repetition into an empty warehouse (a fresh DuckDB folder,
   a fresh PostgreSQL database). Per stage: the median of each engine and PostgreSQL / DuckDB.
2. Concurrent analysts, per engine, on the warehouse the last repetition left: ``--analysts``
   threads (default 20), each in a loop opening a connection as an analyst does, running one of the
   annual summary queries and closing it — DuckDB: ``dvk.analyst.connect()`` on the published
   copy; PostgreSQL: a login role member of ``dvk_analyst`` with ``search_path = analytics,
   analytics_meta`` (docs/deployment.md), the guide's ``marts.`` read ``analytics.``. First
   ``--idle-seconds`` with nothing else running, then while the nightly build runs (1 % new files:
   ingest, dbt build, gate, publish, each a process as above). Latency (connect + query + fetch)
   p50 / p95, queries served and errors, per engine and phase. ``--think-seconds S`` (default 0:
   none) makes each analyst pause a random 0 to S seconds between queries, as a person or a
   dashboard does; the smoke test uses it so that its two analysts do not keep both CPUs busy.

The PostgreSQL server is a throw-away one (``dvk.pg_local``: initdb, loopback port, removed
at the end), default settings; PostgreSQL 15 from Debian here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import scale_bench  # noqa: E402
from scale_bench import REPO, SUMMARY_QUERIES, Bench, check_summaries  # noqa: E402

ENGINES = ("duckdb", "postgres")
#: stage label → scale_bench stage name
STAGES = (("ingest", "ingest"), ("dbt build", "dbt"), ("gate", "gate"), ("publish", "publish"),
          ("report", "report"), ("query: annual summary", "query"))
NIGHTLY = (("ingest", "ingest"), ("dbt build", "dbt"), ("gate", "gate"), ("publish", "publish"))
#: The login role the benchmark's analysts use on PostgreSQL (a member of dvk_analyst).
PG_ANALYST = "dvk_bench_analyst"


def pg_sql(sql: str) -> str:
    """An analyst guide query as it reads on PostgreSQL's publication."""
    return re.sub(r"\bmeta\.", "analytics_meta.", re.sub(r"\bmarts\.", "analytics.", sql))


def analyst_queries(engine: str) -> list[tuple[str, str]]:
    queries = scale_bench._guide_queries()
    return [(name, pg_sql(queries[name]) if engine == "postgres" else queries[name]) for name in SUMMARY_QUERIES]


# ----------------------------------------------------------------------------- child stage
def stage_query_pg(args: dict) -> dict:
    """The annual summary queries as the analyst role, on PostgreSQL's publication."""
    import psycopg2

    con = psycopg2.connect(args["dsn"])
    con.autocommit = True
    timings: dict[str, float] = {}
    repeats = int(args.get("repeats", 30))
    with con.cursor() as cur:
        for name, sql in analyst_queries("postgres"):
            cur.execute(sql)
            cur.fetchall()
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                cur.execute(sql)
                cur.fetchall()
                samples.append(time.perf_counter() - start)
            timings[name] = statistics.median(samples)
        cur.execute("select count(*) from analytics.fct_annual_unit_field")
        rows = int(cur.fetchone()[0])
    con.close()
    return {"rows": rows, "median_s": timings, "repeats": repeats, "seconds": sum(timings.values())}


scale_bench.STAGES["query_pg"] = stage_query_pg


# ----------------------------------------------------------------------------- parent
def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class EnginesBench(Bench):
    def __init__(self, scale: str, seed: int, work: Path, runs: int, analysts: int, idle_seconds: float,
                 query_repeats: int, verbose: bool, think_seconds: float = 0.0):
        super().__init__(scale, seed, work, runs, airflow=False, nightly=False, pandas_engines=(),
                         query_repeats=query_repeats, verbose=verbose)
        self.script = Path(__file__).resolve()
        self.analysts, self.idle_seconds, self.think_seconds = analysts, idle_seconds, think_seconds
        self.server = None
        self.urls: dict[str, str] = {}
        self.concurrent: dict[str, dict] = {}

    def run_dir(self, engine: str) -> Path:
        return self.work / f"{self.scale}-engines-{engine}"

    def engine_env(self, engine: str, run_dir: Path, inbox: Path) -> dict[str, str]:
        env = self.env(run_dir, inbox)
        env["DVK_INBOX_SETTLE_SECONDS"] = "0"
        env["DVK_LOG_DIR"] = str(run_dir / "logs" / "dvk")
        if engine == "postgres":
            env["DVK_WAREHOUSE_URL"] = self.urls[engine]
        return env

    def analyst_dsn(self, engine: str) -> str:
        return f"host=127.0.0.1 port={self.server.port} user={PG_ANALYST} dbname={self.urls[engine].rsplit('/', 1)[1]}"

    def ensure_analyst_login(self) -> None:
        """A login role in dvk_analyst (the first publication created dvk_analyst), as deployment.md says."""
        self.server.admin(
            "do $$ begin if not exists (select from pg_roles where rolname = '" + PG_ANALYST + "') then "
            f"create role {PG_ANALYST} login in role dvk_analyst; end if; end $$")
        self.server.admin(f"alter role {PG_ANALYST} set search_path = analytics, analytics_meta")

    # ------------------------------------------------------------------ one engine, one repetition
    def engine_run(self, engine: str, r: int, expected: dict) -> None:
        run_dir = self.run_dir(engine)
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        if engine == "postgres":
            self.urls[engine] = self.server.new_database(f"dvk_bench_{self.scale.replace('-', '_')}")
        env = self.engine_env(engine, run_dir, self.data / "inbox")
        logs = run_dir / "logs"
        if self.verbose:
            print(f"run {r + 1}/{self.runs}: {engine}", flush=True)
        for label, name in STAGES:
            args: dict = {}
            if name == "query":
                args["repeats"] = self.query_repeats
                if engine == "postgres":
                    self.ensure_analyst_login()
                    name, args["dsn"] = "query_pg", self.analyst_dsn(engine)
            measure = self.stage(f"{engine}: {label}", name, env, logs, **args)
            if name == "gate" and not all(measure.out["passed"].values()):
                raise RuntimeError(f"{engine}: the gate failed on generated data: {measure.out}")
            if name == "report":
                check_summaries(engine, measure.out["summaries"], expected)

    # ------------------------------------------------------------------ concurrent analysts
    def connector(self, engine: str):
        if engine == "duckdb":
            from dvk.analyst import connect

            published = self.run_dir(engine) / "published" / "dvk.duckdb"

            def run(sql: str) -> int:
                con = connect(published)
                try:
                    return len(con.execute(sql).fetchall())
                finally:
                    con.close()
        else:
            import psycopg2

            dsn = self.analyst_dsn(engine)

            def run(sql: str) -> int:
                con = psycopg2.connect(dsn)
                try:
                    con.autocommit = True
                    with con.cursor() as cur:
                        cur.execute(sql)
                        return len(cur.fetchall())
                finally:
                    con.close()
        return run

    def load(self, engine: str, until: threading.Event, phase: str) -> dict:
        """``self.analysts`` threads querying until ``until`` is set; latencies and errors."""
        run = self.connector(engine)
        queries = analyst_queries(engine)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def analyst(i: int) -> None:
            n = i
            pause = random.Random(i).uniform
            while not until.is_set():
                if self.think_seconds:
                    time.sleep(pause(0, self.think_seconds))
                _, sql = queries[n % len(queries)]
                n += 1
                start = time.perf_counter()
                try:
                    run(sql)
                    elapsed = time.perf_counter() - start
                    with lock:
                        latencies.append(elapsed)
                except Exception as exc:  # noqa: BLE001 — every failure an analyst would see is counted
                    with lock:
                        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
                    time.sleep(0.05)

        threads = [threading.Thread(target=analyst, args=(i,), daemon=True) for i in range(self.analysts)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        return {"threads": threads, "latencies": latencies, "errors": errors, "start": start, "phase": phase}

    @staticmethod
    def finish(handle: dict) -> dict:
        for t in handle["threads"]:
            t.join(timeout=120)
        wall = time.perf_counter() - handle["start"]
        lat, errs = handle["latencies"], handle["errors"]
        kinds: dict[str, int] = {}
        for e in errs:
            kinds[e] = kinds.get(e, 0) + 1
        return {"queries": len(lat), "errors": len(errs), "seconds": wall,
                "p50_ms": 1000 * percentile(lat, 0.50) if lat else None,
                "p95_ms": 1000 * percentile(lat, 0.95) if lat else None,
                "max_ms": 1000 * max(lat) if lat else None,
                "queries_per_s": len(lat) / wall if wall else None,
                "error_kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5])}

    def concurrent_run(self, engine: str) -> None:
        run_dir = self.run_dir(engine)
        night_inbox = run_dir / "inbox-nightly"  # a copy: prepare_nightly adds the night's files to it
        shutil.copytree(self.data / "inbox", night_inbox)
        night_inbox, new_files, night_data = self.prepare_nightly(run_dir, night_inbox)
        env = self.engine_env(engine, run_dir, night_inbox)
        logs = run_dir / "logs" / "nightly"
        out: dict = {"analysts": self.analysts, "new_files": len(new_files)}
        # idle: the analysts alone
        stop = threading.Event()
        handle = self.load(engine, stop, "idle")
        time.sleep(self.idle_seconds)
        stop.set()
        out["idle"] = self.finish(handle)
        # during the nightly build
        stop = threading.Event()
        handle = self.load(engine, stop, "nightly")
        nightly_start = time.perf_counter()
        try:
            stages = {}
            for label, name in NIGHTLY:
                stages[label] = self.stage(f"{engine}: nightly {label} (under load)", name, env, logs).seconds
        finally:
            stop.set()
            nightly_s = time.perf_counter() - nightly_start
            out["nightly"] = self.finish(handle)
        out["nightly_build_s"] = nightly_s
        out["nightly_stages_s"] = stages
        loaded = self.samples[f"{engine}: nightly ingest (under load)"][-1].out["files"]
        if loaded != len(new_files):
            raise RuntimeError(f"{engine}: nightly ingest loaded {loaded} files, expected {len(new_files)}")
        report = self.stage(f"{engine}: nightly report (check)", "report", env, logs)
        check_summaries(f"{engine} after the nightly build",
                        report.out["summaries"], json.loads((night_data / "expected.json").read_text(encoding="utf-8")))
        self.samples.pop(f"{engine}: nightly report (check)", None)
        self.concurrent[engine] = out
        if self.verbose:
            print(f"  {engine} concurrent: idle {out['idle']}\n  nightly {out['nightly']}", flush=True)

    # ------------------------------------------------------------------ all
    def run(self) -> dict:
        from dvk import pg_local

        expected = self.prepare()
        self.server = pg_local.start(prefix="dvk-bench-pg-")
        try:
            for r in range(self.runs):
                order = ENGINES if r % 2 == 0 else tuple(reversed(ENGINES))
                for engine in order:
                    self.engine_run(engine, r, expected)
            for engine in ENGINES:
                self.concurrent_run(engine)
            return self.summary(expected)
        finally:
            self.server.stop(remove=True)

    def summary(self, expected: dict) -> dict:
        stages = {}
        for label, _ in STAGES:
            row = {}
            for engine in ENGINES:
                ms = self.samples[f"{engine}: {label}"]
                row[engine] = {"median_s": statistics.median(m.seconds for m in ms), "runs_s": [m.seconds for m in ms],
                               "rows": ms[-1].rows, "peak_mib": max(m.peak_mib for m in ms)}
                if label.startswith("query"):
                    row[engine]["query_median_ms"] = {
                        q: 1000 * statistics.median(m.out["median_s"][q] for m in ms) for q in SUMMARY_QUERIES}
            row["pg_over_duckdb"] = row["postgres"]["median_s"] / row["duckdb"]["median_s"]
            stages[label] = row
        full = {e: sum(stages[label][e]["median_s"] for label, _ in NIGHTLY) for e in ENGINES}
        return {
            "scale": self.scale, "seed": self.seed, "runs": self.runs,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([".venv/bin/python", "bench/engines_bench.py", *sys.argv[1:]]),
            "machine": machine(), "data": scale_bench.expected_totals(expected),
            "stages": stages, "full_run_s": full, "concurrent": self.concurrent,
        }


def machine() -> dict:
    from machine_info import describe

    info = describe(("duckdb", "psycopg2-binary", "dbt-core", "dbt-duckdb", "dbt-postgres", "great-expectations"))
    try:
        import subprocess

        from dvk.pg_local import pg_bin

        info["postgres"] = subprocess.run([pg_bin("postgres"), "--version"], capture_output=True,
                                          text=True).stdout.strip()
    except Exception:  # noqa: BLE001
        pass
    return info


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def table(result: dict) -> str:
    lines = [f"Scale {result['scale']}: {result['data']}; median of {result['runs']} run(s) per engine",
             f"{'stage':<24} {'DuckDB s':>10} {'PostgreSQL s':>13} {'PG/DuckDB':>10}"]
    for label, row in result["stages"].items():
        d, p = row["duckdb"]["median_s"], row["postgres"]["median_s"]
        if label.startswith("query"):
            lines.append(f"{label:<24} {1000 * d:>8.1f}ms {1000 * p:>11.1f}ms {row['pg_over_duckdb']:>9.2f}×")
        else:
            lines.append(f"{label:<24} {d:>10.2f} {p:>13.2f} {row['pg_over_duckdb']:>9.2f}×")
    f = result["full_run_s"]
    lines.append(f"{'full run (ingest..publish)':<24} {f['duckdb']:>10.2f} {f['postgres']:>13.2f} "
                 f"{f['postgres'] / f['duckdb']:>9.2f}×")
    lines.append("")
    lines.append(f"{'analysts':<10} {'phase':<8} {'engine':<9} {'queries':>8} {'q/s':>7} {'p50 ms':>8} "
                 f"{'p95 ms':>8} {'max ms':>8} {'errors':>7}")
    for engine, c in result["concurrent"].items():
        for phase in ("idle", "nightly"):
            x = c[phase]
            lines.append(f"{c['analysts']:<10} {phase:<8} {engine:<9} {x['queries']:>8} {x['queries_per_s']:>7.1f} "
                         f"{_ms(x['p50_ms']):>8} {_ms(x['p95_ms']):>8} {_ms(x['max_ms']):>8} {x['errors']:>7}")
        lines.append(f"   {engine}: nightly build under load {c['nightly_build_s']:.2f} s "
                     f"({c['new_files']} new files; {', '.join(f'{k} {v:.2f}' for k, v in c['nightly_stages_s'].items())})"
                     + (f"; errors: {c['nightly']['error_kinds']}" if c["nightly"]["errors"] else ""))
    mach = result["machine"]
    lines.append(f"{mach['nproc']} CPUs ({mach['cpu']}), {mach['memory']}; load {mach['load_average']}; "
                 f"{mach.get('postgres', '')}; {result['date']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="city", help="tiny, city, province, province-synthetic, national")
    parser.add_argument("--runs", type=int, default=3, help="repetitions per engine (engines alternate)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench", help="data and run folder")
    parser.add_argument("--analysts", type=int, default=20, help="concurrent analysts (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="seconds of analysts alone before the nightly build (default 10)")
    parser.add_argument("--query-repeats", type=int, default=30)
    parser.add_argument("--think-seconds", type=float, default=0.0,
                        help="each analyst pauses a random 0 to S seconds between queries (default 0: none)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--stage-args", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        return scale_bench.child_main(args.stage, args.stage_args)
    bench = EnginesBench(args.scale, args.seed, args.work.resolve(), args.runs, args.analysts, args.idle_seconds,
                         args.query_repeats, args.verbose, think_seconds=args.think_seconds)
    result = bench.run()
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
