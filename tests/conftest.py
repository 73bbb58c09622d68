"""Test-session set-up, the shared expensive states, and the test tiers.

Airflow must be configured before anything imports it. The expensive states are built once per
test run, across pytest-xdist workers (tests/support/shared.py), and are read-only: a test that
changes one works on its own copy.

    demo_site           the README's run command on the demo inbox (ingested, built by dbt,
                        gated, reported and published), then again with nothing new
                        (tests/support/site.py)
    broken_demo_run     the README's run command on the demo inbox with a report that fails
                        the 2021 gate and a file that is not a workbook (tests/support/runs.py)
    raw_fixture_build   the raw fixture (tests/fixtures/raw_fixture.py) built once by dbt
                        (tests/support/dbt_build.py)
    dbt_parse_state     dbt's parse state, made once by a background ``dbt parse``; a dbt
                        invocation on a new target folder, started once it exists, begins from it
                        (tests/support/dbt_parse_state.py)
    postgres_server     a PostgreSQL server on a free port, for the session
    airflow_stack, loaded_stack   PostgreSQL + Airflow's four services (tests/support/services_stack.py)

Tiers (markers, registered in pyproject.toml, ``--strict-markers``): ``e2e`` runs dbt or the
whole pipeline (or needs a state that does), ``services`` starts servers, ``browser`` drives
Chromium, ``bench`` runs a benchmark. ``services``, ``browser`` and ``bench`` tests are ``e2e``
too, so ``-m "not e2e"`` is the inner loop. Tests that use the Airflow stack go to one xdist
worker (group ``airflow_stack``, ``--dist loadgroup``): one stack per run (tests/test_xdist_groups.py
checks that the groups take effect). The tests of a module
that uses a module-scoped fixture go to one worker too (group: the module), so that the fixture
is built once, not once per worker. The workers get the costliest tiers first (the Airflow stack's
group, the other servers, the browser, the benchmarks, the e2e tests, then the rest:
tests/support/tiers.py), so that no long test starts near the end of the run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# One throw-away Airflow home (SQLite) for the whole session, never the developer's .local/.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="dvk-test-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["DVK_AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
# Run logs (dvk.runlog) likewise: a run a test starts without a folder of its own logs here.
os.environ["DVK_LOG_DIR"] = str(_AIRFLOW_HOME / "run-logs")
# Tests write their inbox files and ingest them at once: no settle time (DVK_INBOX_SETTLE_SECONDS),
# unless a test sets one (tests/test_ingest_hostile.py does, for the uploads in progress).
os.environ.setdefault("DVK_INBOX_SETTLE_SECONDS", "0")
# The embedded default (DuckDB) unless a test sets an engine itself: a developer's shell pointing at
# a PostgreSQL warehouse must not turn the suite's DuckDB tests into PostgreSQL ones.
for _name in ("DVK_WAREHOUSE_URL", "AIRFLOW_CONN_DVK_WAREHOUSE"):
    os.environ.pop(_name, None)

# configure() keeps a metadata database and log folder already set in the environment (a
# deployment's own); the suite's are its own, always: a developer's shell must not point the tests
# at a real metadata database, and pytest-xdist's workers inherit the controller's environment, which
# this file has pointed at the controller's home (every worker then used one SQLite file).
for _name in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__LOGGING__BASE_LOG_FOLDER"):
    os.environ.pop(_name, None)

from dvk import airflow_local  # noqa: E402

airflow_local.configure(_AIRFLOW_HOME)

# Airflow's services and PostgreSQL as real processes, started once a session.
from tests.support.postgres import start_postgres  # noqa: E402
from tests.support.services_stack import airflow_stack, loaded_stack  # noqa: E402,F401
from tests.support.shared import build_once, run_temp_root  # noqa: E402
from tests.support.tiers import longest_first, selects_server_tiers, xdist_groups  # noqa: E402


@pytest.fixture
def empty_inbox(tmp_path, monkeypatch) -> Path:
    """An empty inbox, its warehouse and quarantine under ``tmp_path`` (DVK_* set for the test)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("DVK_INBOX_DIR", str(inbox))
    monkeypatch.setenv("DVK_WAREHOUSE", str(tmp_path / "wh" / "dvk.duckdb"))
    monkeypatch.setenv("DVK_QUARANTINE_DIR", str(tmp_path / "quarantine"))
    return inbox


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> Path:
    """The folder of the demo site (inbox, warehouse, reports, quarantine, published copy), built
    once per run. Read it (DuckDB ``read_only=True``); to change anything, ``copy_site`` it."""
    from tests.support.site import build_site

    return build_once(tmp_path_factory, "demo-site", build_site)


