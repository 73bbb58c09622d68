"""Run the quality gate of spec §6 for one year and explain its failures.

    result = run_gate(2021)          # validate, save <reports_dir>/gate/2021/gate_result.json
    enforce_gate(2021)               # the same, and raise GateFailed unless it passed

For each dataset of :mod:`dvk.gate.datasets` the gate reads the year's rows of its dbt model
(``checks.chk_<dataset>``, a view over the marts; read-only, the connection closed before
validating), hands the DataFrame to Great Expectations through a pandas
datasource of an ephemeral context, and validates it with the suite of
``expectations/<dataset>.yml``. A first pass asks GX for the verdicts and counts only (``BASIC``,
about twice as fast as COMPLETE); the unmet expectations are validated again with result format
COMPLETE and ``unexpected_index_column_names``, and their detailed results replace the first
ones in the suite's validation result. Failures (blocking checks), warnings and the lists of
missing and provisional units are read from the validation results only: every unexpected row GX
reports becomes one entry (:func:`dvk.gate.result.make_entry`) naming unit, period, field, the
declared and the computed value, and what to do next, in Vietnamese and in English.

After the validations, the gate report (:mod:`dvk.gate.report`) is rendered from the result and
each suite's validation result under ``<reports_dir>/gate/<year>/data_docs/`` unless
``run_gate(..., data_docs=False)``; a report that cannot be written is logged and recorded in the
result, it never changes the verdict.

The ingest's warnings of the year's accepted submissions (``raw.submission_warnings``: a column
with data whose header the form does not know; model ``checks.chk_ingest_warnings``) are listed among the gate's warnings too
(check ``ingest_warning``, suite ``ingest``), naming file, sheet and column; they never block.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from dvk.gate import report
from dvk.gate._gx import ephemeral_context
from dvk.gate.datasets import DATASETS, HELPER_COLUMNS, INGEST_WARNINGS, Dataset
from dvk.gate.result import (
    GateEntry,
    GateFailed,
    GateResult,
    data_docs_path,
    gate_result_path,
    make_entry,
    SuiteOutcome,
    save_result,
)
from dvk.gate.suites import SuiteSpec, load_suite
from dvk.settings import Settings, get_settings
from dvk.warehouse import describe as describe_warehouse
from dvk.warehouse import json_value, query_df, read_only
from dvk.warehouse import target as warehouse_target

log = logging.getLogger(__name__)

#: The informational check whose unexpected rows are the missing and provisional units.
STATUS_CHECK = "unit_reported_for_year"
#: What to do when a check could not be evaluated at all.
ERROR_ACTION = (
    "báo cán bộ kỹ thuật: sửa định nghĩa kiểm tra trong expectations/ hoặc dữ liệu nguồn rồi chạy lại",
    "ask the data engineer to fix the check's definition in expectations/ or its dataset, and rerun",
)


# --------------------------------------------------------------------------------------------
# Great Expectations


def _for_gx(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable extension columns (``Int64``, ``boolean`` with ``pd.NA``) become plain numpy
    columns, or object columns holding None: GX's pandas engine cannot compare ``pd.NA``."""
    df = df.copy()
    for col in df.columns:
        dtype = df[col].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not pd.api.types.is_string_dtype(dtype):
            if df[col].isna().any():
                df[col] = df[col].astype(object).where(df[col].notna(), None)
            else:
                df[col] = df[col].to_numpy(dtype=dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else object)
    return df


