"""What the test modules share: builders of the expensive states and small helpers.

- ``shared``: build a state once per test run, across pytest-xdist workers (a file lock in the
  run's shared temp folder), and hand each test the same read-only folder.
- ``site``: the demo site (demo inbox → ingest → dbt build → gate → report → publish) and its
  settings, copies, and queries.
- ``dbt_build``: the raw fixture (tests/fixtures/raw_fixture.py) built by dbt.
- ``postgres``: a throw-away PostgreSQL server on a free loopback port.
- ``services_stack``: Airflow's four services (on PostgreSQL) as real processes.
- ``gate_fixtures``: the gate's story (a raw fixture of its own) built by the real dbt build.

The session fixtures over them are in tests/conftest.py; no test module imports another.
"""
