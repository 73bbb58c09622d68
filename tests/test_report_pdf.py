"""The annual workbook opens cleanly in LibreOffice: convert it to PDF headless and read the text.

Needs ``libreoffice`` (or ``soffice``) and ``pdftotext`` (poppler-utils). Without them the test is
skipped, except under CI (``CI`` set), where .ci/run installs them and a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata

import pytest

from dvk.report import build_annual_report
from tests.support import gate_fixtures as fixture

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _require_tools() -> None:
    missing = [name for name, path in (("libreoffice", LIBREOFFICE), ("pdftotext", PDFTOTEXT)) if not path]
    if not missing:
        return
    reason = (f"{' and '.join(missing)} not installed: apt-get install libreoffice-calc poppler-utils "
              "(.ci/run does it in CI)")
    if _in_ci():
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def _squash(text: str) -> str:
    """NFC, no whitespace at all: PDF text extraction breaks lines and spaces glyphs freely."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    _require_tools()
    base = tmp_path_factory.mktemp("pdf")
    settings = fixture.make_settings(base)
    folder = build_annual_report(2021, settings)
    xlsx = folder / "bao-cao-dan-van-kheo-2021.xlsx"
    out = base / "pdf"
    out.mkdir()
    profile = base / "lo-profile"  # a profile of its own: works as root, in parallel, in CI
    env = {**os.environ, "HOME": str(base / "home")}
    proc = subprocess.run(
        [LIBREOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    pdf_path = out / "bao-cao-dan-van-kheo-2021.pdf"
    assert proc.returncode == 0 and pdf_path.exists(), proc.stdout + proc.stderr
    text = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True,
                          check=True, timeout=60).stdout.decode("utf-8")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return summary, text, pdf_path


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_pdf_has_the_headline_with_the_year_figures(pdf):
    summary, text, _ = pdf
    flat = _squash(text)
    assert _squash(summary["headline_vi"]) in flat
    assert _squash("toàn thành phố có 4 địa phương, cơ quan, đơn vị") in flat
    assert _squash("nhân rộng 16 mô hình") in flat
    assert _squash("Trong đó, 10 mô hình") in flat


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_pdf_has_the_vietnamese_labels_with_diacritics(pdf):
    _, text, _ = pdf
    flat = _squash(text)
    for label in (
        "BAN CHỈ ĐẠO \"DÂN VẬN KHÉO\"", "THÀNH PHỐ HÀ TĨNH",
        "BÁO CÁO KẾT QUẢ PHONG TRÀO THI ĐUA \"DÂN VẬN KHÉO\" NĂM 2021",
        "Số liệu tính đến ngày 18/12/2021", "Phiên bản 1",
        "THEO LĨNH VỰC", "THEO ĐƠN VỊ", "DANH SÁCH MÔ HÌNH", "Tổng cộng",
        "Phát triển kinh tế", "Xây dựng Đảng và hệ thống chính trị", "Quốc phòng - an ninh",
        "Tạm tính (theo báo cáo Quý III/2021)", "Phường Nguyễn Du", "Chưa báo cáo",
        "Hội Liên hiệp Phụ nữ thành phố",
        "Số mô hình theo lĩnh vực", "Mô hình xây mới và nhân rộng theo đơn vị",  # chart titles
        "Báo cáo Dân vận khéo năm 2021 - Theo đơn vị",  # footer with the sheet name
    ):
        assert _squash(label) in flat, label


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_pdf_shows_formula_like_names_as_text(pdf):
    _, text, _ = pdf
    flat = _squash(text)
    for name in ("=1+2", "+84 Dân vận khéo", "-Camera an ninh khu dân cư", "@Chi bộ bốn tốt"):
        assert _squash(name) in flat, name


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_pdf_has_pages_for_every_sheet(pdf):
    _, text, _ = pdf
    pages = text.count("\f")
    assert pages >= 6, pages