def _exception_message(exception_info: Any) -> str | None:
    """The error of an expectation that could not be evaluated, else None."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return None


def _rows_of(result: dict[str, Any]) -> list[dict[str, Any]] | None:
    rows = result.get("unexpected_index_list")
    if rows is None:
        return None
    return [{k: json_value(v) for k, v in row.items()} for row in rows if isinstance(row, dict)]


def _values_of(kwargs: dict[str, Any], meta: dict[str, Any], row: dict[str, Any]) -> tuple[Any, Any]:
    """(declared, computed) of one unexpected row: the columns named in the check's meta, else
    column_A / column_B of a pair expectation, else the value found by a single-column one."""
    if "column_A" in kwargs:
        declared_col, computed_col = kwargs["column_A"], kwargs["column_B"]
    else:
        declared_col, computed_col = kwargs.get("column"), None
    declared_col = meta.get("declared_column", declared_col)
    computed_col = meta.get("computed_column", computed_col)
    return (row.get(declared_col) if declared_col else None,
            row.get(computed_col) if computed_col else None)


def _process(spec: SuiteSpec, dataset: Dataset, validation: Any, year: int,
             out: GateResult) -> SuiteOutcome:
    """Turn one suite's validation results into failures / warnings / unit lists."""
    expectations = []
    for res in validation.results:
        cfg = res.expectation_config
        meta = dict(spec.checks[cfg.meta["check"]]["meta"])
        kwargs = cfg.kwargs
        result = res.result or {}
        error = _exception_message(res.exception_info)
        level = meta.get("level", "blocking")
        expectations.append({
            "check": meta.get("check"),
            "type": cfg.type,
            "level": level,
            "blocking": level == "blocking",
            "success": bool(res.success) and error is None,
            "element_count": json_value(result.get("element_count")),
            "unexpected_count": json_value(result.get("unexpected_count")),
            "observed_value": json_value(result.get("observed_value")),
            "error": error,
        })
        if error is not None:
            # A check that could not run is never taken as passed, whatever its level.
            out.failures.append(make_entry(
                {**meta, "level": "blocking"}, spec.name, {}, None, None, year,
                detail=(f"không thực hiện được kiểm tra {meta.get('check')} ({spec.name}): {error}",
                        f"check {meta.get('check')} ({spec.name}) could not be evaluated: {error}"),
                action=ERROR_ACTION,
            ))
            continue
        if res.success:
            continue
        rows = _rows_of(result)
        entries = []
        if rows:
            for row in rows:
                declared, computed = _values_of(kwargs, meta, row)
                entries.append(make_entry(meta, spec.name, row, declared, computed, year))
        else:  # a table-level expectation (no rows): report what GX observed
            entries.append(make_entry(meta, spec.name, {}, json_value(result.get("observed_value")), None, year))
        if meta.get("check") == STATUS_CHECK:
            for e in entries:
                unit = {
                    "unit_code": e["unit_code"],
                    "unit_name": e["unit_name"],
                    "period_id": e["row"].get("period_id"),
                    "submission_id": e["submission_id"],
                }
                status = e["row"].get("status")
                if status == "missing":
                    out.missing_units.append({k: unit[k] for k in ("unit_code", "unit_name")})
                elif status == "provisional":
                    out.provisional_units.append(unit)
                # any other status is a blocking failure of unit_status_known already
        elif level == "blocking":
            out.failures.extend(entries)
        elif level == "warning":
            out.warnings.extend(entries)
    return {
        "dataset": dataset.name,
        "description": dataset.description,
        "success": bool(validation.success),
        "statistics": {k: json_value(v) for k, v in dict(validation.statistics).items()},
        "expectations": expectations,
    }


def _detail_unmet(spec: SuiteSpec, dataset: Dataset, batch: Any, validation: Any) -> None:
    """Validate the unmet expectations again with result format COMPLETE and the dataset's index
    columns (every unexpected row, with unit, period, field...), and put those results in place
    of the first pass's. Only the unmet ones: GX's cost is per expectation."""
    unmet = {r.expectation_config.meta["check"] for r in validation.results if not r.success}
    detailed = batch.validate(
        spec.build(unmet),
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": list(dataset.index_columns),
        },
    )
    by_check = {r.expectation_config.meta["check"]: r for r in detailed.results}
    validation.results = [by_check.get(r.expectation_config.meta["check"], r)
                          for r in validation.results]


