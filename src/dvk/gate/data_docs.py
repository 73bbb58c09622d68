"""The gate's Great Expectations Data Docs: a static site, built after each run, readable offline.

    <reports_dir>/gate/<year>/data_docs/index.html

``build(context, validations, result, site_dir)`` stores the run's validation results in the
(ephemeral) context, has GX build its local site into a staging folder beside ``site_dir``, makes
every page self-sufficient (below), adds a summary of the gate's verdict on top of the index page,
then swaps the staging folder into place: a reader never sees a half-written site, and the site
always shows the latest run of that year.

Offline. GX's page templates pull Bootstrap, bootstrap-table, jQuery, Font Awesome, Vega and a
date picker from public CDNs (``great_expectations/render/view/templates/*.j2``), and the GX logo
from S3; no installed package ships copies of them, and GX's own custom-views hook cannot replace
a template (its loader only adds templates). So each generated page is post-processed:

- ``<link>``/``<script>`` tags to any other host are removed, and so are CSS ``url(http…)`` values;
- the tables GX fills with bootstrap-table in the browser (the index's validation and suite lists)
  are rendered here, as plain HTML tables, from the data GX wrote into the page;
- inline scripts that need jQuery / bootstrap-table / Vega are removed, and the little behaviour
  the pages need (show more / notes toggles, "Failed only" filter) comes from our own script;
- the GX logo points at the copy GX ships in ``static/images/``;
- ``expectations/data_docs_assets/dvk-data-docs.css`` (a small Bootstrap-like stylesheet for the
  classes GX uses) and ``dvk-data-docs.js`` are copied to ``static/dvk/`` and linked from every page;
- what GX copies into ``static/`` and no page uses (fonts, tutorial GIFs: 4 MB) is removed.

``external_resources(html)`` lists whatever would still be fetched from another host (the tests
assert it is empty for every page).
"""

from __future__ import annotations

import ast
import html as html_lib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvk.gate._gx import DATA_DOCS_SITE
from dvk.settings import EXPECTATIONS_DIR

if TYPE_CHECKING:
    from dvk.gate.runner import GateResult

log = logging.getLogger(__name__)

ASSETS_DIR = EXPECTATIONS_DIR / "data_docs_assets"
ASSET_FILES = ("dvk-data-docs.css", "dvk-data-docs.js")
ASSETS_URL = "static/dvk/"

_EXTERNAL = r"""(?:https?:)?//"""
_LINK_EXTERNAL = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?""" + _EXTERNAL + r"""[^>]*>""", re.I)
_SCRIPT_EXTERNAL = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?""" + _EXTERNAL + r"""[^>]*>\s*</script>""", re.I)
_IMG_EXTERNAL = re.compile(
    r"""<img\b(?P<before>[^>]*?)\bsrc\s*=\s*(?P<q>["'])(?P<url>""" + _EXTERNAL
    + r"""[^"']*)(?P=q)(?P<after>[^>]*)>""", re.I)
_CSS_URL_EXTERNAL = re.compile(r"""url\(\s*(?P<q>["']?)""" + _EXTERNAL + r"""[^)]*\)""", re.I)
_CSS_IMPORT_EXTERNAL = re.compile(r"""@import\s+(?:url\()?\s*["']?""" + _EXTERNAL + r"""[^;]*;""", re.I)
_INLINE_SCRIPT = re.compile(r"""<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script>""", re.I | re.S)
_NEEDS_LIBRARY = re.compile(r"""\$\(|\$\.|jQuery|bootstrapTable|vegaEmbed""")
_FOOTER = re.compile(r"""<footer\b.*?</footer>""", re.I | re.S)
_STATIC_PATH = re.compile(r"""(?P<attr>\b(?:href|src))=(?P<q>["'])(?:\./|(?:\.\./)+)static/""")
_BOOTSTRAP_TABLE = re.compile(r"""\$\('#(?P<id>[\w-]+)'\)\.bootstrapTable\(""")


# --------------------------------------------------------------------------------------------
# finding what a page would fetch from elsewhere


def external_resources(text: str) -> list[str]:
    """Every stylesheet, script, image or CSS URL of ``text`` that lives on another host."""
    found: list[str] = []
    found += [m.group(0) for m in _LINK_EXTERNAL.finditer(text)]
    found += [m.group(0) for m in re.finditer(
        r"""<script\b[^>]*\bsrc\s*=\s*["']?""" + _EXTERNAL + r"""[^>]*>""", text, re.I)]
    found += [m.group(0) for m in _IMG_EXTERNAL.finditer(text)]
    found += [m.group(0) for m in _CSS_URL_EXTERNAL.finditer(text)]
    found += [m.group(0) for m in _CSS_IMPORT_EXTERNAL.finditer(text)]
    return found


