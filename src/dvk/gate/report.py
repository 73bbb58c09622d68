"""The gate report: the result of a run, for people, as static HTML pages that open offline.

    <reports_dir>/gate/<year>/data_docs/index.html            the verdict; every failure and
                                                              warning (unit, period, field, declared
                                                              vs computed, what to do); missing and
                                                              provisional units; the suites
    <reports_dir>/gate/<year>/data_docs/suites/<suite>.html   every expectation of one suite: what it
                                                              checks, GX's expectation and outcome,
                                                              the next step, the unexpected rows

``build(result, validations, specs, site_dir)`` renders the pages with the Jinja2 templates of
``src/dvk/gate/templates/`` from the run's :class:`~dvk.gate.result.GateResult` (what
``gate_result.json`` holds) and from each suite's Great Expectations validation result, as
``ExpectationSuiteValidationResult.to_json_dict()`` gives it (expectation type, kwargs, success,
observed value, unexpected rows); the descriptions of the checks come from their suite files
(``expectations/<suite>.yml``, :class:`~dvk.gate.suites.SuiteSpec`). The pages are written to a
staging folder beside ``site_dir`` and swapped into place: a reader never sees a half-written
report, and the folder always shows the latest run of that year.

Offline by construction: the stylesheet (``templates/gate-report.css``) is inlined in every page,
there is no script at all (``<details>`` folds what a clerk need not read first), and nothing
refers to another host. Every value comes from data (unit names, messages typed in suite files,
values of the warehouse): the templates autoescape all of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from dvk.filemodes import as_created
from dvk.gate.result import GateEntry, GateResult, fmt_value
from dvk.gate.suites import LEVEL_LABELS, SuiteSpec

TEMPLATES_DIR = Path(__file__).with_name("templates")
STYLESHEET = "gate-report.css"
SUITES_DIR = "suites"
#: Unexpected rows shown per expectation on a suite page (gate_result.json holds them all).
MAX_ROWS = 500
#: Failures, and warnings, listed on the index page (gate_result.json holds them all).
MAX_ENTRIES = 2000

#: The headings of the suites (a suite not named here is headed by its name).
SUITE_TITLES = {
    "submission_totals": ("Tổng hợp khai báo và danh sách mô hình", "Declared totals against the model list"),
    "annual_counts": ("Số liệu năm theo đơn vị và lĩnh vực", "The annual figures per unit and field"),
    "reconciliation": ("Đối chiếu số liệu năm với báo cáo gốc", "The annual figures against a recount"),
    "reconciliation_submissions": ("Đối chiếu từng báo cáo gốc", "Each source report reconciled"),
    "model_lines": ("Các dòng mô hình đã nạp", "The loaded model lines"),
    "unit_status": ("Đơn vị đã báo cáo", "Who reported"),
    "ytd_progression": ("Số luỹ kế trong năm", "Year-to-date counts"),
    "model_measures": ("Giá trị bất thường", "Values far outside the usual range"),
}
#: The index columns that say where a row is: first in a table of unexpected rows.
WHERE_COLUMNS = ("unit_code", "unit_name", "period_id", "field_code")
#: What GX hands back in an expectation's kwargs that says nothing to a reader.
HIDDEN_KWARGS = ("batch_id",)


# --------------------------------------------------------------------------------------------
# what the templates show


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _cell(value: Any) -> str:
    """A value of a table cell: numbers as in the messages, lists and mappings as JSON."""
    if isinstance(value, (list, dict)):
        return _json_text(value)
    return fmt_value(value)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name: all values are data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    env.filters["json"] = _json_text
    env.globals["LEVEL_LABELS"] = LEVEL_LABELS
    return env


def _generic(text: Any, year: int) -> str:
    """A check's next step as a suite page shows it: ``{year}`` filled in, the row's values it
    names (``{period_id}``, filled in each failure) read ``[period_id]``."""
    text = str(text or "").strip().replace("{year}", str(year))
    return re.sub(r"\{(\w+)\}", r"[\1]", text)


def _title(name: str) -> tuple[str, str]:
    return SUITE_TITLES.get(name, (name, name))


def _outcome_status(expectations: list[dict[str, Any]]) -> str:
    """The suite's verdict by the gate's levels (GX says "failed" for a warning too):
    ``failed`` (a blocking check or one that could not run), ``warning``, ``info``, ``passed``."""
    unmet = [e for e in expectations if not e.get("success")]
    if any(e.get("error") or e.get("level") == "blocking" for e in unmet):
        return "failed"
    if any(e.get("level") == "warning" for e in unmet):
        return "warning"
    if unmet:
        return "info"
    return "passed"


def _columns(result: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The columns of the unexpected rows: where (unit, period, field), then the columns the
    expectation checked, then the dataset's other index columns, in the order GX gives them."""
    index = list(result.get("unexpected_index_column_names") or [])
    checked: list[str] = []
    for row in rows:
        checked += [k for k in row if k not in index and k not in checked]
    where = [c for c in index if c in WHERE_COLUMNS]
    return where + checked + [c for c in index if c not in WHERE_COLUMNS]