class Batches:
    """A Great Expectations context with the gate's pandas datasource: one dataframe asset and
    batch definition per dataset, added once and reused for every year validated in it (GX rewrites
    its project configuration on every asset added or removed: about 0.1 s a year)."""

    def __init__(self) -> None:
        self.context = ephemeral_context()
        source = self.context.data_sources.add_pandas(name="dvk_warehouse")
        self.definitions = {
            d.name: source.add_dataframe_asset(name=d.name).add_batch_definition_whole_dataframe(name=d.name)
            for d in DATASETS
        }

    def batch(self, dataset: Dataset, frame: pd.DataFrame) -> Any:
        return self.definitions[dataset.name].get_batch(batch_parameters={"dataframe": frame})


def _validate(year: int, frames: dict[str, pd.DataFrame], specs: dict[str, SuiteSpec],
              out: GateResult, batches: Batches) -> dict[str, Any]:
    """Validate every dataset; fill ``out``; return GX's validation result of each suite."""
    validations = {}
    for dataset in DATASETS:
        spec = specs[dataset.name]
        batch = batches.batch(dataset, frames[dataset.name])
        validation = batch.validate(spec.build(), result_format="BASIC")
        if not validation.success:
            _detail_unmet(spec, dataset, batch, validation)
        out.suites[dataset.name] = _process(spec, dataset, validation, year, out)
        validations[dataset.name] = validation
    return validations


# --------------------------------------------------------------------------------------------
# the ingest's warnings

#: The check and "suite" of a warning the ingest recorded (no GX suite: a row of raw.submission_warnings).
INGEST_WARNING = {"check": "ingest_warning", "level": "warning"}
INGEST_SUITE = "ingest"
INGEST_ACTION = (
    "hỏi đơn vị cột này là gì; nếu là một cột của mẫu, đề nghị đơn vị gửi lại báo cáo với tiêu đề "
    "đúng như mẫu (biểu mẫu) rồi chạy lại",
    "ask the unit what this column is; if it is one of the form's, have the unit resend the report "
    "with the template's header, and rerun",
)


def _read(con: Any, dataset: Dataset, year: int) -> pd.DataFrame:
    """The year's rows of the dataset's checks model, without the ordering helper columns."""
    try:
        df = query_df(con, dataset.sql, {"year": year})
    except Exception as exc:
        if "does not exist" in str(exc) and dataset.relation.split(".")[1] in str(exc):
            raise RuntimeError(
                f"the warehouse has no {dataset.relation}: run the transform (dbt build) first "
                f"/ kho dữ liệu chưa có {dataset.relation}: chạy bước biến đổi (dbt build) trước"
            ) from exc
        raise
    return df.drop(columns=[c for c in HELPER_COLUMNS if c in df.columns])


def _ingest_warnings(con: Any, year: int) -> list[dict[str, Any]]:
    """The rows of ``checks.chk_ingest_warnings`` (from ``raw.submission_warnings``) for
    ``year``'s accepted submissions."""
    return [{k: json_value(v) for k, v in row.items()}
            for row in _read(con, INGEST_WARNINGS, year).to_dict("records")]


def _ingest_entry(row: dict[str, Any], year: int) -> GateEntry:
    """One ingest warning as a gate warning: file, sheet, column, the ingest's message, next step."""
    where_vi = f"Tệp {row['file_name']}, trang {row.get('sheet') or '—'}, cột {row.get('column') or '—'}"
    where_en = f"file {row['file_name']}, sheet {row.get('sheet') or '—'}, column {row.get('column') or '—'}"
    return make_entry(INGEST_WARNING, INGEST_SUITE, row, None, None, year,
                      detail=(f"{where_vi}: {row.get('message_vi') or row.get('code')}",
                              f"{where_en}: {row.get('message_en') or row.get('code')}"),
                      action=INGEST_ACTION)


# --------------------------------------------------------------------------------------------
# public API


