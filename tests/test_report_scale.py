"""The annual report at a size no city reaches: long lists go to the CSV extracts beside the
workbook (the sheet says so), and the faster writers give the same values as before.

Small in-memory data with the list limit lowered; no warehouse, no timing (speed is measured by
bench/report_bench.py and bench/scale_bench.py, docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import multiprocessing
import os
from datetime import date, datetime

import openpyxl
import pytest

from dvk.report import workbook as wbmod
from dvk.report.build import _json_lines_bytes, render_report
from dvk.report.data import AnnualData, _records
from dvk.report.extracts import _csv_cell_any, _csv_row, csv_cell
from dvk.report.summary import build_summary
from dvk.report.tables import model_records
from dvk.report.versions import compute_changes, content_sha256, model_line

FIELDS = [
    {"field_code": "KT", "field_name_vi": "Kinh tế", "field_name_en": "Economy", "sort_order": 1},
    {"field_code": "VHXH", "field_name_vi": "Văn hóa - Xã hội", "field_name_en": "Culture", "sort_order": 2},
    {"field_code": "QPAN", "field_name_vi": "Quốc phòng - An ninh", "field_name_en": "Defence", "sort_order": 3},
    {"field_code": "XDD", "field_name_vi": "Xây dựng Đảng", "field_name_en": "Party", "sort_order": 4},
]


def _data(units: int = 4, per_unit: int = 3) -> AnnualData:
    status, unit_fields, models = [], [], []
    for u in range(units):
        code, name = f"U{u:03d}", f"Phường Số {u}"
        status.append({"unit_code": code, "unit_name": name, "unit_kind": "phuong", "status": "reported",
                       "source_submission_id": f"s{u}", "source_period_id": "2024Y",
                       "source_period_label": "Năm 2024", "source_received_at": datetime(2024, 12, 20, 8),
                       "figures_source": "own", "predecessor_unit_codes": None})
        for line in range(1, per_unit + 1):
            models.append({"unit_code": code, "unit_name": name, "period_id": "2024Y", "line_no": line,
                           "model_name": f"=Mô hình {u}-{line}" if line == 1 else f"Mô hình {u}-{line}",
                           "field_code": "KT", "model_kind": "new", "registered_on": date(2024, 3, line),
                           "recognition_level": None, "households": 10 * line, "funds_million_vnd": 1.5,
                           "labour_days": 3, "land_m2": 0.25, "note": None, "status": "reported"})
        unit_fields.append({"unit_code": code, "field_code": "KT", "models_total": per_unit,
                            "models_new": per_unit, "models_replicated": 0,
                            "households": sum(10 * i for i in range(1, per_unit + 1)),
                            "funds_million_vnd": 1.5 * per_unit, "labour_days": 3 * per_unit,
                            "land_m2": 0.25 * per_unit, "is_provisional": False,
                            "source_submission_id": f"s{u}", "source_period_id": "2024Y"})
    return AnnualData(year=2024, status=status, unit_fields=unit_fields, fields=FIELDS, models=models, today=None)


def _render(folder, data):
    summary = build_summary(data)
    models = model_records(data)
    changes = compute_changes(data.year, 1, None, summary, models)
    meta = wbmod.Meta(version=1, data_as_of=datetime(2024, 12, 20, 15), changes=changes)
    render_report(folder, data, summary, [model_line(m) for m in models], changes, meta)
    return models


def _texts(ws) -> list[str]:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_a_long_list_goes_to_its_csv_and_the_sheet_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(wbmod, "WORKBOOK_LIST_MAX_ROWS", 10)
    data = _data(units=4, per_unit=3)  # 12 models: over the lowered limit
    models = _render(tmp_path, data)

    wb = openpyxl.load_workbook(tmp_path / "bao-cao-dan-van-kheo-2024.xlsx")
    assert wb.sheetnames == list(wbmod.SHEETS)  # the sheets keep their places
    texts = _texts(wb["Danh sách mô hình"])
    assert any("danh-sach-mo-hinh-2024.csv" in t and "12 dòng" in t for t in texts), texts
    assert "Tên mô hình" in texts  # the column titles of the CSV are listed
    assert not any(t.startswith("Mô hình 0-") for t in texts)  # no model row in the sheet
    # the short tables are laid out as always
    by_unit = [r for r in wb["Theo đơn vị"].iter_rows(values_only=True) if r[1] and str(r[1]).startswith("U")]
    assert len(by_unit) == 4

    with open(tmp_path / "danh-sach-mo-hinh-2024.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + 12
    assert rows[1][5] == "'=Mô hình 0-1"  # still escaped against formulas
    assert json.loads((tmp_path / "models.json").read_text(encoding="utf-8")) == models


def test_a_list_within_the_limit_stays_in_its_sheet(tmp_path):
    data = _data(units=2, per_unit=2)
    _render(tmp_path, data)
    wb = openpyxl.load_workbook(tmp_path / "bao-cao-dan-van-kheo-2024.xlsx")
    texts = _texts(wb["Danh sách mô hình"])
    assert "Mô hình 0-2" in texts and "=Mô hình 0-1" in texts  # text cells, never formulas
    assert not any("danh-sach-mo-hinh-2024.csv" in t for t in texts)


def test_a_large_workbook_is_written_by_a_child_process_with_the_same_bytes(tmp_path, monkeypatch):
    """The national path (start_workbook forks a child for a large workbook) gives the very
    files of the in-process path: the threshold lowered to force it on small data."""
    data = _data(units=5, per_unit=4)
    inline, forked = tmp_path / "inline", tmp_path / "forked"
    inline.mkdir()
    forked.mkdir()
    _render(inline, data)
    real, writer = wbmod._write_in_child, tmp_path / "writer-pid"

    def write_in_child(*args):
        writer.write_text(str(os.getpid()))
        real(*args)

    monkeypatch.setattr(wbmod, "WORKBOOK_BACKGROUND_MIN_CELLS", 0)
    monkeypatch.setattr(wbmod, "_write_in_child", write_in_child)
    _render(forked, data)
    assert int(writer.read_text()) != os.getpid()  # another process wrote the workbook
    names = sorted(p.name for p in inline.iterdir())
    assert names == sorted(p.name for p in forked.iterdir()) and "bao-cao-dan-van-kheo-2024.xlsx" in names
    for name in names:
        assert (forked / name).read_bytes() == (inline / name).read_bytes(), name


def _build(monkeypatch, reports, data) -> list[str]:
    """``build_annual_report`` of ``data`` (no warehouse: the loader returns it) into ``reports``;
    the names of the children it started."""
    from dvk.gate import GateResult
    from dvk.report import build as buildmod
    from dvk.settings import get_settings

    started: list[str] = []
    real_fork = wbmod.fork_workbook

    def fork(path, write, *, name):
        started.append(name)
        return real_fork(path, write, name=name)

    monkeypatch.setenv("DVK_REPORTS_DIR", str(reports))
    monkeypatch.setattr(buildmod, "load_annual_data", lambda year, settings: data)
    monkeypatch.setattr(buildmod, "fork_workbook", fork)
    buildmod.build_annual_report(data.year, get_settings(), GateResult(year=data.year, passed=True))
    assert not multiprocessing.active_children()  # no child left running, whatever it was for
    return started


def _received_later(data: AnnualData, day: int, models: list[dict] | None = None) -> AnnualData:
    """``data`` with its first unit's report received again on ``day`` (December), and ``models``."""
    status = [dict(s) for s in data.status]
    status[0]["source_received_at"] = datetime(2024, 12, day, 8)
    return dataclasses.replace(data, status=status, models=data.models if models is None else models)


