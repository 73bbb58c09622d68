"""Versions of a published annual report, and what changed between two of them.

``annual/<year>/`` holds the current version; ``annual/<year>/versions/v<N>/`` holds a copy of
every version as it was published (see docs/annual-report.md). A new version is written only
when the report's *content* differs from the latest published version; its ``changes.json`` and
``changes.md`` say what changed since then.

The content is what a reader of the report sees: the figures of ``summary.json`` (without the
version keys and without ``generated_from``, the submission ids it was built from) and the list of
models (without their line numbers, in a canonical order). A unit re-sending the same figures in
a new file, or reordering its lines, therefore makes no new version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Keys summary.json gains for versioning (after the spec's keys); not part of the content.
VERSION_KEYS = ("version", "data_as_of", "content_sha256")
#: Keys of summary.json that describe where the figures came from, not the figures.
PROVENANCE_KEYS = ("generated_from",)
#: Keys of summary.json that re-read the year on a later map (today's geography): a later
#: reorganisation or a revised split share must not make a new version of a past report (rule 6).
DERIVED_KEYS = ("today_geography",)
VERSIONS_DIR = "versions"
_VERSION_RE = re.compile(r"^v(\d+)$")

#: The headline figures compared between versions: key -> (Vietnamese, English).
HEADLINE = {
    "units_registered": ("Số đơn vị đăng ký xây dựng mô hình", "units with models"),
    "models_total": ("Tổng số mô hình", "models"),
    "models_new": ("Mô hình xây mới", "new models"),
    "models_replicated": ("Mô hình nhân rộng", "replicated models"),
    "fields_registered": ("Số lĩnh vực có mô hình", "fields with models"),
    "households": ("Số hộ tham gia", "households"),
    "funds_million_vnd": ("Kinh phí huy động (triệu đồng)", "funds (million VND)"),
    "labour_days": ("Ngày công", "labour days"),
    "land_m2": ("Đất hiến (m2)", "land donated (m2)"),
    "units_reported": ("Đơn vị đã gửi báo cáo năm", "units with an annual report"),
    "units_provisional": ("Đơn vị tạm tính", "provisional units"),
    "units_missing": ("Đơn vị chưa báo cáo", "missing units"),
}

#: What identifies a model between versions; the other attributes are its details.
MODEL_KEY = ("unit_code", "field_code", "model_kind", "model_name")
MODEL_DETAILS = ("registered_on", "recognition_level", "households", "funds_million_vnd",
                 "labour_days", "land_m2", "note")
KIND_VI = {"new": "Xây mới", "replicated": "Nhân rộng"}
DETAIL_LABELS = {
    "registered_on": "ngày đăng ký / registered on",
    "recognition_level": "cấp công nhận / recognised by",
    "households": "số hộ / households",
    "funds_million_vnd": "kinh phí (triệu đồng) / funds (million VND)",
    "labour_days": "ngày công / labour days",
    "land_m2": "đất hiến (m2) / land (m2)",
    "note": "ghi chú / note",
}


#: Canonical JSON: keys sorted, no spaces, text as is (one encoder, built once: ``json.dumps`` with
#: options builds a new one per call, a second for a national model list).
_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode

#: What a model line of ``models.json`` holds that is not content (its place in the file sent).
_LINE_NO = ',"line_no":'


def model_line(model: dict[str, Any]) -> str:
    """One model as canonical JSON, ``line_no`` included: a line of ``models.json``."""
    return _canonical(model)


def _without_line_no(line: str) -> str:
    """A canonical model line without its ``"line_no"`` member: the model's content.

    A model is a flat record (:func:`dvk.report.tables.model_records`); its ``line_no`` is an
    integer or null (no comma in it); and ``,"`` never occurs inside a JSON string (a quote in a
    text is written ``\\"``): the first ``,"line_no":`` is the member itself."""
    start = line.find(_LINE_NO)
    if start < 0:
        if line.startswith('{"line_no":'):  # the first member (no key sorts before it)
            end = line.find(",")
            return "{" + line[end + 1:] if end >= 0 else "{}"
        return line
    end = line.find(",", start + len(_LINE_NO))
    return line[:start] + (line[end:] if end >= 0 else "}")


