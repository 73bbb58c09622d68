"""The ``airflow`` command line on the project's local Airflow home (SQLite, dags folder set).

    ./scripts/airflow dags list
    ./scripts/airflow dags test dvk_annual_report --conf '{"year": 2021}'
"""

from __future__ import annotations

import sys

from dvk import airflow_local


def main() -> None:
    from dvk.filemodes import apply_umask

    apply_umask()
    airflow_local.configure()
    airflow_local.ensure_metadata_db()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *sys.argv[1:]]
    airflow_main()


if __name__ == "__main__":
    main()
