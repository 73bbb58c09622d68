"""One test per blocking check of the quality gate (spec §6).

Each case breaks a copy of the story warehouse of tests/support/gate_fixtures.py (``settings_with``) so that its check
fails, and asserts that the failure names the unit (code and name), the period, the field, the
declared and the computed value, and says what to do next — in Vietnamese and in English.

"Exactly that check": the set of failing checks is asserted in full. Where a check cannot fail
alone, because the checks overlap by design (declared total, new and replicated are each compared
with the lines, and new + replicated = total; the marts are compared with raw both per field and
per unit), ``also`` lists the companions and the comment says why no data can separate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dvk.gate import run_gate
from dvk.gate.datasets import DATASETS
from dvk.gate.result import fmt_value
from dvk.gate.suites import load_suite
from tests.support.gate_fixtures import BH_DECLARES_5_KT, UNIT_NAMES, settings_with, sid

BH, TP_OLD, TP, NH_Q3, TG, PN = (sid(n) for n in
                                 ("bh_2021", "tp_2021_v1", "tp_2021_v2", "nh_2021q3", "tg_2021", "pn_2021"))


def _sets(values: dict[str, object]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def totals(submission: str, row: str, /, **values: object) -> str:
    return (f"update marts.fct_submission_totals_check set {_sets(values)} "
            f"where submission_id = '{submission}' and field_code = '{row}'")


def annual(unit: str, row: str, /, **values: object) -> str:
    return (f"update marts.fct_annual_unit_field set {_sets(values)} "
            f"where year = 2021 and unit_code = '{unit}' and field_code = '{row}'")


def line(submission: str, line_no: int, **values: object) -> list[str]:
    """The same change to a model line in raw and in fct_model (they agree, as after a rebuild)."""
    return [
        f"update raw.submission_models set {_sets(values)} "
        f"where submission_id = '{submission}' and line_no = {line_no}",
        f"update marts.fct_model set {_sets(values)} where model_line_id = '{submission}-{line_no}'",
    ]


def status(unit: str, **values: object) -> str:
    return f"update marts.fct_annual_unit_status set {_sets(values)} where year = 2021 and unit_code = '{unit}'"


@dataclass(frozen=True)
class Case:
    check: str
    mutations: tuple[str, ...]
    unit: str | None
    period: str | None
    field_code: str | None
    declared: object
    computed: object
    also: frozenset[str] = field(default_factory=frozenset)
    year: int = 2021


def case(check, mutations, unit, period, field_code, declared, computed, also=(), year=2021):
    return Case(check, tuple(mutations), unit, period, field_code, declared, computed,
                frozenset(also), year)


# A unit's Tổng hợp rows, edited by its clerk: each edit keeps the declared sheet consistent with
# itself where it can (the "Tổng cộng" row and the sums of the field rows follow).
BH_KT_NEW_4_REPL_0 = [
    totals(BH, "KT", declared_new=4, declared_replicated=0),
    totals(BH, "TOTAL", declared_new=5, declared_replicated=0, fields_sum_new=5, fields_sum_replicated=0),
]
TP_VHXH_NEW_0_REPL_2 = [
    totals(TP, "VHXH", declared_new=0, declared_replicated=2),
    totals(TP, "TOTAL", declared_new=2, declared_replicated=4, fields_sum_new=2, fields_sum_replicated=4),
]
# A model of the Women's Union written with a kind that is neither new nor replicated; the marts
# are consistent with it (1 new, 0 replicated, 2 models in XDD).
PN_KIND_OTHER = [*line(PN, 1, model_kind="'other'"), annual("CQ01", "XDD", models_new=1)]
# A model of the Women's Union with a field code that is not one of the four, in raw and marts.
PN_FIELD_XX = [*line(PN, 3, field_code="'XX'"), annual("CQ01", "KT", field_code="'XX'")]

CASES = [
    # --- submission_totals: the declared Tổng hợp sheet vs the model lines ----------------------
    # total, new, replicated are each compared with the lines and new + replicated = total on
    # both sides: a wrong total always comes with a wrong new or replicated (or a broken sum).
    case("declared_total_matches_lines", BH_DECLARES_5_KT, "18076", "2021", "KT", 5, 4,
         also={"declared_new_matches_lines"}),
    case("declared_new_matches_lines", BH_KT_NEW_4_REPL_0, "18076", "2021", "KT", 4, 3,
         also={"declared_replicated_matches_lines"}),
    case("declared_replicated_matches_lines", TP_VHXH_NEW_0_REPL_2, "18070", "2021", "VHXH", 2, 1,
         also={"declared_new_matches_lines"}),
    case("total_row_equals_sum_of_fields",
         [totals(TP, "TOTAL", declared_total=7, declared_replicated=4)], "18070", "2021", "TOTAL", 7, 6,
         also={"total_row_replicated_equals_sum_of_fields"}),
    case("total_row_new_equals_sum_of_fields",
         [totals(BH, "TOTAL", declared_total=4, declared_new=3)], "18076", "2021", "TOTAL", 3, 4,
         also={"total_row_equals_sum_of_fields"}),
    case("total_row_replicated_equals_sum_of_fields",
         [totals(BH, "TOTAL", declared_new=3, declared_replicated=2)], "18076", "2021", "TOTAL", 2, 1,
         also={"total_row_new_equals_sum_of_fields"}),
    # new + replicated <> total on a declared row: the total matches the lines, so new or
    # replicated does not.
    case("declared_new_plus_replicated_equals_total",
         [totals(BH, "KT", declared_replicated=0),
          totals(BH, "TOTAL", declared_replicated=0, fields_sum_replicated=0)],
         "18076", "2021", "KT", 3, 4, also={"declared_replicated_matches_lines"}),
    # a line neither new nor replicated: the declared replicated count no longer matches either.
    case("counted_new_plus_replicated_equals_total",
         [totals(BH, "KT", computed_replicated=0), totals(BH, "TOTAL", computed_replicated=0)],
         "18076", "2021", "KT", 3, 4, also={"declared_replicated_matches_lines"}),
    # the declared funds of a field row differ from its lines' (35.0): the declared totals, funds
    # included, agree with the model lines (spec §3, §6)
    case("declared_funds_match_lines", [totals(BH, "KT", declared_funds=40.0)], "18076", "2021", "KT", 40.0, 35.0),
    # --- annual_counts: fct_annual_unit_field -----------------------------------------------------
    # new + replicated <> total in the annual figures happens when a model's kind is unknown,
    # which model_kind_known reports from the lines (the marts agree with raw here).
    case("annual_new_plus_replicated_equals_total", PN_KIND_OTHER, "CQ01", "2021", "XDD", 1, 2,
         also={"model_kind_known"}),
    # the field comes from the lines: an unknown field in the marts is one in raw too.
    case("annual_field_code_known", PN_FIELD_XX, "CQ01", "2021", "XX", "XX", None,
         also={"model_field_code_known"}),
    case("annual_row_has_models",
         [f"insert into marts.fct_annual_unit_field select 2021, 'CQ01', 'VHXH', 0, 0, 0, 0, 0, 0, 0, "
          f"false, '{PN}', '2021', unit_key, 'own_report', unit_key, 'CQ01' "
          "from marts.dim_reporting_unit where unit_code = 'CQ01'"],
         "CQ01", "2021", "VHXH", 0, None),
    # a (unit, field) counted twice doubles the unit's total, which the per-unit reconciliation sees.
    case("annual_unit_field_unique",
         ["insert into marts.fct_annual_unit_field select * from marts.fct_annual_unit_field "
          "where year = 2021 and unit_code = 'CQ01' and field_code = 'XDD'"],
         "CQ01", "2021", "XDD", None, None, also={"reconcile_annual_models"}),
    # one negative measure (households) in the lines and, consistently, in the marts
    case("annual_measures_not_negative",
         [*line(PN, 1, households="households - 1000"), annual("CQ01", "XDD", households="households - 1000")],
         "CQ01", "2021", "XDD", -930.0, None),
    # --- reconciliation: the marts vs a recount of the source submission, figure by figure --------
    case("reconcile_figures", [annual("18076", "KT", households="households + 100")],
         "18076", "2021", "KT", 170, 70),
    # --- reconciliation_submissions: per source submission --------------------------------------
    case("reconcile_fct_model_lines", [f"delete from marts.fct_model where model_line_id = '{PN}-3'"],
         "CQ01", "2021", None, 2, 3),
    # the per-unit total is the sum of the per-field rows: a model too many shows in both
    case("reconcile_annual_models", [annual("CQ01", "XDD", models_total=3, models_new=3)],
         "CQ01", "2021", None, 4, 3, also={"reconcile_figures"}),
    case("reconcile_source_submission",
         [f"update marts.fct_annual_unit_field set source_submission_id = '{TP_OLD}' "
          "where year = 2021 and unit_code = '18070'"],
         "18070", "2021", None, TP_OLD, TP),
    case("reconcile_submission_models_count",
         [f"update marts.fct_submission set models_count = models_count + 1 where submission_id = '{BH}'"],
         "18076", "2021", None, 6, 5),
    case("source_submission_is_accepted",
         [f"update marts.fct_submission set is_accepted = (submission_id = '{TP_OLD}') "
          "where unit_code = '18070' and period_id = '2021'"],
         "18070", "2021", None, TP, TP_OLD),
    case("source_submission_in_year",
         [f"update marts.fct_submission set period_year = 2020 where submission_id = '{NH_Q3}'"],
         "18073", "2021Q3", None, 2020, 2021),
    # --- model_lines: raw.submission_models of the source submissions ---------------------------
    case("model_line_loaded_once",
         [f"update raw.submission_models set line_no = 1 where submission_id = '{BH}' and line_no = 2"],
         "18076", "2021", "KT", 1, None),
    case("model_field_code_known", PN_FIELD_XX, "CQ01", "2021", "XX", "XX", None,
         also={"annual_field_code_known"}),
    case("model_kind_known", PN_KIND_OTHER, "CQ01", "2021", "XDD", "other", None,
         also={"annual_new_plus_replicated_equals_total"}),
    case("model_has_name", line(PN, 2, model_name="null"), "CQ01", "2021", "XDD", None, None),
    # --- unit_status: fct_annual_unit_status -----------------------------------------------------
    case("year_has_units", [], None, None, None, 0, None, year=2019),
    case("unit_status_known", [status("18076", status="'reportd'")], "18076", "2021", None, "reportd", None),
    case("unit_listed_once",
         ["insert into marts.fct_annual_unit_status select * from marts.fct_annual_unit_status "
          "where year = 2021 and unit_code = '18077'"],
         "18077", "2021", None, "18077", None),
    case("reporting_unit_has_source", [status("18077", status="'reported'")],
         "18077", "2021", None, "reported", None),
    case("missing_unit_has_no_source", [status("18079", status="'missing'")],
         "18079", "2021", None, "missing", sid("tg_2021")),
]


@pytest.fixture(scope="module")
def gate_on(tmp_path_factory):
    """Run the gate (without Data Docs) on a broken copy of the fixture; identical cases share a run."""
    cache = {}

    def run(year: int, mutations: tuple[str, ...]):
        key = (year, mutations)
        if key not in cache:
            settings = settings_with(tmp_path_factory.mktemp("check"), *mutations)
            cache[key] = run_gate(year, settings, data_docs=False)
        return cache[key]

    return run


def _where(c: Case) -> tuple[str, str]:
    if c.unit is None:
        return f"Năm {c.year}", f"Year {c.year}"
    vi = [f"Đơn vị {c.unit} ({UNIT_NAMES[c.unit]})", f"kỳ {c.period}"]
    en = [f"Unit {c.unit} ({UNIT_NAMES[c.unit]})", f"period {c.period}"]
    if c.field_code == "TOTAL":
        vi.append("dòng Tổng cộng")
        en.append("the Tổng cộng row")
    elif c.field_code:
        vi.append(f"lĩnh vực {c.field_code}")
        en.append(f"field {c.field_code}")
    return ", ".join(vi), ", ".join(en)


def _same(found: object, expected: object) -> bool:
    if isinstance(expected, float):
        return found is not None and found == pytest.approx(expected)
    return found == expected


@pytest.mark.e2e  # the story warehouse is a dbt build
@pytest.mark.parametrize("c", CASES, ids=lambda c: c.check)
def test_blocking_check(c: Case, gate_on):
    result = gate_on(c.year, c.mutations)
    assert not result.passed
    assert {f["check"] for f in result.failures} == {c.check, *c.also}, result.failure_lines()
    assert all(f["blocking"] and f["level"] == "blocking" for f in result.failures)

    hits = [f for f in result.failures
            if f["check"] == c.check and f["unit_code"] == c.unit and f["field_code"] == c.field_code]
    assert hits, [(f["check"], f["unit_code"], f["field_code"]) for f in result.failures]
    failure = hits[0]
    assert failure["unit_name"] == (UNIT_NAMES[c.unit] if c.unit else None)
    assert failure["period_id"] == c.period
    assert _same(failure["declared"], c.declared), failure
    assert _same(failure["computed"], c.computed), failure

    where_vi, where_en = _where(c)
    assert failure["message_vi"].startswith(f"{where_vi}: "), failure["message_vi"]
    assert failure["message_en"].startswith(f"{where_en}: "), failure["message_en"]
    assert ". Việc cần làm: " in failure["message_vi"] and failure["action_vi"]
    assert ". Next: " in failure["message_en"] and failure["action_en"]
    for value in (c.declared, c.computed):
        if value is not None:
            assert fmt_value(value) in failure["detail_vi"] and fmt_value(value) in failure["detail_en"], failure
    assert "{" not in failure["message_vi"] + failure["message_en"]  # every placeholder filled


def test_every_blocking_check_has_its_test():
    blocking = {e["meta"]["check"] for d in DATASETS for e in load_suite(d.name).entries
                if e["meta"]["level"] == "blocking"}
    tested = [c.check for c in CASES]
    assert len(tested) == len(set(tested))
    assert set(tested) == blocking
