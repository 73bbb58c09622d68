"""The xdist groups of tests/conftest.py take effect: under ``--dist loadgroup`` (the README's test
command), a test that uses a module-scoped fixture carries its module's group in its id, which is
what sends the module to one worker (its fixture built once, not once per worker), and a test of
the Airflow stack carries the ``airflow_stack`` group (one stack a run).

Without xdist (``DVK_TEST_WORKERS=0``) there are no groups to check: the tests skip.
"""

from __future__ import annotations

import pytest


def _grouped(request) -> None:
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("not under pytest-xdist's --dist loadgroup")


@pytest.fixture(scope="module")
def module_state() -> dict:
    return {}


def test_a_module_fixture_puts_the_test_in_its_modules_group(request, module_state):
    _grouped(request)
    assert request.node.nodeid.endswith("@test_xdist_groups"), request.node.nodeid


def test_a_test_without_module_fixture_has_no_group(request):
    _grouped(request)
    assert "@" not in request.node.nodeid, request.node.nodeid


class _Mark:
    def __init__(self, name: str, *args: str) -> None:
        self.name, self.args, self.kwargs = name, args, {}


class _Item:
    def __init__(self, name: str, *marks: _Mark) -> None:
        self.name, self.marks = name, marks

    def iter_markers(self, name: str | None = None):
        return (m for m in self.marks if name is None or m.name == name)


def test_the_costliest_tiers_are_handed_out_first():
    from tests.support.tiers import longest_first

    group = _Mark("xdist_group", "airflow_stack")
    items = [
        _Item("unit_a"),
        _Item("e2e_a", _Mark("e2e")),
        _Item("browser", _Mark("browser"), _Mark("e2e"), group),
        _Item("module_group_plain", _Mark("xdist_group", "test_m")),
        _Item("bench", _Mark("bench"), _Mark("e2e")),
        _Item("module_group_e2e", _Mark("e2e"), _Mark("xdist_group", "test_m")),
        _Item("services", _Mark("services"), _Mark("e2e"), group),
        _Item("postgres", _Mark("services"), _Mark("e2e")),
        _Item("unit_b"),
    ]
    assert [i.name for i in longest_first(items)] == [
        "browser", "services",  # the Airflow stack's group, together
        "postgres", "bench",
        "e2e_a", "module_group_plain", "module_group_e2e",  # a group at the rank of its costliest test
        "unit_a", "unit_b",
    ]


def test_the_workers_get_the_tests_in_that_order(request):
    _grouped(request)
    from tests.support.tiers import longest_first

    items = request.session.items
    assert [i.nodeid for i in longest_first(items)] == [i.nodeid for i in items]


@pytest.mark.parametrize(("markexpr", "servers"), [
    ("", True),
    ("services", True),
    ("browser or bench", True),
    ("e2e", True),
    ("not services and not browser", False),
    ("not e2e", False),
    ("bench", True),  # the two-engine benchmark's smoke run starts PostgreSQL
    ("bench and not services", False),
    ("not (", False),  # pytest refuses it, with its own message, when it selects the tests
])
def test_a_run_with_the_server_tiers_gets_a_worker_more(markexpr, servers):
    from tests.support.tiers import selects_server_tiers

    assert selects_server_tiers(markexpr) is servers