@pytest.fixture(scope="session")
def raw_fixture_build(tmp_path_factory) -> Path:
    """A folder holding ``warehouse/dvk.duckdb``: the raw fixture after one ``dbt build`` (its dbt
    target beside it, ``ids.json`` the fixture's submission ids), built once per run. Read-only;
    copy it to change it (``tests.support.dbt_build.copy_build``)."""
    from tests.support.dbt_build import build_raw_fixture

    return build_once(tmp_path_factory, "raw-fixture-build", build_raw_fixture)


@pytest.fixture(scope="session")
def broken_demo_run(tmp_path_factory) -> Path:
    """The folder of one README run (the three DAGs) on the demo inbox with a 2021 report whose
    declared totals break the gate and a file that is not a workbook (tests/support/runs.py),
    run once per test run. Read it; ``tests.support.runs.read_run`` gives its output."""
    from tests.support.runs import build_broken_demo_run

    return build_once(tmp_path_factory, "broken-demo-run", build_broken_demo_run)


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_state(request, tmp_path_factory) -> Iterator[Path | None]:
    """dbt's parse state for the run (tests/support/dbt_parse_state.py), when the session runs
    e2e tests: the first worker starts ``dbt parse`` in the background, and every worker names the
    state file in ``DBT_PARTIAL_PARSE_FILE_PATH`` at once, for itself and the processes it starts
    (the README's run command included). ``dvk.transform`` passes it to a dbt invocation on a target
    folder without a state of its own once the file is there (before that, dbt parses in full), so
    an invocation that starts while the parse still runs gets the state when it is ready. dbt
    checks that the state fits, as with its own."""
    if not any(item.get_closest_marker("e2e") for item in request.session.items):
        yield None
        return
    from tests.support import dbt_parse_state as state

    root = run_temp_root(tmp_path_factory)
    folder = root / "dbt-parse-state"
    child = None
    try:
        folder.mkdir()
    except FileExistsError:  # another worker made it, or is making it
        pass
    else:
        child = state.start(folder, root / "dbt-parse-state.log")
    given = os.environ.get(state.VARIABLE)
    if given is None:  # a developer's own state wins
        os.environ[state.VARIABLE] = str(state.state_file(folder))
    yield state.state_file(folder)
    if given is None:
        os.environ.pop(state.VARIABLE, None)
    if child is not None:
        state.stop(child)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session (``.url``, ``.port``), stopped at the end."""
    pg = start_postgres()
    try:
        yield pg
    finally:
        pg.stop(remove=True)


#: fixtures whose state comes from dbt or the whole pipeline: the tests using them are e2e
E2E_FIXTURES = {"demo_site", "raw_fixture_build", "broken_demo_run", "airflow_stack", "loaded_stack"}
#: the tier of whole modules that are not marked in the file itself
MODULE_MARKS = {
    "test_dbt_demo.py": "e2e",  # ingest + dbt build of the demo inbox
    "test_province_e2e.py": "e2e",  # a synthetic province through the pipeline
    "test_report_pdf.py": "e2e",  # LibreOffice converts the annual workbook
    "test_gate_checks.py": "e2e",  # Great Expectations' whole gate, once per mutated warehouse (30 cases)
    "test_scale_bench.py": "bench",
    "test_ingest_bench.py": "bench",
}
#: single tests, by module and name, likewise
TEST_MARKS = {
    ("test_ingest_hostile.py", "test_the_largest_accepted_values_pass_dbt_the_gate_and_the_report"): "e2e",
    ("test_run_lock.py", "test_two_metadata_setups_at_once_on_a_fresh_home"): "e2e",  # two `airflow db migrate`
}


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown under -p no:xdist
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (scripts/test): pytest-xdist's own count (one worker per core), and one more when
    the run selects the server tiers (tests/support/tiers.py). Their tests mostly wait for the
    services they started, so a worker running them leaves a CPU half idle; a run without them is
    bound by its CPU work, where a worker more only adds contention (2 CPUs, 2026-12-08: every tier
    5:55 with 2 workers and 5:31 with 3; without the servers 3:13 with 2 and 3:28 with 3). A run of
    named modules or tests (``./scripts/test tests/test_x.py``) gets xdist's count."""
    from xdist.plugin import pytest_xdist_auto_num_workers as xdist_count

    count = xdist_count(config)  # PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides there
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return count
    return count + 1 if selects_server_tiers(config.getoption("markexpr", default="")) else count


