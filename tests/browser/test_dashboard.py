# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The dashboard (docs/dashboard.md) in a real browser against a real stack.

Headless Chromium, driven by chromedriver (Debian's chromium-driver, started
here on a free port and stopped by its pid) through python3-selenium, opens
the page the gateway serves at /_gearbox/ of a stack of gearmand, the C barn
(two workers), the Python barn (the family's calf is born there) and the
gateway.  Every wait is a WebDriverWait with a generous bound, never a fixed
sleep.  The screenshots of the list and of a status's page are saved in the
test's temporary directory (docs/images/ holds copies).
"""

import importlib.util
import signal
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("stack_fixtures", HERE.parent / "stack" / "conftest.py")
stackconf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stackconf)
from gbxtest import BOUND, free_port, port_open, wait_for  # noqa: E402 (on the path now)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = BOUND * 2  # seconds any condition in the browser may take
DASHBOARD = "/_gearbox/"


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = stackconf.start_stack(tmp_path_factory.mktemp("stack"), workers=4, languages=["barnpython"])
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where the screenshots go."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def chromedriver(tmp_path_factory):
    """chromedriver on a free loopback port; stopped by its pid."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        assert Path(binary).exists(), "%s is missing: apt-get install chromium chromium-driver" % binary
    port = free_port()
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port, "--log-path=%s" % log],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: port_open(port) or proc.poll() is not None, "chromedriver on port %d" % port)
        assert proc.poll() is None, "chromedriver exited with %s: %s" % (proc.returncode, log.read_text())
        yield "http://127.0.0.1:%d" % port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def new_browser(chromedriver, profile, width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--user-data-dir=%s" % profile,
                "--window-size=%d,%d" % (width, height), "--force-color-profile=srgb",
                "--hide-scrollbars"):
        options.add_argument(arg)
    conn = ChromiumRemoteConnection(chromedriver, vendor_prefix="goog", browser_name="chrome")
    return webdriver.Remote(command_executor=conn, options=options)


