"""The Airflow UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Log in, open the DAG list, trigger ``dvk_annual_report`` through its Params form with year 2021,
wait for the run to succeed, and check the run's conf, on the session's services
(tests/support/services_stack.py). Screenshots go to ``DVK_TEST_ARTIFACTS`` (default
``.local/test-artifacts/``, never committed).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from dvk.settings import LOCAL_DIR

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DVK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # runs as root on CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
]
UI_TIMEOUT_MS = 120_000


def artefacts_dir() -> Path:
    folder = Path(os.environ.get("DVK_TEST_ARTIFACTS") or LOCAL_DIR / "test-artifacts") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def trigger_through_the_ui(page, url: str, password: str, year: int, shots: Path) -> None:
    """What an operator does: log in, DAG list, the DAG, Trigger, fill the year, Trigger."""
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url + "/")
    page.wait_for_selector("input[name=username]")  # the login page is rendered by JavaScript
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.screenshot(path=str(shots / "1-login.png"))
    page.click("button[type=submit]")
    page.wait_for_selector("input[name=username]", state="detached")

    page.goto(url + "/dags")
    link = page.get_by_role("link", name="dvk_annual_report", exact=True)
    link.wait_for()
    for dag_id in ("dvk_ingest", "dvk_transform"):
        page.get_by_role("link", name=dag_id, exact=True).wait_for()
    page.screenshot(path=str(shots / "2-dag-list.png"))
    link.click()
    page.wait_for_url(re.compile(r".*/dags/dvk_annual_report.*"))

    page.get_by_role("heading", name="dvk_annual_report").wait_for()
    year_input = page.locator("input[name=element_year]")
    for attempt in range(4):  # a click before the page has finished rendering can be lost
        page.get_by_role("button", name="Trigger").first.click()
        try:
            year_input.wait_for(timeout=15_000)
            break
        except Exception:
            if attempt == 3:
                raise
    year_input.fill(str(year))
    page.screenshot(path=str(shots / "3-params-form.png"))
    page.get_by_role("dialog").get_by_role("button", name="Trigger").click()
    page.get_by_role("dialog").wait_for(state="detached")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def test_trigger_the_annual_report_from_the_params_form(browser, loaded_stack):
    stack = loaded_stack
    api = stack.api()
    assert stack.runs["transform"]["state"] == "success"
    if api.dag("dvk_annual_report")["is_paused"]:
        # The operator's first run of a scheduled DAG goes through ./scripts/serve trigger (no
        # double run, docs/operations.md); the UI's Trigger button is for the runs after.
        first = stack.run_and_wait("dvk_annual_report", {"year": 2021})
        assert first["state"] == "success"
    known = {r["dag_run_id"] for r in api.runs("dvk_annual_report")}
    shots = artefacts_dir()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        trigger_through_the_ui(page, stack.url, stack.password, 2021, shots)
        deadline = time.monotonic() + 60
        while not (new := [r for r in api.runs("dvk_annual_report") if r["dag_run_id"] not in known]):
            assert time.monotonic() < deadline, "the UI's Trigger created no run within 60 s"
            time.sleep(1)
        assert len(new) == 1
        run = api.wait_for_run("dvk_annual_report", new[0]["dag_run_id"], 900)
        assert run["state"] == "success", stack.task_states("dvk_annual_report", run["dag_run_id"])
        assert run["run_type"] == "manual" and run["triggered_by"] == "ui"
        assert run["conf"] == {"year": 2021, "unit_code": None}
        # the run's page shows it succeeded
        page.goto(f"{stack.url}/dags/dvk_annual_report/runs/{run['dag_run_id']}")
        page.get_by_text("success").first.wait_for()
        page.screenshot(path=str(shots / "4-run.png"))
    except Exception:
        page.screenshot(path=str(shots / "failure.png"))
        raise
    finally:
        page.close()