def run_gate(year: int, settings: Settings | None = None, *, data_docs: bool = True,
             batches: Batches | None = None) -> GateResult:
    """Validate the warehouse for ``year``; write the gate report (unless ``data_docs=False``);
    save and return the result (never raises GateFailed).

    ``batches``: the Great Expectations context and datasource to validate in (:func:`run_gates`
    passes one for every year); default a new ephemeral one.

    Raises only when the gate cannot run at all (no warehouse file, marts not built, a malformed
    suite file)."""
    year = int(year)
    settings = settings or get_settings()
    specs = {d.name: load_suite(d.name) for d in DATASETS}
    from dvk.changes import warehouse_version, year_inputs

    with read_only(warehouse_target(settings)) as con:
        version = warehouse_version(con)
        inputs = year_inputs(con, year, settings)
        frames = {d.name: _for_gx(_read(con, d, year)) for d in DATASETS}
        ingest_warnings = _ingest_warnings(con, year)
    result = GateResult(year=year, passed=False, warehouse=describe_warehouse(settings),
                        checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), inputs=inputs,
                        warehouse_version=version)
    validations = _validate(year, frames, specs, result, batches if batches is not None else Batches())
    result.warnings.extend(_ingest_entry(row, year) for row in ingest_warnings)  # never blocking
    result.missing_units.sort(key=lambda u: str(u["unit_code"]))
    result.provisional_units.sort(key=lambda u: str(u["unit_code"]))
    result.passed = not result.failures
    if data_docs:
        try:
            result.data_docs = str(report.build(
                result, {name: v.to_json_dict() for name, v in validations.items()}, specs,
                data_docs_path(year, settings).parent))
        except Exception as exc:  # the report explains the verdict; it never changes it
            log.warning("The gate report for %s could not be written: %s", year, exc, exc_info=True)
            result.data_docs_error = f"{type(exc).__name__}: {exc}"
    save_result(result, gate_result_path(year, settings))
    return result


def run_gates(years: list[int], settings: Settings | None = None) -> dict[int, GateResult | Exception]:
    """The gate of every year of ``years``, one after the other in this process and in one Great
    Expectations context (GX is imported once: about 7 s a process under the scheduler). Every
    year is validated and its result saved and logged whatever the others' verdicts: the value of
    a year is its :class:`GateResult`, or the exception that kept its gate from running at all.
    Never raises GateFailed (the caller decides: :func:`dvk.pipeline.gate_years`)."""
    settings = settings or get_settings()
    batches: Batches | None = None
    results: dict[int, GateResult | Exception] = {}
    for year in sorted({int(y) for y in years}):
        try:
            batches = batches or Batches()  # here: a context that cannot be made fails each year, never raises
            results[year] = result = run_gate(year, settings, batches=batches)
        except Exception as exc:  # noqa: BLE001 - one year that cannot run never hides the others
            log.error("Không chạy được kiểm tra năm %s / the gate of %s could not run: %s", year, year, exc,
                      exc_info=True)
            results[year] = exc
            continue
        _log_result(result)
    return results


def _log_result(result: GateResult) -> None:
    year = result.year
    for w in result.warnings:
        log.warning("Cảnh báo / warning [%s]: %s / %s", w["check"], w["message_vi"], w["message_en"])
    if result.missing_units:
        log.info("Năm %s, đơn vị chưa báo cáo / units missing: %s", year,
                 ", ".join(f"{u['unit_code']} ({u['unit_name']})" for u in result.missing_units))
    if result.provisional_units:
        log.info("Năm %s, đơn vị tạm tính / provisional units: %s", year,
                 ", ".join(f"{u['unit_code']} ({u['period_id']})" for u in result.provisional_units))
    if not result.passed:
        log.error("%s", GateFailed(result))
        return
    log.info("Kiểm tra chất lượng năm %s đạt / quality gate for %s passed (%s suites, %s warnings)",
             year, year, len(result.suites), len(result.warnings))
    if result.data_docs:
        log.info("Báo cáo kiểm tra / gate report: %s", result.data_docs)


def enforce_gate(year: int, settings: Settings | None = None) -> GateResult:
    """Run the gate for ``year``; raise :class:`GateFailed` unless it passed."""
    result = run_gate(year, settings)
    _log_result(result)
    if not result.passed:
        raise GateFailed(result)
    return result
