"""The datasets the gate validates, one per suite file in ``expectations/``.

Each dataset is a dbt model of ``dbt_project/models/checks/`` (schema ``checks``, a view over the
marts and, for the recounts, ``raw.submission_models``), built for every year with a ``year``
column; the gate reads ``select * from checks.chk_<name> where year = ?`` through a read-only
DuckDB connection, in ``order_by`` order, and drops the ordering helpers (``year``,
``field_sort``...) before validating. The SQL, its descriptions and its dbt tests live in dbt
(``models/checks/_checks__models.yml``); this module keeps only what the gate needs to name and
read them. ``index_columns`` are passed to Great Expectations as
``unexpected_index_column_names``: every unexpected row it reports carries them, and the gate's
failures are built from those rows only.

The first six datasets carry the blocking checks of spec §6; ``ytd_progression`` and
``model_measures`` carry warnings only (see ``expectations/README.md`` and docs/quality-gate.md).

Null handling (in the models): declared counts left blank count as 0; a (unit, field) present on
one side of a reconciliation only counts 0 on the other; codes checked against a set (field,
kind, status) read ``(trống)`` when NULL, because GX's column-map expectations skip NULLs and a
blank code must not pass unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The checks models' columns that only order the rows (never validated, never shown).
HELPER_COLUMNS = ("year", "field_sort", "figure_sort", "measure_sort", "window_end")


@dataclass(frozen=True)
class Dataset:
    name: str  # also the suite file expectations/<name>.yml and the model checks.chk_<name>
    description: str
    index_columns: tuple[str, ...]
    order_by: tuple[str, ...]

    @property
    def relation(self) -> str:
        """The dbt model the gate reads (schema ``checks``)."""
        return f"checks.chk_{self.name}"

    @property
    def sql(self) -> str:
        """The query of one year (one named parameter: ``$year``)."""
        return (f"select * from {self.relation} where year = $year "
                f"order by {', '.join(self.order_by)}")


SUBMISSION_TOTALS = Dataset(
    name="submission_totals",
    description="declared (Tổng hợp) vs computed (model lines) totals of every accepted "
    "submission of a period of the year: marts.fct_submission_totals_check",
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "declared_funds", "computed_funds"),
    order_by=("unit_code", "period_id", "submission_id", "field_sort"),
)

ANNUAL_COUNTS = Dataset(
    name="annual_counts",
    description="the annual figures per (unit, field): marts.fct_annual_unit_field",
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "lowest_measure_vi", "lowest_measure_en"),
    order_by=("unit_code", "field_sort", "field_code", "submission_id"),
)

RECONCILIATION = Dataset(
    name="reconciliation",
    description="marts.fct_annual_unit_field vs a recount from raw.submission_models of each "
    "unit's source submission: one row per (unit, field, figure)",
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id", "figure",
                   "figure_vi", "figure_en"),
    order_by=("unit_code", "field_sort", "field_code", "submission_id", "figure_sort"),
)

RECONCILIATION_SUBMISSIONS = Dataset(
    name="reconciliation_submissions",
    description="per source submission of the year: model lines in raw vs fct_model vs "
    "fct_annual_unit_field vs fct_submission.models_count",
    index_columns=("unit_code", "unit_name", "period_id", "submission_id", "mart_submission_id",
                   "accepted_submission_id", "source_period_year", "report_year"),
    order_by=("unit_code", "submission_id"),
)

MODEL_LINES = Dataset(
    name="model_lines",
    description="every raw.submission_models line of the year's source submissions",
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "line_no", "source_sheet", "source_row"),
    order_by=("unit_code", "submission_id", "line_no"),
)

UNIT_STATUS = Dataset(
    name="unit_status",
    description="the year's reporting status of every expected unit: marts.fct_annual_unit_status",
    index_columns=("unit_code", "unit_name", "period_id", "submission_id", "status"),
    order_by=("unit_code", "submission_id"),
)

# ---------------------------------------------------------------------------------------------
# Warning datasets (non-blocking checks)

YTD_PROGRESSION = Dataset(
    name="ytd_progression",
    description="year-to-date counts between a unit's consecutive accepted reports of the year "
    "(marts.fct_submission + marts.dim_period + marts.fct_model): a cumulative report should not "
    "list fewer models of a field than the unit's previous report of the same year",
    index_columns=("unit_code", "unit_name", "period_id", "prev_period_id", "field_code",
                   "submission_id", "prev_submission_id", "total", "prev_total"),
    order_by=("unit_code", "window_end", "period_id", "submission_id", "field_sort", "field_code"),
)

MODEL_MEASURES = Dataset(
    name="model_measures",
    description="one row per (model line of the year's source submissions, measure with a value): "
    "the value, the unit's usual level of that measure (upper quartile of its positive values over "
    "the models of every annual picture of the unit in the warehouse), the ratio between them, and "
    "the measure's plausible cap",
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id", "line_no",
                   "source_sheet", "source_row", "model_name", "measure", "measure_vi",
                   "measure_en", "value", "cap", "unit_usual", "unit_values",
                   "times_unit_usual_rounded"),
    order_by=("unit_code", "submission_id", "line_no", "measure"),
)


DATASETS: tuple[Dataset, ...] = (
    SUBMISSION_TOTALS,
    ANNUAL_COUNTS,
    RECONCILIATION,
    RECONCILIATION_SUBMISSIONS,
    MODEL_LINES,
    UNIT_STATUS,
    YTD_PROGRESSION,
    MODEL_MEASURES,
)

#: Not a dataset (no suite validates it): what the ingest recorded in ``raw.submission_warnings``
#: (a column with data whose header the form does not know) for the accepted submissions of the
#: year's periods: the model ``checks.chk_ingest_warnings``; the runner lists each row as a
#: warning of the gate (issue 11 §3).
INGEST_WARNINGS = Dataset(
    name="ingest_warnings",
    description="the ingest's warnings (raw.submission_warnings) of the year's accepted submissions",
    index_columns=(),
    order_by=("unit_code", "period_id", "file_name", "warning_no"),
)
