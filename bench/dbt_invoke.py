"""dbt's nightly build invoked two ways, each in a fresh process, on the warehouse of the settings
(``DVK_WAREHOUSE``; run the pipeline once first):

    .venv/bin/python bench/dbt_invoke.py inprocess    # dbtRunner().invoke(...) in this process
    .venv/bin/python bench/dbt_invoke.py subprocess   # a child process running dbt's CLI

Both run the same ``dbt build --exclude-resource-type unit_test`` with the same arguments
(``dvk.transform.dbt_cli_args``) and print the seconds from before the call to after it (for the
in-process call that includes importing dbt, which a task pays either way). Pair them with a
whole-process timer (A/B interleaved) to compare; ``--parse`` deletes dbt's partial parse state
first (a first run's full parse).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


def main() -> int:
    mode = sys.argv[1]
    from dvk.settings import get_settings
    from dvk.transform import PARTIAL_PARSE_VARIABLE, _dbt_environment, dbt_child_environment, dbt_cli_args

    settings = get_settings()
    if "--parse" in sys.argv:
        (settings.dbt_target_dir / "partial_parse.msgpack").unlink(missing_ok=True)
        os.environ.pop(PARTIAL_PARSE_VARIABLE, None)  # nor a parse state given from outside
    args = dbt_cli_args(["build", "--exclude-resource-type", "unit_test"], settings)
    if PARTIAL_PARSE_VARIABLE not in dbt_child_environment(settings, args):
        os.environ.pop(PARTIAL_PARSE_VARIABLE, None)  # in-process too: a child's rule (its own, or none yet)
    start = time.perf_counter()
    with _dbt_environment(settings) as working_dir:
        if mode == "inprocess":
            from dbt.cli.main import dbtRunner

            os.chdir(working_dir)  # profiles.yml names the warehouse relative to it
            ok = dbtRunner().invoke(args).success
        else:
            dbt = Path(sys.executable).with_name("dbt")
            ok = subprocess.run([str(dbt), *args], env=dbt_child_environment(settings, args), cwd=working_dir,
                                stdout=subprocess.DEVNULL).returncode == 0
    print(f"{mode}: {time.perf_counter() - start:.2f} s, success={ok}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
