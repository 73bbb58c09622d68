"""What one run of the gate found: :class:`GateResult`, its failures and warnings, and where it is kept.

    result = GateResult(year=2021, passed=False, failures=[make_entry(meta, suite, row, 5, 4, 2021)])
    save_result(result, gate_result_path(2021))      # <reports_dir>/gate/2021/gate_result.json
    load_result(2021)                                # the same, read back (None if the gate never ran)
    raise GateFailed(result)                         # message: every failure, Vietnamese / English

A failure or a warning is a :class:`GateEntry` (a plain dict, as saved in ``gate_result.json``):
where (unit code and name, period, field), what (declared vs computed, and the sentence of the
check's ``message_vi`` / ``message_en``) and the next step (``action_vi`` / ``action_en``).

This module depends on nothing else of ``dvk.gate``: the runner fills a result, the report
(:mod:`dvk.gate.report`) renders one, the pipeline and the annual report read one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from dvk.filemodes import write_text_atomic
from dvk.settings import Settings, get_settings

#: How many failure lines GateFailed's message shows (all of them are in gate_result.json).
MAX_MESSAGE_LINES = 200

Level = Literal["blocking", "warning", "info"]


class GateEntry(TypedDict):
    """One failure (a blocking check) or one warning: one unexpected row of a check."""

    check: str
    suite: str
    level: Level
    blocking: bool
    unit_code: str | None
    unit_name: str | None
    period_id: str | None
    field_code: str | None
    submission_id: str | None
    declared: Any
    computed: Any
    message_vi: str  # where: what. Việc cần làm: next step.
    message_en: str
    detail_vi: str  # what
    detail_en: str
    action_vi: str  # next step
    action_en: str
    row: dict[str, Any]  # every column GX reported for the row


class MissingUnit(TypedDict):
    unit_code: str
    unit_name: str | None


class ProvisionalUnit(TypedDict):
    unit_code: str
    unit_name: str | None
    period_id: str | None
    submission_id: str | None


class ExpectationOutcome(TypedDict):
    """One expectation of a suite, as ``GateResult.suites[name]["expectations"]`` holds it."""

    check: str
    type: str
    level: Level
    blocking: bool
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: Any
    error: str | None


class SuiteOutcome(TypedDict):
    dataset: str
    description: str
    success: bool  # GX's verdict: False when any expectation failed, warnings included
    statistics: dict[str, Any]
    expectations: list[ExpectationOutcome]


@dataclass
class GateResult:
    year: int
    passed: bool
    failures: list[GateEntry] = field(default_factory=list)
    warnings: list[GateEntry] = field(default_factory=list)
    missing_units: list[MissingUnit] = field(default_factory=list)
    provisional_units: list[ProvisionalUnit] = field(default_factory=list)
    suites: dict[str, SuiteOutcome] = field(default_factory=dict)
    warehouse: str | None = None
    #: when the gate ran (UTC, ISO 8601)
    checked_at: str | None = None
    #: the index.html of this run's gate report (the field keeps its first name: the report
    #: replaced Great Expectations' Data Docs in the same folder)
    data_docs: str | None = None
    #: why the gate report could not be written (the verdict stands regardless)
    data_docs_error: str | None = None
    #: what the verdict was reached on (``dvk.changes.year_inputs``): the year's data fingerprint
    #: and the reference fingerprint; the same inputs give the same verdict
    inputs: dict[str, Any] | None = None
    #: on PostgreSQL, the warehouse's version when the gate read it (``dvk.changes.warehouse_version``):
    #: publishing holds the year back when the warehouse has changed since (DuckDB: the file's time)
    warehouse_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def failure_lines(self) -> list[str]:
        """One line per failure: Vietnamese (what, where, next step), then English after " / "."""
        return [f"{f['message_vi']} / {f['message_en']}" for f in self.failures]

    def warning_lines(self) -> list[str]:
        """One line per warning, as :meth:`failure_lines`."""
        return [f"{w['message_vi']} / {w['message_en']}" for w in self.warnings]


class GateFailed(RuntimeError):
    """The gate of a year did not pass; ``str()`` names every failing unit, period and field."""

    def __init__(self, result: GateResult):
        self.result = result
        super().__init__(self._message())

    def _message(self) -> str:
        r = self.result
        lines = r.failure_lines()
        head = (
            f"Kiểm tra chất lượng số liệu năm {r.year} KHÔNG ĐẠT: {len(lines)} lỗi; chưa lập báo cáo năm. "
            f"/ Quality gate for {r.year} FAILED: {len(lines)} failure(s); the annual report is blocked."
        )
        shown = [f"- {line}" for line in lines[:MAX_MESSAGE_LINES]]
        if len(lines) > MAX_MESSAGE_LINES:
            rest = len(lines) - MAX_MESSAGE_LINES
            shown.append(f"- ... và {rest} lỗi khác (xem gate_result.json) / and {rest} more (see gate_result.json)")
        if r.data_docs:
            shown.append(f"Chi tiết / details: {r.data_docs}")
        return "\n".join([head, *shown])


# --------------------------------------------------------------------------------------------
# where a result is kept


def gate_result_path(year: int, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.reports_dir / "gate" / str(int(year)) / "gate_result.json"


def data_docs_path(year: int, settings: Settings | None = None) -> Path:
    """Where the gate report of ``year``'s latest run is: ``<reports_dir>/gate/<year>/data_docs/index.html``."""
    return gate_result_path(year, settings).parent / "data_docs" / "index.html"


