"""The observer page in a real (headless) browser, against a live system.

The JSON API is tested in ``test_observer.py``; this checks the promise the
page makes to a person: it shows the running processes and the supervision
tree, live, and its *Kill* button kills a process, after which the tree
shows the supervisor's restart (a new pid for the same child), as Erlang's
observer does.

It needs Chromium, chromedriver and Selenium (``apt-get install chromium
chromium-driver``, ``pip install selenium``) and skips without them.  With
``ACTORS_SCREENSHOTS=1`` it also saves a screenshot of each page to
``docs/img/observer-<page>.png``.

The actors runtime runs in a background thread (its own event loop) while
the test thread drives the browser; the two talk through a ``queue.Queue``
(runtime -> test) and ``loop.call_soon_threadsafe(actors.send, ...)``
(test -> runtime).
"""
from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20                       # seconds: the longest any one browser wait may take
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
                allow_module_level=True)
pytest.importorskip("aiohttp")
pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import actors  # noqa: E402
from actors import observer  # noqa: E402

# The page re-renders its tables every second, so any element may go stale
# between finding it and reading it: every wait retries on that.
IGNORED = (NoSuchElementException, StaleElementReferenceException)


class Worker(actors.GenServer):
    def handle_call(self, request, from_):
        return request


# -- the runtime side (background thread) -------------------------------------------


async def load():
    """Some traffic for the System page's rates and chart (not synchronisation)."""
    while True:
        await Worker.call("worker_b", "ping")
        await actors.sleep(0.01)


def run_system(out: queue.Queue) -> None:
    """The actors runtime: a supervision tree and the observer, until "stop"."""

    async def main():
        children = [
            {"id": "worker_a", "start": (Worker.start_link, (), {"name": "worker_a"})},
            {"id": "worker_b", "start": (Worker.start_link, (), {"name": "worker_b"})},
        ]
        sup = await actors.Supervisor.start_link(children, strategy="one_for_one", name="top_sup")
        # Sample the rates four times a second so the System chart fills quickly.
        obs = await observer.start(host="127.0.0.1", port=0, interval=0.25)
        actors.spawn_link(load)
        try:
            out.put(("ready", {"url": obs.url, "sup": str(sup), "pid": actors.self(),
                               "loop": asyncio.get_running_loop()}))
            await actors.receive("stop")
        finally:
            await obs.stop()

    try:
        actors.run(main)
    except BaseException as exc:    # noqa: BLE001 - reported to the test thread
        out.put(("error", exc))
    else:
        out.put(("stopped", None))


# -- the browser side (test thread) -------------------------------------------------


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def system():
    """Start the runtime thread; yield its handles; stop it (even on failure)."""
    out: queue.Queue = queue.Queue()
    thread = threading.Thread(target=run_system, args=(out,), name="actors-runtime", daemon=True)
    thread.start()
    kind, value = out.get(timeout=WAIT)
    if kind != "ready":
        raise AssertionError(f"the actors runtime did not start: {value!r}")
    try:
        yield value
    finally:
        value["loop"].call_soon_threadsafe(actors.send, value["pid"], "stop")
        kind, error = out.get(timeout=WAIT)
        thread.join(timeout=WAIT)
        assert kind == "stopped", f"the actors runtime failed: {error!r}"


# True once the chart has lines: some pixel of the messages/s colour (#06c,
# give or take antialiasing).
CHART_DRAWN = """
const c = document.getElementById("chart");
const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
for (let i = 0; i < px.length; i += 4)
  if (px[i + 3] > 0 && px[i] < 80 && px[i + 2] > 150 && px[i + 2] - px[i + 1] > 60) return true;
return false;
"""


def wait(driver, condition, message):
    return WebDriverWait(driver, WAIT, poll_frequency=0.1,
                         ignored_exceptions=IGNORED).until(condition, message)


def open_tab(driver, name):
    driver.find_element(By.CSS_SELECTOR, f'nav button[data-tab="{name}"]').click()
    wait(driver, lambda d: d.find_element(By.ID, name).is_displayed(), f"the {name} tab did not open")


