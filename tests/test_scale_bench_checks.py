"""The scale benchmark's own check of the annual figures (bench/scale_bench.py ``check_summaries``):
every year whose generated files hold an annual report, and no other year (the province's 2026
ends at 2026Q3: no annual report, no annual figures expected)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date

import pytest

from dvk.settings import PROJECT_ROOT


def _scale_bench():
    name = "dvk_bench_scale_bench"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "bench" / "scale_bench.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def _year(reported: int, total: int) -> dict:
    return {"units_reported": reported, "models_total": total, "models_new": total - 3, "models_replicated": 3}


EXPECTED = {"years": {"2025": _year(70, 500), "2026": _year(0, 200)}}
FIGURES_2025 = {"models_total": 500, "models_new": 497, "models_replicated": 3}


#: before 2026's annual reports are due (19 December 2026), and after
BEFORE_DUE, AFTER_DUE = date(2026, 12, 8), date(2026, 12, 20)


def test_years_with_annual_reports_and_years_due():
    sb = _scale_bench()
    assert sb.annual_years(EXPECTED, BEFORE_DUE) == ["2025"]
    sb.check_summaries("pipeline", {2025: FIGURES_2025}, EXPECTED, today=BEFORE_DUE)
    # once due, a year of shorter reports only is reported too (its units provisional)
    assert sb.annual_years(EXPECTED, AFTER_DUE) == ["2025", "2026"]
    with pytest.raises(RuntimeError, match="2026: missing"):
        sb.check_summaries("pipeline", {2025: FIGURES_2025}, EXPECTED, today=AFTER_DUE)


@pytest.mark.parametrize("got, message", [
    ({}, "2025: missing"),
    ({2025: {**FIGURES_2025, "models_new": 496}}, "2025 models_new: 496 != expected 497"),
    ({2025: FIGURES_2025, 2026: FIGURES_2025}, "figures for years not expected"),
])
def test_a_missing_wrong_or_extra_year_fails(got, message):
    with pytest.raises(RuntimeError, match=message):
        _scale_bench().check_summaries("pipeline", got, EXPECTED, today=BEFORE_DUE)


def test_every_year_when_asked():
    sb = _scale_bench()
    with pytest.raises(RuntimeError, match="2026: missing"):
        sb.check_summaries("pandas", {2025: FIGURES_2025}, EXPECTED, years=list(EXPECTED["years"]))
    with pytest.raises(RuntimeError, match="no annual report"):
        sb.check_summaries("pipeline", {}, {"years": {"2026": _year(0, 200)}}, today=BEFORE_DUE)
