"""The gate's Expectation Suites, kept as code in ``expectations/<dataset>.yml``.

Each file is a YAML list of expectations::

    - type: ExpectColumnPairValuesToBeEqual      # a class of great_expectations.expectations
      kwargs: {column_A: declared_total, column_B: computed_total}
      meta:
        check: declared_total_matches_lines      # stable id, unique across the suites
        level: blocking                          # blocking | warning | info
        description_vi: ...                      # what the check means
        description_en: ...
        message_vi: "khai báo {declared} mô hình ..., danh sách có {computed} dòng"
        message_en: "declared {declared} models ..., the list has {computed} lines"
        action_vi: "đơn vị kiểm tra lại ... và gửi lại báo cáo"   # what to do next
        action_en: "ask the unit to correct ... and resend the file"
        declared_column: ...                     # optional, see below
        computed_column: ...

and becomes a ``gx.ExpectationSuite`` named after the file. Each entry is built with
``getattr(gx.expectations, type)(**kwargs, meta={"check": ...}, severity=...)``: the level maps
onto GX's own ``severity`` (blocking → critical, warning → warning, info → info); the check id in
``meta`` ties each result back to its entry here, where the gate (messages, next steps) and the
gate report (descriptions) read the rest.

``{declared}`` / ``{computed}`` in the messages are, for a column-pair expectation, the values of
``column_A`` / ``column_B``; for a single-column one, the value found and nothing. ``declared_column``
and ``computed_column`` name other columns of the dataset to use instead (they must be index
columns of the dataset, so that GX reports them with every unexpected row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvk.gate._gx import gx
from dvk.settings import EXPECTATIONS_DIR

REQUIRED_META = ("check", "level", "description_vi", "description_en", "message_vi", "message_en",
                 "action_vi", "action_en")
#: level -> Great Expectations' FailureSeverity value
LEVELS = {"blocking": "critical", "warning": "warning", "info": "info"}
LEVEL_LABELS = {
    "blocking": ("CHẶN BÁO CÁO", "BLOCKING"),
    "warning": ("CẢNH BÁO", "WARNING"),
    "info": ("THÔNG TIN", "INFORMATION"),
}


class SuiteDefinitionError(ValueError):
    """A suite file in ``expectations/`` is malformed."""


def _expectation(entry: dict[str, Any]) -> Any:
    meta = entry["meta"]
    cls = getattr(gx().expectations, entry["type"])
    # GX copies an expectation's fields many times while validating (its cost grows with them):
    # the expectation carries only its check id (dvk.gate reads the rest from the spec).
    return cls(**entry["kwargs"], meta={"check": meta["check"]}, severity=LEVELS[meta["level"]])


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: Path
    entries: tuple[dict[str, Any], ...]

    def build(self, checks: set[str] | None = None) -> Any:
        """A fresh ``gx.ExpectationSuite`` (Expectation objects are bound to one suite); with
        ``checks``, only the expectations of those check ids."""
        return gx().ExpectationSuite(  # (add_expectation compares each with all the others)
            name=self.name,
            expectations=[_expectation(e) for e in self.entries
                          if checks is None or e["meta"]["check"] in checks],
        )

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {e["meta"]["check"]: e for e in self.entries}


def load_suite(name: str, directory: Path | None = None) -> SuiteSpec:
    """Read and check ``<directory>/<name>.yml`` (default: the project's ``expectations/``)."""
    path = Path(directory or EXPECTATIONS_DIR) / f"{name}.yml"
    if not path.is_file():
        raise SuiteDefinitionError(f"missing suite file {path}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe loader)
    if not isinstance(data, list) or not data:
        raise SuiteDefinitionError(f"{path}: expected a non-empty YAML list of expectations")
    entries = []
    seen: set[str] = set()
    for i, raw in enumerate(data, 1):
        where = f"{path}, expectation {i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise SuiteDefinitionError(f"{where}: needs a 'type'")
        if not hasattr(gx().expectations, raw["type"]):
            raise SuiteDefinitionError(f"{where}: unknown expectation type {raw['type']!r}")
        kwargs = raw.get("kwargs") or {}
        meta = raw.get("meta") or {}
        if not isinstance(kwargs, dict) or not isinstance(meta, dict):
            raise SuiteDefinitionError(f"{where}: 'kwargs' and 'meta' must be mappings")
        missing = [k for k in REQUIRED_META if not meta.get(k)]
        if missing:
            raise SuiteDefinitionError(f"{where}: meta lacks {', '.join(missing)}")
        if meta["level"] not in LEVELS:
            raise SuiteDefinitionError(
                f"{where}: level must be one of {', '.join(LEVELS)}, not {meta['level']!r}")
        if "blocking" in meta:
            raise SuiteDefinitionError(f"{where}: use 'level', not 'blocking'")
        if meta["check"] in seen:
            raise SuiteDefinitionError(f"{where}: duplicate check {meta['check']!r}")
        seen.add(meta["check"])
        meta = {**meta, "blocking": meta["level"] == "blocking", "suite": name}
        entry = {"type": raw["type"], "kwargs": kwargs, "meta": meta}
        try:  # fail early on bad kwargs (no Data Context needed to build one expectation)
            _expectation(entry)
        except Exception as exc:
            raise SuiteDefinitionError(f"{where} ({meta['check']}): {exc}") from exc
        entries.append(entry)
    return SuiteSpec(name=name, path=path, entries=tuple(entries))