def report_content(summary: dict[str, Any], models: list[dict[str, Any]],
                   lines: list[str] | None = None) -> dict[str, Any]:
    """The content: the summary's figures and the sorted model lines without ``line_no``.
    ``lines``: the models' :func:`model_line` texts when already made (``models.json``)."""
    figures = {k: v for k, v in summary.items()
               if k not in VERSION_KEYS and k not in PROVENANCE_KEYS and k not in DERIVED_KEYS}
    if lines is None:
        lines = [model_line(m) for m in models]
    return {"summary": figures, "models": sorted(_without_line_no(line) for line in lines)}


def content_sha256(summary: dict[str, Any], models: list[dict[str, Any]],
                   lines: list[str] | None = None) -> str:
    """The fingerprint of what a reader sees; equal fingerprints, same report. ``lines``: as in
    :func:`report_content` (the same fingerprint, without encoding every model twice)."""
    content = report_content(summary, models, lines)
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


@dataclass
class Published:
    """One published version, read back from ``versions/v<N>/``."""

    number: int
    folder: Path
    summary: dict[str, Any] | None
    models: list[dict[str, Any]] | None

    @property
    def content_sha256(self) -> str | None:
        if self.summary is None or self.models is None:
            return None
        return self.summary.get("content_sha256") or content_sha256(self.summary, self.models)


def version_numbers(report_dir: Path) -> list[int]:
    root = report_dir / VERSIONS_DIR
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = _VERSION_RE.match(p.name)
        if m and p.is_dir():
            out.append(int(m.group(1)))
    return sorted(out)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def latest_published(report_dir: Path) -> Published | None:
    numbers = version_numbers(report_dir)
    if not numbers:
        return None
    folder = report_dir / VERSIONS_DIR / f"v{numbers[-1]}"
    return Published(numbers[-1], folder, _read_json(folder / "summary.json"),
                     _read_json(folder / "models.json"))


# ---- the changes between two versions ------------------------------------------------------


def _unit_figures(summary: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in (summary or {}).get("units", [])}


