"""The gate's Expectation Suites, kept as code in ``expectations/<dataset>.yml``.

Each file is a YAML list of expectations::

    - type: ExpectColumnPairValuesToBeEqual      # a class of great_expectations.expectations
      kwargs: {column_A: declared_total, column_B: computed_total}
      meta:
        check: declared_total_matches_lines      # stable id, used in failures
        blocking: true                           # false: reported, never blocks the report
        description_vi: ...
        description_en: ...
        message_vi: "tổng số mô hình khai báo {declared}, đếm được {computed}"
        message_en: "declared models_total {declared}, counted {computed}"

and becomes a ``gx.ExpectationSuite`` named after the file, each entry built with
``getattr(gx.expectations, type)(**kwargs, meta=meta)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dvk.gate._gx import gx
from dvk.settings import EXPECTATIONS_DIR

REQUIRED_META = ("check", "description_vi", "description_en", "message_vi", "message_en")


class SuiteDefinitionError(ValueError):
    """A suite file in ``expectations/`` is malformed."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: Path
    entries: tuple[dict[str, Any], ...]

    def build(self) -> Any:
        """A fresh ``gx.ExpectationSuite`` (needs a current Data Context: build it after
        ``get_context``; Expectation objects are bound to one suite)."""
        suite = gx().ExpectationSuite(name=self.name)
        for entry in self.entries:
            cls = getattr(gx().expectations, entry["type"])
            suite.add_expectation(cls(**entry["kwargs"], meta=dict(entry["meta"])))
        return suite

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {e["meta"]["check"]: e for e in self.entries}


def load_suite(name: str, directory: Path | None = None) -> SuiteSpec:
    """Read and check ``<directory>/<name>.yml`` (default: the project's ``expectations/``)."""
    path = Path(directory or EXPECTATIONS_DIR) / f"{name}.yml"
    if not path.is_file():
        raise SuiteDefinitionError(f"missing suite file {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        if meta["check"] in seen:
            raise SuiteDefinitionError(f"{where}: duplicate check {meta['check']!r}")
        seen.add(meta["check"])
        meta = {**meta, "blocking": bool(meta.get("blocking", True)), "suite": name}
        entries.append({"type": raw["type"], "kwargs": kwargs, "meta": meta})
        try:  # fail early on bad kwargs (no Data Context needed to build one expectation)
            getattr(gx().expectations, raw["type"])(**kwargs, meta=meta)
        except Exception as exc:
            raise SuiteDefinitionError(f"{where} ({meta['check']}): {exc}") from exc
    return SuiteSpec(name=name, path=path, entries=tuple(entries))