def save_result(result: GateResult, path: Path) -> None:
    """Write ``result`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")


def load_result(year: int, settings: Settings | None = None) -> GateResult | None:
    """The saved result of ``year``'s latest run, or None if the gate never ran for it."""
    path = gate_result_path(year, settings)
    if not path.is_file():
        return None
    return GateResult.from_dict(json.loads(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------------------
# failures and warnings


def fmt_value(value: Any) -> str:
    """A value as a message (and the report) shows it: None as "—", 5.0 as 5, no float noise."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def _render(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format_map(_Values({k: fmt_value(v) for k, v in values.items()}))
    except (ValueError, IndexError):  # a malformed template must not hide the failure
        return template


def _where(row: dict[str, Any], year: int) -> tuple[str, str]:
    vi: list[str] = []
    en: list[str] = []
    code, name = row.get("unit_code"), row.get("unit_name")
    if code:
        suffix = f" ({name})" if name else ""
        vi.append(f"Đơn vị {code}{suffix}")
        en.append(f"Unit {code}{suffix}")
    if row.get("period_id"):
        vi.append(f"kỳ {row['period_id']}")
        en.append(f"period {row['period_id']}")
    field_code = row.get("field_code")
    if field_code == "TOTAL":
        vi.append("dòng Tổng cộng")
        en.append("the Tổng cộng row")
    elif field_code:
        vi.append(f"lĩnh vực {field_code}")
        en.append(f"field {field_code}")
    if not vi:
        vi, en = [f"Năm {year}"], [f"Year {year}"]
    return ", ".join(vi), ", ".join(en)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def make_entry(meta: dict[str, Any], suite: str, row: dict[str, Any], declared: Any, computed: Any,
               year: int, detail: tuple[str, str] | None = None,
               action: tuple[str, str] | None = None) -> GateEntry:
    """One failure / warning of the check described by ``meta`` (its suite file's meta) on one
    unexpected ``row``: where (unit code and name, period, field), what (declared vs computed, the
    check's messages filled with the row's values, or ``detail``), and the next step (the check's
    actions, or ``action``), in Vietnamese and English."""
    values = {**row, "declared": declared, "computed": computed, "year": year}
    detail_vi, detail_en = detail or (_render(meta["message_vi"], values), _render(meta["message_en"], values))
    action_vi, action_en = action or (_render(meta["action_vi"], values), _render(meta["action_en"], values))
    where_vi, where_en = _where(row, year)
    level = meta.get("level", "blocking")
    return {
        "check": meta["check"],
        "suite": suite,
        "level": level,
        "blocking": level == "blocking",
        "unit_code": row.get("unit_code"),
        "unit_name": row.get("unit_name"),
        "period_id": row.get("period_id"),
        "field_code": row.get("field_code"),
        "submission_id": row.get("submission_id"),
        "declared": declared,
        "computed": computed,
        "message_vi": f"{where_vi}: {_sentence(detail_vi)} Việc cần làm: {_sentence(action_vi)}",
        "message_en": f"{where_en}: {_sentence(detail_en)} Next: {_sentence(action_en)}",
        "detail_vi": detail_vi,
        "detail_en": detail_en,
        "action_vi": action_vi,
        "action_en": action_en,
        "row": row,
    }