def _brief(u: dict[str, Any] | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {k: u.get(k) for k in ("total", "new", "replicated", "provisional")}


def _model_key(m: dict[str, Any]) -> tuple:
    return tuple(m.get(k) for k in MODEL_KEY)


def _model_ref(m: dict[str, Any]) -> dict[str, Any]:
    return {"unit_code": m.get("unit_code"), "unit_name": m.get("unit_name"),
            **{k: m.get(k) for k in MODEL_KEY[1:]}}


def _diff_models(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, list]:
    groups_old: dict[tuple, list] = defaultdict(list)
    groups_new: dict[tuple, list] = defaultdict(list)
    for m in old:
        groups_old[_model_key(m)].append(m)
    for m in new:
        groups_new[_model_key(m)].append(m)
    added, removed, changed = [], [], []
    for key in sorted(set(groups_old) | set(groups_new), key=_canonical):
        a = sorted(groups_old.get(key, []), key=lambda m: _canonical([m.get(k) for k in MODEL_DETAILS]))
        b = sorted(groups_new.get(key, []), key=lambda m: _canonical([m.get(k) for k in MODEL_DETAILS]))
        for x, y in zip(a, b):
            diffs = {k: {"old": x.get(k), "new": y.get(k)} for k in MODEL_DETAILS if x.get(k) != y.get(k)}
            if diffs:
                changed.append({"model": _model_ref(y), "changes": diffs})
        removed += [_model_ref(m) for m in a[len(b):]]
        added += [_model_ref(m) for m in b[len(a):]]
    return {"models_added": added, "models_removed": removed, "models_changed": changed}


def compute_changes(year: int, number: int, previous: Published | None, summary: dict[str, Any],
                    models: list[dict[str, Any]]) -> dict[str, Any]:
    """``changes.json`` of version ``number`` against ``previous`` (None: the first publication)."""
    out: dict[str, Any] = {
        "year": int(year),
        "version": number,
        "previous_version": previous.number if previous else None,
        "first_publication": previous is None,
        "data_as_of": summary.get("data_as_of"),
        "previous_data_as_of": (previous.summary or {}).get("data_as_of") if previous else None,
        "content_sha256": summary.get("content_sha256"),
        "previous_content_sha256": previous.content_sha256 if previous else None,
    }
    if previous is None:
        return out
    old = previous.summary or {}
    out["headline"] = [
        {"key": k, "label_vi": vi, "label_en": en, "old": old.get(k), "new": summary.get(k)}
        for k, (vi, en) in HEADLINE.items() if old.get(k) != summary.get(k)
    ]
    out["headline_vi"] = (
        {"old": old.get("headline_vi"), "new": summary.get("headline_vi")}
        if old.get("headline_vi") != summary.get("headline_vi") else None
    )
    old_fields, new_fields = old.get("fields") or {}, summary.get("fields") or {}
    out["fields"] = [
        {"code": c, "old": old_fields.get(c), "new": new_fields.get(c)}
        for c in list(new_fields) + [c for c in old_fields if c not in new_fields]
        if old_fields.get(c) != new_fields.get(c)
    ]
    old_units, new_units = _unit_figures(old), _unit_figures(summary)
    out["units"] = [
        {"code": code, "name": (new_units.get(code) or old_units.get(code) or {}).get("name"),
         "old": _brief(old_units.get(code)), "new": _brief(new_units.get(code))}
        for code in sorted(set(old_units) | set(new_units))
        if _brief(old_units.get(code)) != _brief(new_units.get(code))
    ]
    old_missing, new_missing = set(old.get("missing_units") or []), set(summary.get("missing_units") or [])
    out["missing_units"] = {"added": sorted(new_missing - old_missing), "removed": sorted(old_missing - new_missing)}
    old_prov = {p["code"]: p for p in old.get("provisional_units") or []}
    new_prov = {p["code"]: p for p in summary.get("provisional_units") or []}
    out["provisional_units"] = {
        "added": sorted(set(new_prov) - set(old_prov)),
        "removed": sorted(set(old_prov) - set(new_prov)),
    }
    if previous.models is None:
        out.update(models_added=None, models_removed=None, models_changed=None)
    else:
        out.update(_diff_models(previous.models, models))
    return out


# ---- changes.md ----------------------------------------------------------------------------


def _md(text: Any) -> str:
    """A value in a Markdown table cell or list: no line breaks, no table or HTML syntax."""
    if text is None:
        return "—"
    if isinstance(text, bool):
        return "có / yes" if text else "không / no"
    if isinstance(text, float):
        return f"{text:,.1f}"
    if isinstance(text, int):
        return f"{text:,}"
    s = str(text).replace("\r", " ").replace("\n", " ")
    for ch in ("\\", "|", "<", ">", "*", "_", "`", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s


def _arrow(old: Any, new: Any) -> str:
    return f"{_md(old)} → {_md(new)}" if old != new else _md(new)


def _model_line(m: dict[str, Any]) -> str:
    kind = KIND_VI.get(m.get("model_kind"), m.get("model_kind"))
    return (f"- {_md(m.get('unit_name'))} ({_md(m.get('unit_code'))}), {_md(m.get('field_code'))}, "
            f"{_md(kind)}: «{_md(m.get('model_name'))}»")


def changes_markdown(changes: dict[str, Any]) -> str:
    y, n, prev = changes["year"], changes["version"], changes.get("previous_version")
    out = [f"# Báo cáo \"Dân vận khéo\" năm {y}, phiên bản {n} / annual report {y}, version {n}", ""]
    if changes.get("first_publication"):
        out += [f"Công bố lần đầu / first publication. Số liệu tính đến / data as of: "
                f"{_md(changes.get('data_as_of'))}.", ""]
        return "\n".join(out)
    out += [
        f"Thay đổi so với phiên bản {prev} / changes since version {prev}.",
        f"Số liệu tính đến / data as of: {_md(changes.get('previous_data_as_of'))} → "
        f"{_md(changes.get('data_as_of'))}.",
        "",
        "## Số liệu chính / Headline figures",
        "",
    ]
    if changes.get("headline"):
        out += ["| Chỉ tiêu / figure | Phiên bản {} / version {} | Phiên bản {} / version {} |".format(prev, prev, n, n),
                "|---|---:|---:|"]
        out += [f"| {_md(h['label_vi'])} / {_md(h['label_en'])} | {_md(h['old'])} | {_md(h['new'])} |"
                for h in changes["headline"]]
    else:
        out.append("Không đổi / unchanged.")
    if changes.get("headline_vi"):
        out += ["", "Câu tổng hợp / the headline:", "",
                f"- Trước / before: {_md(changes['headline_vi']['old'])}",
                f"- Sau / after: {_md(changes['headline_vi']['new'])}"]

    out += ["", "## Lĩnh vực / Fields", ""]
    if changes.get("fields"):
        out += ["| Mã / code | Tổng số / total | Xây mới / new | Nhân rộng / replicated |", "|---|---:|---:|---:|"]
        for fld in changes["fields"]:
            o, w = fld["old"] or {}, fld["new"] or {}
            out.append(f"| {_md(fld['code'])} | " + " | ".join(
                _arrow(o.get(k), w.get(k)) for k in ("total", "new", "replicated")) + " |")
    else:
        out.append("Không đổi / unchanged.")

    out += ["", "## Đơn vị có số liệu thay đổi / Units whose figures changed", ""]
    if changes.get("units"):
        out += ["| Mã / code | Đơn vị / unit | Tổng số / total | Xây mới / new | Nhân rộng / replicated "
                "| Tạm tính / provisional |", "|---|---|---:|---:|---:|---|"]
        for u in changes["units"]:
            o, w = u["old"] or {}, u["new"] or {}
            out.append(f"| {_md(u['code'])} | {_md(u['name'])} | " + " | ".join(
                _arrow(o.get(k), w.get(k)) for k in ("total", "new", "replicated", "provisional")) + " |")
        if any(u["old"] is None or u["new"] is None for u in changes["units"]):
            out += ["", "(— : đơn vị không có mô hình trong phiên bản đó / the unit had no model in that version)"]
    else:
        out.append("Không có / none.")

    status = []
    for key, vi, en in (("missing_units", "chưa báo cáo", "missing"), ("provisional_units", "tạm tính", "provisional")):
        part = changes.get(key) or {}
        if part.get("added"):
            status.append(f"- Thêm vào danh sách {vi} / now {en}: {', '.join(map(_md, part['added']))}")
        if part.get("removed"):
            status.append(f"- Ra khỏi danh sách {vi} / no longer {en}: {', '.join(map(_md, part['removed']))}")
    out += ["", "## Đơn vị chưa báo cáo, tạm tính / Missing and provisional units", ""]
    out += status or ["Không đổi / unchanged."]

    if changes.get("models_added") is None:
        out += ["", "## Mô hình / Models", "",
                "Phiên bản trước không có danh sách mô hình để so sánh / the previous version has no "
                "model list to compare with."]
    else:
        for key, vi, en in (("models_added", "Mô hình thêm", "Models added"),
                            ("models_removed", "Mô hình bỏ", "Models removed")):
            items = changes.get(key) or []
            out += ["", f"## {vi} / {en} ({len(items)})", ""]
            out += [_model_line(m) for m in items] or ["Không có / none."]
        items = changes.get("models_changed") or []
        out += ["", f"## Mô hình sửa số liệu / Models with changed details ({len(items)})", ""]
        for c in items:
            details = "; ".join(f"{DETAIL_LABELS.get(k, _md(k))}: {_arrow(v['old'], v['new'])}"
                                for k, v in c["changes"].items())
            out.append(_model_line(c["model"]) + f" — {details}")
        if not items:
            out.append("Không có / none.")
    out.append("")
    return "\n".join(out)


__all__ = [
    "HEADLINE", "Published", "VERSIONS_DIR", "VERSION_KEYS", "changes_markdown", "compute_changes",
    "content_sha256", "latest_published", "report_content", "version_numbers",
]
