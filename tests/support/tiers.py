"""The order in which the tiers' tests are handed to pytest-xdist's workers (tests/conftest.py).

``scripts/test`` runs ``--dist loadgroup --no-loadscope-reorder``: pytest-xdist hands out the
groups and single tests in the order of the collection, one at a time to the worker that runs
short of work. The run's wall time is then decided by what starts last: the Airflow stack's tests
(one worker runs them in a row, mostly waiting for the services) or a benchmark's smoke run (35 s
in one test) begun near the end leave the other worker idle. So the collection is ordered costliest
tier first.
"""

from __future__ import annotations

from typing import Any

#: the tiers, costliest first: the Airflow stack's group, the other servers, the browser, the
#: benchmarks' smoke runs, the e2e tests; the rest (the inner loop) fills in the ends
TIER_ORDER = ("airflow_stack", "services", "browser", "bench", "e2e")


def _rank(item: Any, groups: list[str]) -> int:
    names = {m.name for m in item.iter_markers()} | set(groups)
    return next((i for i, tier in enumerate(TIER_ORDER) if tier in names), len(TIER_ORDER))


def longest_first(items: list[Any]) -> list[Any]:
    """``items`` with the costliest tiers first (:data:`TIER_ORDER`), each xdist group kept in
    one piece at the rank of its costliest test, the collection order kept otherwise."""
    groups = [xdist_groups(item) for item in items]
    ranks = [_rank(item, names) for item, names in zip(items, groups)]
    group_rank: dict[str, int] = {}
    for names, rank in zip(groups, ranks):
        for group in names:
            group_rank[group] = min(group_rank.get(group, rank), rank)
    order = sorted(range(len(items)), key=lambda i: (min([ranks[i], *(group_rank[g] for g in groups[i])]), i))
    return [items[i] for i in order]


def xdist_groups(item: Any) -> list[str]:
    """The names of the ``xdist_group`` marks of a test."""
    return sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                   for m in item.iter_markers("xdist_group")})


#: the marks a test of a server tier carries (tests/conftest.py adds ``e2e``; the two-engine
#: benchmark's smoke run is ``bench`` too)
SERVER_TEST_MARKS = ({"services", "e2e"}, {"services", "bench", "e2e"}, {"browser", "e2e"})


def selects_server_tiers(markexpr: str | None) -> bool:
    """Whether a run with this ``-m`` expression runs tests of the server tiers (an expression
    pytest cannot read: False, and pytest says why when it selects the tests)."""
    if not markexpr:
        return True
    try:
        from _pytest.mark.expression import Expression

        expression = Expression.compile(markexpr)
    except ImportError:  # pytest moved it: read the expression as scripts/test's tiers write it
        return not all(f"not {tier}" in markexpr for tier in ("services", "browser"))
    except Exception:  # noqa: BLE001 - a malformed -m: pytest's own message comes later
        return False
    return any(expression.evaluate(_has_mark(marks)) for marks in SERVER_TEST_MARKS)


def _has_mark(marks: set[str]) -> Any:
    return lambda name, /, **_: name in marks