def _expectation_view(res: dict[str, Any], spec: SuiteSpec | None,
                      outcomes: dict[str, dict[str, Any]], year: int) -> dict[str, Any]:
    cfg = res.get("expectation_config") or {}
    check = (cfg.get("meta") or {}).get("check") or cfg.get("type") or "?"
    meta = spec.checks[check]["meta"] if spec is not None and check in spec.checks else {}
    outcome = outcomes.get(check, {})
    result = res.get("result") or {}
    level = meta.get("level") or outcome.get("level") or "blocking"
    rows = [r for r in result.get("unexpected_index_list") or [] if isinstance(r, dict)]
    columns = _columns(result, rows)
    if not rows and result.get("partial_unexpected_list"):  # no index columns: the values found
        rows = [{"value": v} for v in result.get("unexpected_list") or result["partial_unexpected_list"]]
        columns = ["value"]
    total = result.get("unexpected_count")
    total = total if isinstance(total, int) else len(rows)
    error = outcome.get("error")
    success = bool(res.get("success")) and not error
    return {
        "check": check,
        "level": level,
        "label_vi": LEVEL_LABELS.get(level, (level, level))[0],
        "label_en": LEVEL_LABELS.get(level, (level, level))[1],
        "description_vi": meta.get("description_vi", ""),
        "description_en": meta.get("description_en", ""),
        "action_vi": _generic(meta.get("action_vi"), year),
        "action_en": _generic(meta.get("action_en"), year),
        "type": cfg.get("type", ""),
        "kwargs": {k: v for k, v in (cfg.get("kwargs") or {}).items() if k not in HIDDEN_KWARGS},
        "success": success,
        "error": error,
        "element_count": result.get("element_count"),
        "unexpected_count": result.get("unexpected_count"),
        "observed_value": result.get("observed_value"),
        "has_observed_value": "observed_value" in result,
        "columns": columns,
        "rows": rows[:MAX_ROWS],
        "rows_total": max(total, len(rows)),
    }


def suite_view(name: str, validation: Mapping[str, Any], spec: SuiteSpec | None,
               result: GateResult) -> dict[str, Any]:
    """What the page of one suite shows, from its validation result (``to_json_dict()``)."""
    outcome = result.suites.get(name) or {}
    outcomes = {e["check"]: e for e in outcome.get("expectations", [])}
    expectations = [_expectation_view(r, spec, outcomes, result.year)
                    for r in validation.get("results") or []]
    title_vi, title_en = _title(name)
    return {
        "name": name,
        "title_vi": title_vi,
        "title_en": title_en,
        "description": outcome.get("description", ""),
        "status": _outcome_status(expectations),
        "statistics": dict(validation.get("statistics") or outcome.get("statistics") or {}),
        "expectations": expectations,
        "href": f"{SUITES_DIR}/{name}.html",
        "counts": {
            level: sum(1 for e in expectations if e["level"] == level and not e["success"])
            for level in LEVEL_LABELS
        },
    }


def _entry_key(entry: GateEntry) -> tuple:
    # the checks that could not run (no unit) first: they are the engineer's, and block everything
    return (entry.get("unit_code") is not None, str(entry.get("unit_code") or ""),
            str(entry.get("period_id") or ""), str(entry.get("field_code") or ""))


def _entries(entries: list[GateEntry], specs: Mapping[str, SuiteSpec]) -> list[dict[str, Any]]:
    described = {check: e["meta"] for spec in specs.values() for check, e in spec.checks.items()}
    out = []
    for entry in sorted(entries, key=_entry_key)[:MAX_ENTRIES]:
        meta = described.get(entry.get("check"), {})
        out.append({**entry, "description_vi": meta.get("description_vi", ""),
                    "description_en": meta.get("description_en", ""),
                    # a warning of the ingest has no suite page (no GX suite checks it)
                    "href": (f"{SUITES_DIR}/{entry.get('suite')}.html#{entry.get('check')}"
                             if entry.get("suite") in specs else None)})
    return out


def render(result: GateResult, validations: Mapping[str, Mapping[str, Any]],
           specs: Mapping[str, SuiteSpec]) -> dict[str, str]:
    """Every page of the report: ``{relative path: HTML}``."""
    env = environment()
    css = (TEMPLATES_DIR / STYLESHEET).read_text(encoding="utf-8")
    suites = [suite_view(name, validation, specs.get(name), result)
              for name, validation in validations.items()]
    common = {"css": css, "year": result.year, "checked_at": result.checked_at}
    pages = {
        "index.html": env.get_template("gate_index.html.j2").render(
            **common, root="", result=result, suites=suites,
            failures=_entries(result.failures, specs), warnings=_entries(result.warnings, specs),
            max_entries=MAX_ENTRIES),
    }
    suite_template = env.get_template("gate_suite.html.j2")
    for suite in suites:
        pages[suite["href"]] = suite_template.render(**common, root="../", suite=suite, passed=result.passed,
                                                     max_rows=MAX_ROWS)
    return pages


# --------------------------------------------------------------------------------------------
# writing the report


def _swap(staging: Path, site_dir: Path) -> None:
    old = None
    if site_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-old-", dir=site_dir.parent))
        os.replace(site_dir, old / site_dir.name)
    os.replace(staging, site_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(result: GateResult, validations: Mapping[str, Mapping[str, Any]],
          specs: Mapping[str, SuiteSpec], site_dir: Path) -> Path:
    """Write the report of this run into ``site_dir`` (replacing the previous one at once).
    Returns ``site_dir / "index.html"``."""
    site_dir = Path(site_dir)
    pages = render(result, validations, specs)  # before touching the disk: a template error leaves all as it was
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-", dir=site_dir.parent))
    as_created(staging)  # mkdtemp makes 0700: the umask's mode, like every other output
    try:
        for relative, text in pages.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        _swap(staging, site_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return site_dir / "index.html"