# --------------------------------------------------------------------------------------------
# bootstrap-table -> plain HTML


def _matching(text: str, start: int) -> int:
    """Index just past the bracket closing the one at ``text[start]`` (Python/JS literals: quotes
    and backslash escapes respected)."""
    pairs = {"[": "]", "{": "}", "(": ")"}
    stack = [pairs[text[start]]]
    i, quote = start + 1, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if ch != stack.pop():
                raise ValueError(f"unbalanced {ch!r} at {i}")
            if not stack:
                return i + 1
        i += 1
    raise ValueError("unterminated literal")


def _literal_after(text: str, marker: str, start: int, opening: str) -> tuple[Any, int]:
    """The Python literal (GX writes ``repr()``s) starting at the first ``opening`` after ``marker``."""
    at = text.index(marker, start) + len(marker)
    begin = text.index(opening, at)
    end = _matching(text, begin)
    return ast.literal_eval(text[begin:end]), end


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()  # GX rendered it to HTML already (bootstrap-table shows it unescaped)
    return html_lib.escape(str(value))


def _static_table(table_id: str, classes: str, columns: list[dict], rows: list[dict],
                  options: dict) -> str:
    sort_name = options.get("sortName")
    if sort_name:
        column = next((c for c in columns if c.get("field") == sort_name), {})
        key = column.get("sortName", sort_name)
        rows = sorted(rows, key=lambda r: (r.get(key) is None, str(r.get(key)) if not isinstance(
            r.get(key), (int, float)) else r.get(key)), reverse=options.get("sortOrder") == "desc")
    head = "".join(f"<th>{html_lib.escape(str(c.get('title', c.get('field', ''))))}</th>" for c in columns)
    body = []
    for row in rows:
        link = row.get("_table_row_link_path")
        cells = []
        for c in columns:
            content = _cell(row.get(c.get("field")))
            if link and content and "<a " not in content:
                content = f'<a href="{html_lib.escape(link, quote=True)}">{content}</a>'
            cells.append(f"<td>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}">—</td></tr>')
    return (f'<table id="{table_id}" class="{html_lib.escape(classes, quote=True)} table table-sm '
            f'table-bordered dvk-static-table">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{chr(10).join(body)}\n</tbody>\n</table>")


def _render_bootstrap_tables(text: str) -> str:
    """Replace each empty ``<table data-toggle="table">`` that a bootstrap-table script fills
    with the same table rendered statically (the script itself goes with the other library
    scripts)."""
    for table_id in [m.group("id") for m in _BOOTSTRAP_TABLE.finditer(text)]:
        # look the script up again: each table written below shifts what follows it
        match = re.search(r"""\$\('#%s'\)\.bootstrapTable\(""" % re.escape(table_id), text)
        if not match:
            continue
        try:
            columns, end = _literal_after(text, "columns:", match.end(), "[")
            rows, end = _literal_after(text, "data:", end, "[")
            options, _ = _literal_after(text, "toolbar:", end, "{")
        except (ValueError, SyntaxError) as exc:  # leave the page as GX wrote it, say so
            log.warning("Data Docs: could not render table %s statically: %s", table_id, exc)
            continue
        empty = re.compile(r"""<table\s+id="%s"(?P<attrs>[^>]*)>\s*</table>""" % re.escape(table_id), re.S)
        found = empty.search(text)
        if not found:
            continue
        classes = re.search(r"""class="([^"]*)\"""", found.group("attrs"))
        table = _static_table(table_id, classes.group(1) if classes else "", columns, rows, options)
        text = text[: found.start()] + table + text[found.end():]
        toolbar = re.compile(r"""<div id="%s-toolbar"[^>]*>.*?</div>""" % re.escape(table_id), re.S)
        text = toolbar.sub("", text, count=1)
    return text


# --------------------------------------------------------------------------------------------
# one page


def _local_image(match: re.Match, root: str, images: set[str]) -> str:
    name = match.group("url").split("?", 1)[0].rsplit("/", 1)[-1]
    if name in images:
        return (f'<img{match.group("before")}src={match.group("q")}{root}static/images/{name}'
                f'{match.group("q")}{match.group("after")}>')
    alt = re.search(r"""\balt=["']([^"']*)["']""", match.group(0))
    return f'<span class="dvk-img-alt">{alt.group(1) if alt else ""}</span>'


def offline_page(text: str, root: str, images: Iterable[str] = ()) -> str:
    """One generated page made self-sufficient; ``root`` is the relative path to the site root
    (``""`` for index.html, ``"../../"`` two folders down)."""
    images = set(images)
    text = _render_bootstrap_tables(text)
    text = _LINK_EXTERNAL.sub("", text)
    text = _SCRIPT_EXTERNAL.sub("", text)
    text = _IMG_EXTERNAL.sub(lambda m: _local_image(m, root, images), text)
    text = _CSS_URL_EXTERNAL.sub("none", text)
    text = _CSS_IMPORT_EXTERNAL.sub("", text)
    text = _INLINE_SCRIPT.sub(
        lambda m: "" if "src=" not in m.group("attrs") and _NEEDS_LIBRARY.search(m.group("body")) else m.group(0),
        text,
    )
    text = _FOOTER.sub("", text)  # GX's newsletter footer
    text = _STATIC_PATH.sub(lambda m: f'{m.group("attr")}={m.group("q")}{root}static/', text)
    assets = (
        f'<link rel="stylesheet" href="{root}{ASSETS_URL}dvk-data-docs.css">\n'
        f'<script src="{root}{ASSETS_URL}dvk-data-docs.js" defer></script>\n'
    )
    text = text.replace("</head>", assets + "</head>", 1)
    return text


def make_offline(site_dir: Path, index_banner: str = "") -> None:
    """Post-process every page of the site in ``site_dir`` (see the module's docstring)."""
    site_dir = Path(site_dir)
    assets = site_dir / ASSETS_URL
    assets.mkdir(parents=True, exist_ok=True)
    for name in ASSET_FILES:
        shutil.copyfile(ASSETS_DIR / name, assets / name)
    for sheet in sorted((site_dir / "static").rglob("*.css")):  # GX copies its styles too
        text = sheet.read_text(encoding="utf-8")
        cleaned = _CSS_IMPORT_EXTERNAL.sub("", _CSS_URL_EXTERNAL.sub("none", text))
        if cleaned != text:
            sheet.write_text(cleaned, encoding="utf-8")
    images_dir = site_dir / "static" / "images"
    images = {p.name for p in images_dir.iterdir()} if images_dir.is_dir() else set()
    for page in sorted(site_dir.rglob("*.html")):
        depth = len(page.relative_to(site_dir).parts) - 1
        text = offline_page(page.read_text(encoding="utf-8"), "../" * depth, images)
        if depth == 0 and page.name == "index.html" and index_banner:
            text = _insert_banner(text, index_banner)
        left = external_resources(text)
        if left:
            log.warning("Data Docs page %s still refers to other hosts: %s", page, left)
        page.write_text(text, encoding="utf-8")
    _prune_static(site_dir)


def _prune_static(site_dir: Path) -> None:
    """Remove what GX copies into ``static/`` and no page uses (its fonts and the GIFs of its
    tutorials: 4 MB of a 4.5 MB site, for every year)."""
    texts = "\n".join(p.read_text(encoding="utf-8") for p in site_dir.rglob("*") if p.suffix in {".html", ".css"})
    for path in sorted((site_dir / "static").rglob("*")):
        if path.is_file() and path.parent.name != "dvk" and path.name not in texts:
            path.unlink()
    for folder in sorted((site_dir / "static").rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _insert_banner(text: str, banner: str) -> str:
    at = text.find('<div class="container-fluid')
    if at < 0:
        at = text.find("<body>") + len("<body>")
    return text[:at] + banner + "\n" + text[at:]


# --------------------------------------------------------------------------------------------
# the gate's summary on the index page

def _e(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return html_lib.escape(str(value))


def _entries_table(entries: list[dict[str, Any]]) -> str:
    rows = []
    for e in entries:
        unit = _e(e.get("unit_code"))
        if e.get("unit_name"):
            unit += f"<br><small>{_e(e['unit_name'])}</small>"
        rows.append(
            "<tr>"
            f"<td><code>{_e(e.get('check'))}</code></td><td>{unit}</td><td>{_e(e.get('period_id'))}</td>"
            f"<td>{_e(e.get('field_code'))}</td><td class='dvk-num'>{_e(e.get('declared'))}</td>"
            f"<td class='dvk-num'>{_e(e.get('computed'))}</td>"
            f"<td>{_e(e.get('message_vi'))}<br><span class='dvk-en'>{_e(e.get('message_en'))}</span></td>"
            "</tr>"
        )
    return (
        '<table class="table table-sm table-bordered dvk-entries"><thead><tr>'
        "<th>Kiểm tra / check</th><th>Đơn vị / unit</th><th>Kỳ / period</th><th>Lĩnh vực / field</th>"
        "<th>Khai báo / declared</th><th>Tính được / computed</th><th>Nội dung, việc cần làm / what, next</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def summary_banner(result: GateResult) -> str:
    """HTML summary of the gate's verdict for the top of the index page."""
    passed = result.passed
    verdict = (
        "ĐẠT — báo cáo năm được lập / PASSED — the annual report can be produced"
        if passed else
        "KHÔNG ĐẠT — chưa lập báo cáo năm / FAILED — the annual report is blocked"
    )
    parts = [
        '<section class="dvk-gate-summary container-fluid">',
        f"<h1>Kiểm tra chất lượng số liệu năm {_e(result.year)} / Quality gate for {_e(result.year)}</h1>",
        f'<p class="dvk-verdict {"dvk-passed" if passed else "dvk-failed"}">{verdict}</p>',
        "<p class='dvk-meta'>"
        f"Lỗi chặn / blocking failures: <strong>{len(result.failures)}</strong> · "
        f"Cảnh báo / warnings: <strong>{len(result.warnings)}</strong> · "
        f"Chưa báo cáo / missing: <strong>{len(result.missing_units)}</strong> · "
        f"Tạm tính / provisional: <strong>{len(result.provisional_units)}</strong><br>"
        f"Thời điểm / checked at: {_e(result.checked_at)} · kho dữ liệu / warehouse: "
        f"<code>{_e(result.warehouse)}</code> · kết quả máy đọc / machine-readable: "
        '<a href="../gate_result.json"><code>gate_result.json</code></a></p>',
    ]
    if result.failures:
        parts.append(f"<h2>Lỗi chặn báo cáo / Blocking failures ({len(result.failures)})</h2>")
        parts.append(_entries_table(result.failures))
    if result.warnings:
        parts.append(f"<h2>Cảnh báo, không chặn / Warnings, not blocking ({len(result.warnings)})</h2>")
        parts.append(_entries_table(result.warnings))
    if result.missing_units:
        units = ", ".join(f"{_e(u['unit_code'])} ({_e(u.get('unit_name'))})" for u in result.missing_units)
        parts.append(f"<h2>Đơn vị chưa báo cáo / Missing units</h2><p>{units}</p>")
    if result.provisional_units:
        units = ", ".join(f"{_e(u['unit_code'])} ({_e(u.get('unit_name'))}, {_e(u.get('period_id'))})"
                          for u in result.provisional_units)
        parts.append(f"<h2>Đơn vị tạm tính / Provisional units</h2><p>{units}</p>")
    parts.append(
        "<p class='dvk-meta'>Bên dưới: kết quả chi tiết của Great Expectations cho từng bộ kiểm tra; "
        "mỗi kiểm tra ghi mức (chặn / cảnh báo / thông tin) và việc cần làm. "
        "/ Below: Great Expectations' detailed results per suite; each check carries its level "
        "(blocking / warning / information) and the next step. See docs/quality-gate.md.</p>"
    )
    parts.append("</section>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# building the site


def staging_dir(site_dir: Path) -> Path:
    """A fresh folder beside ``site_dir`` (same file system, so the final swap is a rename)."""
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-", dir=site_dir.parent))


def store_validations(context: Any, validations: list[tuple[str, Any, Any]], run_id: Any) -> None:
    """Put each ``(suite_name, batch_id, validation_result)`` in the context's results store,
    where the site builder reads them."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    store = context.validation_results_store
    for suite_name, batch_id, validation in validations:
        suite_id = ExpectationSuiteIdentifier(name=suite_name)
        validation.meta["run_id"] = run_id
        validation.meta["validation_time"] = run_id.run_time
        key = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=batch_id)
        store.store_validation_results(
            suite_validation_result=validation,
            suite_validation_result_identifier=key,
            expectation_suite_identifier=suite_id,
        )


def _swap(staging: Path, site_dir: Path) -> None:
    old = None
    if site_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-old-", dir=site_dir.parent))
        os.replace(site_dir, old / site_dir.name)
    os.replace(staging, site_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(context: Any, validations: list[tuple[str, Any, Any]], run_id: Any, result: GateResult,
          staging: Path, site_dir: Path) -> Path:
    """Build the site of this run in ``staging`` (the folder the context's site writes to), make it
    offline, then move it to ``site_dir``. Returns ``site_dir / "index.html"``."""
    store_validations(context, validations, run_id)
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    make_offline(staging, summary_banner(result))
    if not (staging / "index.html").is_file():
        raise RuntimeError(f"Great Expectations wrote no index.html in {staging}")
    _swap(staging, Path(site_dir))
    return Path(site_dir) / "index.html"