def test_a_large_workbook_started_before_the_fingerprint_is_the_same_workbook(tmp_path, monkeypatch):
    """A national year's workbook is started in a child before the content fingerprint is known,
    when a submission is newer than the last version's: versions 1 and 2 (with its sheet of
    changes) come out byte for byte as written in-process; a report sent again with the same
    content starts one and discards it (no version 3); nothing newer starts none; nothing is left
    in ``.tmp``."""
    data = _data(units=5, per_unit=4)
    models = [dict(m) for m in data.models[:-1]]
    models[0]["households"] += 5
    corrected = _received_later(data, 22, models)
    resent = _received_later(corrected, 23)
    inline, early = tmp_path / "inline", tmp_path / "early"
    assert _build(monkeypatch, inline, data) == [] and _build(monkeypatch, inline, corrected) == []
    monkeypatch.setattr(wbmod, "WORKBOOK_BACKGROUND_MIN_CELLS", 0)
    assert _build(monkeypatch, early, data) == ["dvk-workbook-2024"]
    assert _build(monkeypatch, early, corrected) == ["dvk-workbook-2024"]
    assert _build(monkeypatch, early, corrected) == []  # nothing newer: not started
    assert _build(monkeypatch, early, resent) == ["dvk-workbook-2024"]  # started, then discarded
    a, b = inline / "annual" / "2024", early / "annual" / "2024"
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert "versions/v2/bao-cao-dan-van-kheo-2024.xlsx" in names and "versions/v3" not in str(names)
    for name in names:
        assert (b / name).read_bytes() == (a / name).read_bytes(), name
    assert not (early / ".tmp").exists()


def test_a_failed_child_workbook_raises_naming_the_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(wbmod, "WORKBOOK_BACKGROUND_MIN_CELLS", 0)
    data = _data(units=2, per_unit=2)
    summary = build_summary(data)
    missing = tmp_path / "no-such-folder" / "bao-cao.xlsx"
    pending = wbmod.start_workbook(missing, data, summary, wbmod.Meta(version=1))
    with pytest.raises(wbmod.WorkbookError, match=r"bao-cao\.xlsx.*FileNotFoundError"):
        pending.wait()


