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
