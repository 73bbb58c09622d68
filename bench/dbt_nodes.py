"""The nightly ``dbt build`` on the warehouse of the settings (``DVK_WAREHOUSE``; run the pipeline
once first), timed, with its nodes counted from ``run_results.json``:

    .venv/bin/python bench/dbt_nodes.py                      # 3 runs, the profile's threads
    .venv/bin/python bench/dbt_nodes.py --threads 1 2 4      # 3 runs of each, alternated
    .venv/bin/python bench/dbt_nodes.py --runs 5 --threads 1 4
    .venv/bin/python bench/dbt_nodes.py --threads 1 2 --project old=/tmp/old/dbt_project
                                # and another copy of the project (e.g. `git archive REV dbt_project`),
                                # alternated with this one on the same warehouse

Each run is one child process (``python -m dbt.cli.main build --exclude-resource-type unit_test``
with ``dvk.transform.dbt_cli_args``' arguments, as ``dvk.transform.build(unit_tests=False)`` runs
it); one warm-up run first (partial parse state written, files cached). Per setting the medians
of: the wall seconds of the process, dbt's own ``elapsed_time`` (the build after parsing), and
the summed ``execution_time`` of the test nodes and of the models. docs/benchmarks.md, "dbt's
nodes", has the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


def one_build(threads: int | None, project: Path | None = None) -> dict:
    from dvk.settings import get_settings
    from dvk.transform import DBT_COMMAND, dbt_child_environment, dbt_cli_args, dbt_working_dir

    settings = get_settings()
    args = ["build", "--exclude-resource-type", "unit_test"]
    if threads:
        args += ["--threads", str(threads)]
    target = settings.dbt_target_dir
    if project is not None:  # its own target folder: its own partial parse state and results
        target = target.parent / f"dbt_target_{project.parent.name}"
        args += ["--project-dir", str(project), "--target-path", str(target)]
    args = dbt_cli_args(args, settings)
    env = dbt_child_environment(settings, args)
    start = time.perf_counter()
    done = subprocess.run([*DBT_COMMAND, *args], env=env, cwd=dbt_working_dir(settings), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:])
        raise SystemExit(f"dbt build failed (exit {done.returncode})")
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    kinds = Counter(r["unique_id"].split(".")[0] for r in results["results"])
    seconds = Counter()
    for r in results["results"]:
        seconds[r["unique_id"].split(".")[0]] += r["execution_time"]
    return {
        "wall": wall,
        "elapsed": results["elapsed_time"],
        "tests_s": seconds["test"],
        "models_s": seconds["model"],
        "nodes": sum(v for k, v in kinds.items() if k != "exposure"),
        "kinds": dict(kinds),
        "full_parse": "Unable to do partial parsing" in done.stdout or "Starting full parse" in done.stdout,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[0],
                        help="the thread counts to compare (0: the profile's)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--project", action="append", default=[], metavar="LABEL=DIR",
                        help="another copy of dbt_project/ to time alternated with this one")
    options = parser.parse_args()
    projects: list[tuple[str, Path | None]] = [("this", None)]
    projects += [(text.split("=", 1)[0], Path(text.split("=", 1)[1]).resolve()) for text in options.project]
    configs = [(label, project, threads) for label, project in projects for threads in options.threads]
    for _label, project in projects:
        one_build(options.threads[0] or None, project)  # warm-up: parse state, file cache
    runs: dict[tuple[str, int], list[dict]] = {(label, t): [] for label, _, t in configs}
    for i in range(options.runs):
        for label, project, threads in configs:
            run = one_build(threads or None, project)
            runs[(label, threads)].append(run)
            print(f"run {i + 1} {label} threads={threads or 'profile'}: wall {run['wall']:.2f} s, "
                  f"dbt {run['elapsed']:.2f} s, tests {run['tests_s']:.2f} s, "
                  f"{run['nodes']} nodes{' (full parse)' if run['full_parse'] else ''}", flush=True)
    print("project  threads  nodes  wall s  dbt elapsed s  tests s  models s  (medians)")
    for (label, threads), rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "elapsed", "tests_s", "models_s")}
        print(f"{label:>7}  {threads or 'profile':>7}  {rs[0]['nodes']:>5}  {med['wall']:6.2f}  {med['elapsed']:13.2f}  "
              f"{med['tests_s']:7.2f}  {med['models_s']:8.2f}   {rs[0]['kinds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