def pytest_sessionfinish(session, exitstatus):
    """This worker's dbt fork server (dvk.dbt_forkserver) stops with it, before pytest-xdist ends
    the worker (the server would follow a moment later, when the socket's end closes)."""
    from dvk import dbt_forkserver

    dbt_forkserver.stop()


def _uses_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in ("module", "class") for defs in info.name2fixturedefs.values() for d in defs)


def pytest_itemcollected(item):
    """The xdist groups, set as each test is collected (pytest-xdist reads them when the
    collection is modified, to send a group to one worker with ``--dist loadgroup``)."""
    if {"airflow_stack", "loaded_stack"} & set(item.fixturenames):
        # the stack is one per run: its users (test_services.py, test_browser.py) on one worker;
        # other servers (PostgreSQL, Redis) are started per test or per worker and need no group
        item.add_marker(pytest.mark.xdist_group("airflow_stack"))
    elif _uses_module_fixture(item):
        # a module-scoped fixture is built once per worker that runs the module's tests: keep
        # the module on one worker (pytest-xdist's loadscope, for these modules only)
        item.add_marker(pytest.mark.xdist_group(item.path.stem))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        mark = MODULE_MARKS.get(item.path.name) or TEST_MARKS.get((item.path.name, item.originalname))
        if mark:
            item.add_marker(getattr(pytest.mark, mark))
        names = {m.name for m in item.iter_markers()}
        if "e2e" not in names and (
            names & {"services", "browser", "bench"}
            or E2E_FIXTURES & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.e2e)
    if _apply_xdist_groups(config, items):
        items[:] = longest_first(items)


def _apply_xdist_groups(config, items) -> bool:
    """pytest-xdist 3.8 under pytest 9 does not suffix the test ids of ``xdist_group`` tests in
    its workers (``--dist loadgroup`` then splits a group): do what its worker hook does. True if
    the run distributes by group."""
    if config.getoption("dist", default="no") != "loadgroup" and not config.getoption("loadgroup", default=False):
        return False
    for item in items:
        if "@" in item.nodeid.rsplit("::", 1)[-1]:
            continue
        groups = xdist_groups(item)
        if groups:
            _set_nodeid(item, f"{item.nodeid}@{'_'.join(groups)}")
    return True


def _set_nodeid(item, nodeid: str) -> None:
    """pytest 9.2 keeps a node's id as a structured ``NodeId`` in ``_id`` (``nodeid`` is its
    text); earlier versions kept the text in ``_nodeid``, where xdist's hook still writes it."""
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest < 9.2
        item._nodeid = nodeid
        return
    item._id = NodeId.parse(nodeid)