def test_a_small_workbook_is_written_in_this_process(tmp_path):
    data = _data(units=2, per_unit=2)
    summary = build_summary(data)
    assert wbmod.workbook_cells(wbmod.all_tables(data, summary)) < wbmod.WORKBOOK_BACKGROUND_MIN_CELLS
    pending = wbmod.start_workbook(tmp_path / "b.xlsx", data, summary, wbmod.Meta(version=1))
    assert pending._process is None and (tmp_path / "b.xlsx").is_file()  # written before it returns
    assert pending.wait() == tmp_path / "b.xlsx"


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    None, "", "abc", "=1+2", "-5", "+x", "@a", "\tx", 0, 7, -3, True, False, 0.0, -0.0, 1.5, 67661.1,
    1e-7, 12345678.123456, date(2024, 1, 2), datetime(2024, 1, 2, 3, 4), _Text("=x"), float("nan"),
])
def test_csv_cell_fast_path_equals_the_general_one(value):
    assert csv_cell(value) == _csv_cell_any(value)


CELLS = [None, "", "abc", "=1+2", "-5", "+x", "@a", "\tx", "\r", "a,b", 'say "x"', "x\ny", 0, 7, -3, 10**20,
         True, False, 0.0, -0.0, 1.5, 67661.1, 1e-7, 12345678.123456, date(2024, 1, 2),
         datetime(2024, 1, 2, 3, 4), _Text("=x"), float("nan")]


def test_csv_rows_are_written_as_csv_cell_writes_each_value():
    import io

    def written(rows):
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue()

    assert written(_csv_row(CELLS) for _ in range(2)) == written([csv_cell(v) for v in CELLS] for _ in range(2))


def test_models_json_one_item_a_line(tmp_path):
    items = [{"b": "Mô hình", "a": 1, "c": None}, {"a": 2.5, "b": "=x", "c": [1]}]
    text = _json_lines_bytes([model_line(m) for m in items]).decode("utf-8")
    assert json.loads(text) == items
    assert text.count("\n") == len(items) + 2 and "Mô hình" in text  # unescaped Vietnamese
    assert json.loads(_json_lines_bytes([]).decode("utf-8")) == []


def _fingerprint_as_published(summary, models):
    """The fingerprint as every published version so far has it (versions.py before the model
    lines were shared with models.json): it must not change, or every report gets a new version."""
    import hashlib

    def canonical(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)

    figures = {k: v for k, v in summary.items()
               if k not in ("version", "data_as_of", "content_sha256", "generated_from", "today_geography")}
    lines = sorted(canonical({k: v for k, v in m.items() if k != "line_no"}) for m in models)
    return hashlib.sha256(canonical({"summary": figures, "models": lines}).encode("utf-8")).hexdigest()


TRICKY_NAMES = ['Mô hình ,"line_no":1,', 'a "quoted" \\ name', "x\\", '{"line_no":2}', "", "Đường \n mới"]


@pytest.mark.parametrize("line_no", [1, None, 0, -4, 120000])
def test_the_fingerprint_from_the_model_lines_is_the_published_one(line_no):
    data = _data(units=3, per_unit=2)
    summary = build_summary(data)
    models = model_records(data)
    for m, name in zip(models, TRICKY_NAMES):
        m["model_name"], m["note"], m["line_no"] = name, name[::-1], line_no
    lines = [model_line(m) for m in models]
    assert content_sha256(summary, models, lines) == content_sha256(summary, models) \
        == _fingerprint_as_published(summary, models)
    # one model moved to another line of its file: same content
    moved = [{**m, "line_no": 99} if i == 0 else m for i, m in enumerate(models)]
    assert content_sha256(summary, moved, [model_line(m) for m in moved]) == content_sha256(summary, models)
    # a record whose line_no sorts first or last, or is missing, as read back from a file
    for odd in ([{"line_no": 3}], [{"a": 1, "line_no": 3}], [{"line_no": 3, "z": 1}], [{"a": 1}]):
        assert content_sha256(summary, odd, [model_line(m) for m in odd]) == _fingerprint_as_published(summary, odd)


def test_records_are_plain_python_values(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create table t (i bigint, f double, d date, ts timestamp, s varchar, b boolean)")
        con.execute("insert into t values (1, 'NaN', '2024-01-02', '2024-01-02 03:04:05', 'x', true), "
                    "(null, 2.5, null, null, null, null)")
        rows = _records(con, "select * from t order by i nulls last")
    finally:
        con.close()
    assert rows[0] == {"i": 1, "f": None, "d": date(2024, 1, 2), "ts": datetime(2024, 1, 2, 3, 4, 5),
                       "s": "x", "b": True}
    assert type(rows[0]["i"]) is int
    assert rows[1] == {"i": None, "f": 2.5, "d": None, "ts": None, "s": None, "b": None}
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())