def click(driver, css, message):
    """Click the element matching ``css``, retrying while the page re-renders it."""
    def attempt(d):
        d.find_element(By.CSS_SELECTOR, css).click()
        return True
    wait(driver, attempt, message)


def tree_pid(driver, sup, child_id):
    """The pid the Tree tab shows for ``child_id`` under supervisor ``sup``."""
    li = driver.find_element(By.CSS_SELECTOR, f'#trees li[data-pid="{sup}"] li[data-id="{child_id}"]')
    return li.get_attribute("data-pid")


def running(pid, other_than=None):
    """``pid`` if the tree shows a running pid (not "restarting" or "") other
    than ``other_than``, else None (so a wait keeps waiting)."""
    return pid if pid.startswith("<") and pid != other_than else None


def screenshot(driver, tmp_path, page):
    path = tmp_path / f"observer-{page}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    assert path.stat().st_size > 0
    if os.environ.get("ACTORS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / f"observer-{page}.png")


@pytest.mark.timeout(120)
def test_page_shows_the_live_system_and_its_kill_button_makes_the_supervisor_restart(
        browser, system, tmp_path):
    """What a person sees: the Processes tab lists the registered workers, the
    Tree tab shows the supervisor with both children, Kill on worker_a's
    detail (after the confirmation dialog) kills it, and the live tree then
    shows worker_a under a NEW pid: the one_for_one supervisor restarted it
    (Erlang's observer: killing a supervised process from the GUI shows the
    restart)."""
    driver, sup = browser, system["sup"]
    driver.get(system["url"])
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#cards .card"),
         "the System tab shows no counters")

    # Processes: the registered workers are listed.
    open_tab(driver, "processes")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, '#rows tr[data-name="worker_a"]'),
         "the process table does not list worker_a")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, '#rows tr[data-name="worker_b"]'),
         "the process table does not list worker_b")

    # Tree: the supervisor and both workers, each with a pid.
    open_tab(driver, "tree")
    old_pid = wait(driver, lambda d: tree_pid(d, sup, "worker_b").startswith("<")
                   and "top_sup" in d.find_element(By.CSS_SELECTOR, f'#trees li[data-pid="{sup}"]').text
                   and running(tree_pid(d, sup, "worker_a")),
                   "the tree does not show top_sup with worker_a and worker_b running")
    screenshot(driver, tmp_path, "tree")

    # Processes: worker_a's detail, then Kill (and confirm).
    open_tab(driver, "processes")
    click(driver, f'#rows tr[data-pid="{old_pid}"]', f"could not click {old_pid}'s row")
    wait(driver, lambda d: d.find_element(By.ID, "detail").is_displayed()
         and old_pid in d.find_element(By.ID, "detail").text
         and d.find_element(By.ID, "kill"),
         f"no detail with a Kill button for {old_pid}")
    screenshot(driver, tmp_path, "processes")
    click(driver, "#detail #kill", "could not click Kill")
    alert = WebDriverWait(driver, WAIT).until(EC.alert_is_present(), "Kill asked no confirmation")
    assert old_pid in alert.text
    alert.accept()

    # Tree: worker_a is back, with a new pid; worker_b was left alone.
    open_tab(driver, "tree")
    new_pid = wait(driver, lambda d: running(tree_pid(d, sup, "worker_a"), other_than=old_pid),
                   f"the tree never showed worker_a restarted (it was {old_pid})")
    assert new_pid != old_pid

    # Names: both names, worker_a's at its new pid.
    open_tab(driver, "names")
    wait(driver, lambda d: "worker_a" in d.find_element(By.ID, "local").text
         and new_pid in d.find_element(By.ID, "local").text
         and "worker_b" in d.find_element(By.ID, "local").text,
         "the Names tab does not show worker_a (at its new pid) and worker_b")
    screenshot(driver, tmp_path, "names")

    # System: the counters and, by now, a chart of a few samples.
    open_tab(driver, "system")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cards .card")) >= 9,
         "the System tab shows no counters")
    wait(driver, lambda d: d.execute_script(CHART_DRAWN), "the System chart was never drawn")
    screenshot(driver, tmp_path, "system")
    assert "disconnected" not in driver.find_element(By.ID, "status").text