@pytest.fixture
def browser(chromedriver, tmp_path):
    driver = new_browser(chromedriver, tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


# ---- helpers ----------------------------------------------------------------

def wait(driver, condition, what, timeout=WAIT):
    """WebDriverWait for condition(driver); a stale element just means "again"."""
    def check(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(check, "waited %ss for %s" % (timeout, what))


def path_of(uri):
    return urllib.parse.urlsplit(uri).path


def open_list(driver, stack):
    driver.get(stack.base + DASHBOARD)
    wait(driver, lambda d: d.find_element(By.ID, "view-list").is_displayed(), "the list view")


def open_status(driver, stack, status_uri):
    driver.get(stack.base + DASHBOARD + "#/status" + path_of(status_uri))
    wait(driver, lambda d: d.find_element(By.ID, "st-state").text, "the status's state")


def row(driver, status_uri):
    rows = driver.find_elements(By.CSS_SELECTOR, '#status-list > li[data-status="%s"]' % status_uri)
    return rows[0] if rows else None


def progress(el):
    return float(el.find_element(By.TAG_NAME, "progress").get_attribute("value"))


def rows_shown(driver):
    return [(li.get_attribute("data-status"), li.get_attribute("data-state"))
            for li in driver.find_elements(By.CSS_SELECTOR, "#status-list > li")]


def submit(stack, method, path, body=None):
    return stack.client.accepted(method, path, body)["status_uri"]


# ---- the gateway's side -------------------------------------------------------

def test_files_types_and_caching(stack):
    c = stack.client
    r = c.get("/_gearbox")
    assert r.status == 302 and r.headers["Location"] == DASHBOARD, r
    for name, ctype in (("", "text/html"), ("dashboard.css", "text/css"), ("dashboard.js", "text/javascript")):
        r = c.get(DASHBOARD + name)
        assert r.status == 200, r
        assert r.headers["Content-Type"].startswith(ctype), r.headers
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.body == (stackconf.SOURCE_DIR / "gateway/dashboard" / (name or "index.html")).read_bytes()
        etag = r.headers["ETag"]
        again = c.get(DASHBOARD + name, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag, again
    assert c.get(DASHBOARD + "nothing.js").status == 404
    assert c.get(DASHBOARD + "..%2Fgateway.conf").status == 404
    r = c.post(DASHBOARD, "{}")
    assert r.status == 405 and r.headers["Allow"] == "GET, HEAD", r


def test_api_info(stack):
    r = stack.client.get(DASHBOARD + "api/info")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store", r
    info = r.json()
    assert info["metrics_path"] == "/metrics"
    assert info["dashboard_path"] == DASHBOARD
    assert info["version"]
    assert {"path": "/barn", "prefix": "/barn", "component": "barn"} in info["locations"]
    assert {"path": "/python/barn", "prefix": "/python/barn", "component": "barnpython"} in info["locations"]


# ---- the page -------------------------------------------------------------------

def test_family_reaches_100_and_shows_its_children(stack, browser, shots):
    """A family starts a child here and one in the Python barn next door: its
    bar reaches 100 % in the list, and its page shows both children, the
    calf's followed into /python/barn."""
    # Some company in the list for the screenshot: an animal, a chore, and
    # (once the family is done) a long field that is still running.
    submit(stack, "PUT", "/barn/v1/animal/Wilbur", {"name": "Wilbur"})
    submit(stack, "PUT", "/barn/v1/chore/monday")
    family = submit(stack, "PUT", "/barn/v1/family/%s" % stackconf.unique("Zuckerman"))

    open_list(browser, stack)
    wait(browser, lambda d: row(d, family), "the family in the list")
    wait(browser, lambda d: row(d, family).get_attribute("data-state") == "COMPLETED"
         and progress(row(d, family)) == 100, "the family's bar at 100 %")
    li = row(browser, family)
    assert "100 %" in li.text
    assert "the piglet and the calf are born" in li.find_element(By.CLASS_NAME, "newest").text
    field = submit(stack, "PUT", "/barn/v1/field/%s" % stackconf.unique("east"),
                   {"rows": 40, "row_seconds": 1})
    wait(browser, lambda d: row(d, field) and 0 < progress(row(d, field)) < 100, "the field part done")
    browser.save_screenshot(str(shots / "dashboard-list.png"))
    assert stack.client.post(path_of(field), {"state": "CANCELLED"}).status == 202

    row(browser, family).find_element(By.CSS_SELECTOR, "a").click()
    wait(browser, lambda d: d.find_element(By.ID, "view-status").is_displayed(), "the status page")
    assert browser.current_url.endswith("#/status" + path_of(family))

    def both_children(d):
        nodes = d.find_elements(By.CSS_SELECTOR, "#st-children > li.node")
        return len(nodes) == 2 and all(n.get_attribute("data-state") == "COMPLETED" for n in nodes) and nodes
    nodes = wait(browser, both_children, "the family's two children, completed")
    children = stack.client.status(family)["children"]
    assert sorted(n.get_attribute("data-status") for n in nodes) == sorted(children)
    assert any("/python/barn/v1/status/" in c for c in children)
    calf = [n for n in nodes if "/python/barn/" in n.get_attribute("data-status")][0]
    assert "Zuckerman" in calf.text and "-calf" in calf.text and progress(calf) == 100
    assert browser.find_element(By.ID, "st-state").text == "COMPLETED"
    assert float(browser.find_element(By.ID, "st-progress").get_attribute("value")) == 100
    messages = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#st-messages li")]
    assert any("the piglet and the calf are born" in m for m in messages), messages
    # The W3C trace id the status keeps is shown.
    trace = stack.client.status(family)["meta"]["trace_id"]
    assert browser.find_element(By.ID, "st-trace").text == trace
    browser.set_window_size(1280, 1000)
    browser.save_screenshot(str(shots / "dashboard-status.png"))

    # Following a child opens its page, with the parent linked back.
    browser.find_element(By.CSS_SELECTOR, '#st-children a[href*="/python/barn/"]').click()
    wait(browser, lambda d: "barnpython" in d.find_element(By.ID, "st-fields").text, "the calf's page")
    parent = browser.find_element(By.CSS_SELECTOR, "#st-fields a")
    assert parent.text == path_of(family).rsplit("/", 1)[1]
    assert browser.find_element(By.ID, "st-trace").text == trace  # the child: the same trace


def test_cancel_button_cancels_a_long_job(stack, browser):
    field = submit(stack, "PUT", "/barn/v1/field/%s" % stackconf.unique("north"),
                   {"rows": 200, "row_seconds": 0.5})
    open_status(browser, stack, field)
    wait(browser, lambda d: d.find_element(By.ID, "st-state").text == "RUNNING"
         and d.find_element(By.ID, "cancel-btn").is_displayed(), "the field running, cancellable")
    browser.find_element(By.ID, "cancel-btn").click()
    dialog = browser.find_element(By.ID, "cancel-dialog")
    wait(browser, lambda d: dialog.is_displayed(), "the confirmation")
    # Keeping it sends nothing.
    browser.find_element(By.ID, "cancel-keep").click()
    wait(browser, lambda d: not dialog.is_displayed(), "the confirmation to close")
    assert stack.client.status(field)["state"] == "RUNNING"
    browser.find_element(By.ID, "cancel-btn").click()
    wait(browser, lambda d: dialog.is_displayed(), "the confirmation")
    browser.find_element(By.ID, "cancel-confirm").click()
    wait(browser, lambda d: "Cancellation requested" in d.find_element(By.ID, "cancel-result").text,
         "the cancellation accepted")
    wait(browser, lambda d: d.find_element(By.ID, "st-state").text == "CANCELLED", "the field CANCELLED")
    st = stack.client.status(field)
    assert st["state"] == "CANCELLED" and st["progress"] == 100, st
    assert not browser.find_element(By.ID, "cancel-btn").is_displayed()
    # The cancellation's own status is linked.
    link = browser.find_element(By.CSS_SELECTOR, "#cancel-result a")
    assert link.get_attribute("href").split("#/status", 1)[1].startswith("/barn/v1/status/s-")


def test_filters(stack, browser):
    here = submit(stack, "PUT", "/barn/v1/animal/%s" % stackconf.unique("pig"), {"name": "Babe"})
    there = submit(stack, "PUT", "/python/barn/v1/animal/%s" % stackconf.unique("pig"), {"name": "Babe"})
    running = submit(stack, "PUT", "/barn/v1/field/%s" % stackconf.unique("west"),
                     {"rows": 200, "row_seconds": 0.5})
    stack.client.wait_completed(here)
    stack.client.wait_completed(there)
    open_list(browser, stack)
    wait(browser, lambda d: row(d, here) and row(d, there), "statuses of both locations")

    Select(browser.find_element(By.ID, "f-location")).select_by_value("/python/barn")
    wait(browser, lambda d: rows_shown(d) and all("/python/barn/" in u for u, _ in rows_shown(d))
         and row(d, there), "only /python/barn's statuses")

    Select(browser.find_element(By.ID, "f-location")).select_by_value("*")
    Select(browser.find_element(By.ID, "f-state")).select_by_visible_text("RUNNING")
    wait(browser, lambda d: rows_shown(d) and all(s == "RUNNING" for _, s in rows_shown(d))
         and row(d, running), "only RUNNING statuses, the field among them")

    Select(browser.find_element(By.ID, "f-state")).select_by_visible_text("COMPLETED")
    wait(browser, lambda d: rows_shown(d) and all(s == "COMPLETED" for _, s in rows_shown(d))
         and not row(d, running), "only COMPLETED statuses")
    assert stack.client.post(path_of(running), {"state": "CANCELLED"}).status == 202


def test_metrics_missing_or_served(stack, browser):
    """Without /metrics the page says so; with it, the charts draw."""
    served = stack.client.get("/metrics").status == 200
    open_list(browser, stack)
    if served:
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#charts figure.chart")) == 4,
             "the four charts")
    else:
        wait(browser, lambda d: "No metrics: /metrics answered 404" in d.find_element(By.ID, "charts").text,
             "'no metrics' in the charts")
        assert "No metrics" in browser.find_element(By.ID, "queue").text


def test_charts_and_queue_from_metrics(stack, browser, shots):
    """The charts and the queue table from the gateway's own /metrics."""
    field = submit(stack, "PUT", "/barn/v1/field/%s" % stackconf.unique("south"),
                   {"rows": 40, "row_seconds": 1})
    open_list(browser, stack)

    def drawn(d):
        chart = d.find_elements(By.CSS_SELECTOR, '#charts figure[data-chart="Requests/s"] polyline')
        return chart and len(chart[0].get_attribute("points").split()) >= 3
    wait(browser, drawn, "three samples in the requests chart")
    wait(browser, lambda d: row(d, field) and progress(row(d, field)) > 0, "the field running")
    wait(browser, lambda d: "do_put_barn_field_v1" in d.find_element(By.ID, "queue").text,
         "the field's function in the queue table")
    browser.save_screenshot(str(shots / "dashboard-metrics.png"))
    assert stack.client.post(path_of(field), {"state": "CANCELLED"}).status == 202
    fig = browser.find_element(By.CSS_SELECTOR, '#charts figure[data-chart="Requests/s"]')
    rate = float(fig.find_element(By.CSS_SELECTOR, ".k1").text)
    assert rate > 0, fig.text
    jobs = browser.find_element(By.CSS_SELECTOR, '#charts figure[data-chart="Jobs/s"]')
    assert len(jobs.find_elements(By.TAG_NAME, "polyline")) == 3
    assert "accepted" in jobs.text and "failed" in jobs.text
    assert "Connections over the last " in browser.find_element(
        By.CSS_SELECTOR, '#charts figure[data-chart="Connections"] svg').get_attribute("aria-label")
    cells = [td.text for td in browser.find_elements(
        By.CSS_SELECTOR, '#queue tr[data-function="do_put_barn_field_v1"] td')]
    # Function, jobs, running, workers, as gearmand counts them (the C barn's
    # workers stay registered; the jobs come and go).
    assert cells[0] == "do_put_barn_field_v1" and all(c.isdigit() for c in cells[1:]), cells
    assert int(cells[3]) >= 1, cells
    assert browser.find_elements(By.CSS_SELECTOR, '#queue tr[data-function="do_get_barn_animal_v1"]')
    assert "Statuses:" in browser.find_element(By.ID, "statuses-by-state").text


def test_narrow_screen(stack, chromedriver, tmp_path):
    """On a phone-sized window nothing needs sideways scrolling."""
    status = submit(stack, "PUT", "/barn/v1/family/%s" % stackconf.unique("Arable"))
    driver = new_browser(chromedriver, tmp_path / "profile", width=380, height=800)
    try:
        open_list(driver, stack)
        wait(driver, lambda d: row(d, status), "the family in the list")
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        open_status(driver, stack, status)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#st-children > li.node"), "children")
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
    finally:
        driver.quit()
