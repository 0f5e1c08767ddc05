"""The observer page in a real (headless) Chromium, against a live system.

The JSON API is tested in ``test_observer.py`` and ``test_observer_views.py``;
this checks what the page promises a person: every view has an address
(deep links, the back button), the process page shows a server's state
(through ``format_status``), its stack, mailbox and links, and its buttons
kill (with a reason), suspend, resume and trace; the supervision graph shows
the restart a kill causes; the System charts are drawn; registries, names
and nodes have their views; the page works in a narrow window and follows
the system's dark mode.

It needs Chromium, chromedriver and Selenium (``apt-get install chromium
chromium-driver``, ``pip install selenium``) and skips without them.  With
``ACTORS_SCREENSHOTS=1`` it also saves a screenshot of each view to
``docs/img/observer-<view>.png`` (the README's pictures; in 256 colours if
Pillow is installed).

The actors runtime runs in a background thread (its own event loop) while
the test thread drives the browser; the two talk through a ``queue.Queue``
(runtime -> test), ``loop.call_soon_threadsafe(actors.send, ...)`` (test ->
runtime) and the observer's own JSON API.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import secrets
import shutil
import threading
import urllib.request
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
    JavascriptException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import actors  # noqa: E402
from actors import observer  # noqa: E402
from helpers import PyEpmd, start_inventory  # noqa: E402

# The page re-renders its views every second, so any element may go stale
# between finding it and reading it: every wait retries on that.
IGNORED = (NoSuchElementException, StaleElementReferenceException, JavascriptException)


class Worker(actors.GenServer):
    def init(self, n=0):
        self.n = n

    def handle_call(self, request, from_):
        self.n += 1
        return ("pong", self.n)


class Vault(actors.GenServer):
    def init(self):
        self.owner = "ada"
        self.password = "hunter2"

    def handle_call(self, request, from_):
        return self.owner

    def format_status(self, status):
        status["state"] = {**status["state"], "password": "***"}
        return status


# -- the runtime side (background thread) -------------------------------------------


async def load():
    """Traffic for the charts and the traces (not synchronisation)."""
    while True:
        for name in ("worker_b", "tracee"):
            try:
                await Worker.call(name, "ping", timeout=1)
            except Exception:       # noqa: BLE001, S110 - restarting, suspended: keep going
                pass
        await actors.sleep(0.02)


async def member(key):
    actors.Registry.register("rooms", key, {"topic": key.upper()})
    await actors.receive("never")


async def call_peer(inventory):
    """Traffic over the link to the peer node (for its charts; not synchronisation)."""
    while True:
        try:
            await actors.GenServer.call(inventory, "count", timeout=2)
        except Exception:           # noqa: BLE001, S110 - keep going
            pass
        await actors.sleep(0.05)


def run_system(out: queue.Queue, epmd_port: int) -> None:
    """The actors runtime: supervision trees, a registry, a peer node running an
    ``Inventory`` and the observer, until "stop"."""

    async def main():
        await actors.Node.start("obsbrowser@127.0.0.1", cookie=secrets.token_hex(16),
                                epmd_port=epmd_port)
        owner, peer = await actors.peer.start_link()
        await actors.Node.spawn(peer, start_inventory, "inventory", actors.self())
        _, inventory = await actors.receive(("inventory", actors.ANY), timeout=WAIT)
        actors.spawn_link(call_peer, inventory)
        await actors.Registry.start_link(keys="unique", name="rooms")
        inner = actors.Supervisor.child_spec(actors.Supervisor.child_spec([
            {"id": "cache", "start": (Worker.start_link, (), {"name": "cache"})},
        ], strategy="one_for_all"), id="storage")
        children = [
            {"id": "worker_a", "start": (Worker.start_link, (), {"name": "worker_a"})},
            {"id": "worker_b", "start": (Worker.start_link, (), {"name": "worker_b"})},
            {"id": "tracee", "start": (Worker.start_link, (), {"name": "tracee"})},
            {"id": "sleepy", "start": (Worker.start_link, (), {"name": "sleepy"})},
            {"id": "vault", "start": (Vault.start_link, (), {"name": "vault"})},
            inner,
            {"id": "pool", "start": (actors.DynamicSupervisor.start_link, (), {"name": "pool"}),
             "type": "supervisor"},
        ]
        sup = await actors.Supervisor.start_link(children, strategy="one_for_one", name="top_sup",
                                                 max_restarts=100)
        for i in range(2):
            await actors.DynamicSupervisor.start_child("pool", Worker.child_spec(i))
        for key in ("lobby", "kitchen"):
            actors.spawn(member, key)
        # Sample four times a second so that the charts fill quickly.
        obs = await observer.start(host="127.0.0.1", port=0, interval=0.25)
        actors.spawn_link(load)
        try:
            out.put(("ready", {"url": obs.url, "port": obs.port, "token": obs.token,
                               "sup": str(sup), "pid": actors.self(), "peer": peer,
                               "inventory": str(inventory).split(".")[1],
                               "loop": asyncio.get_running_loop()}))
            await actors.receive("stop")
        finally:
            await obs.stop()
            await actors.peer.stop(owner)

    try:
        actors.run(main)
    except BaseException as exc:    # noqa: BLE001 - reported to the test thread
        out.put(("error", exc))
    else:
        out.put(("stopped", None))


@pytest.fixture(scope="module")
def system():
    """Start the runtime thread; yield its handles; stop it (even on failure)."""
    epmd = PyEpmd()
    out: queue.Queue = queue.Queue()
    thread = threading.Thread(target=run_system, args=(out, epmd.port), name="actors-runtime",
                              daemon=True)
    thread.start()
    try:
        kind, value = out.get(timeout=2 * WAIT)
        if kind != "ready":
            raise AssertionError(f"the actors runtime did not start: {value!r}")
        value["base"] = f"http://127.0.0.1:{value['port']}"
        try:
            yield value
        finally:
            value["loop"].call_soon_threadsafe(actors.send, value["pid"], "stop")
            kind, error = out.get(timeout=WAIT)
            thread.join(timeout=WAIT)
            assert kind == "stopped", f"the actors runtime failed: {error!r}"
    finally:
        epmd.stop()


def api(system, path):
    """The observer's JSON API, from the test thread."""
    req = urllib.request.Request(system["base"] + path,
                                 headers={"Authorization": f"Bearer {system['token']}"})
    with urllib.request.urlopen(req, timeout=WAIT) as resp:
        return json.load(resp)


def number_of(system, name):
    """The pid number of a registered process (from the observer's name list)."""
    for entry in api(system, "/api/names")["local"]:
        if entry["name"] == name:
            return entry["pid"].split(".")[1]
    raise AssertionError(f"{name} is not registered")


# -- the browser side (test thread) -------------------------------------------------


def make_driver(tmp_path, size="1280,860"):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--window-size={size}",
                "--force-device-scale-factor=1", "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = make_driver(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, message):
    return WebDriverWait(driver, WAIT, poll_frequency=0.1,
                         ignored_exceptions=IGNORED).until(condition, message)


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def click(driver, selector, message):
    """Click the element matching ``selector``, retrying while the page re-renders it."""
    def attempt(d):
        css(d, selector).click()
        return True
    wait(driver, attempt, message)


def path_of(driver):
    return driver.execute_script("return location.pathname + location.search")


def open_page(driver, system, path):
    """Open ``path`` with the token (as the printed URL does)."""
    sep = "&" if "?" in path else "?"
    driver.get(f"{system['base']}{path}{sep}token={system['token']}")


def screenshot(driver, tmp_path, page):
    path = tmp_path / f"observer-{page}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    assert path.stat().st_size > 0
    if os.environ.get("ACTORS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        target = DOCS_IMG / f"observer-{page}.png"
        try:                        # 256 colours: a third of the size, the same picture
            from PIL import Image
        except ImportError:
            shutil.copyfile(path, target)
        else:
            with Image.open(path) as image:
                image.convert("RGB").quantize(256).save(target, optimize=True)


def tree_node(driver, child_id):
    """(pid, restarts, classes) of a child as the supervision graph draws it."""
    node = css(driver, f'#tree-graph g.node[data-id="{child_id}"]')
    return node.get_attribute("data-pid"), int(node.get_attribute("data-restarts")), \
        node.get_attribute("class")


# -- the tests -----------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_deep_links_and_the_back_button(browser, system, tmp_path):
    """Every view has an address: a filter given in the URL filters the table,
    the token leaves the address bar, a row opens the process's own page at
    /processes/N, Back and Forward walk the views, an old-style #fragment
    still lands on its view, and a link opened later needs no token (the
    cookie carries it)."""
    driver = browser
    open_page(driver, system, "/processes?filter=worker_a")
    wait(driver, lambda d: [r.get_attribute("data-name") for r in d.find_elements(By.CSS_SELECTOR, "#rows tr")]
         == ["worker_a"], "the filter from the URL did not filter the table")
    assert path_of(driver) == "/processes?filter=worker_a"
    assert css(driver, "#filter").get_attribute("value") == "worker_a"
    assert css(driver, 'nav a[data-tab="processes"]').get_attribute("class") == "on"

    number = number_of(system, "worker_a")
    click(driver, '#rows tr[data-name="worker_a"] td:nth-child(3)', "could not click worker_a's row")
    wait(driver, lambda d: path_of(d) == f"/processes/{number}", "the row did not open /processes/N")
    wait(driver, lambda d: css(d, "#proc-pid").text == f"<0.{number}.0>", "no process page")

    click(driver, 'nav a[data-tab="tree"]', "could not open the Supervision tab")
    wait(driver, lambda d: css(d, "#tree-graph"), "no supervision graph")
    driver.back()
    wait(driver, lambda d: path_of(d) == f"/processes/{number}" and css(d, "#proc-pid"),
         "Back did not return to the process page")
    driver.back()
    wait(driver, lambda d: path_of(d) == "/processes?filter=worker_a"
         and css(d, '#rows tr[data-name="worker_a"]'), "Back did not return to the filtered table")
    driver.forward()
    wait(driver, lambda d: path_of(d) == f"/processes/{number}", "Forward did not work")

    driver.get(f"{system['base']}/system#processes")          # no token: the cookie has it
    wait(driver, lambda d: path_of(d) == "/processes" and css(d, "#rows tr"),
         "the #processes fragment did not open the Processes view")
    driver.get(f"{system['base']}/tree?root=top_sup")
    wait(driver, lambda d: css(d, '#roots a.on').text.startswith("top_sup"), "no deep link to a tree")


@pytest.mark.timeout(120)
def test_a_process_page_shows_state_stack_mailbox_and_links(browser, system, tmp_path):
    """A server's page: its state through format_status (the password hidden),
    where it waits in its own class, its library frames folded away, its
    links as links (the supervisor's page is one click away)."""
    driver = browser
    number = number_of(system, "vault")
    open_page(driver, system, f"/processes/{number}")
    wait(driver, lambda d: "owner" in css(d, "#state-kv").text and "'***'" in css(d, "#state-kv").text,
         "the state is not shown")
    assert "hunter2" not in driver.page_source
    overview = css(driver, "#overview").text
    assert "Vault: waiting for a message" in overview and "gen_server.py" not in overview
    assert "$gen_server" not in driver.page_source and "_loop" not in css(driver, "#stack").text.split("frames of the library")[0]
    screenshot(driver, tmp_path, "process")
    click(driver, f'#links a[data-pid="{system["sup"]}"]', "no link to the supervisor")
    wait(driver, lambda d: css(d, "#proc-pid").text == system["sup"], "the link did not open the supervisor")
    wait(driver, lambda d: "Supervisor: waiting for a message" in css(d, "#overview").text,
         "the supervisor's page")


@pytest.mark.timeout(120)
def test_kill_with_a_reason_shows_the_restart_in_the_tree_graph(browser, system, tmp_path):
    """Kill worker_a with reason "shutdown" from its page (after the
    confirmation); the graph then draws worker_a under a new pid, its restart
    count up by one and flashing, and the restarts table gives the reason."""
    driver = browser
    open_page(driver, system, "/tree?root=top_sup")
    old_pid, restarts, _ = wait(driver, lambda d: tree_node(d, "worker_a"), "no worker_a in the graph")
    assert old_pid.startswith("<") and css(driver, '#tree-graph g.node.sup[data-id="storage"]')
    assert css(driver, '#tree-graph g.node[data-id=""]')                 # the pool's dynamic children
    click(driver, '#tree-graph g.node[data-id="worker_a"]', "could not click worker_a in the graph")
    wait(driver, lambda d: css(d, "#proc-pid").text == old_pid and css(d, "#kill"),
         "the graph's node did not open worker_a's page")
    reason = css(driver, "#kill-reason")
    reason.clear()
    reason.send_keys("shutdown")
    click(driver, "#kill", "could not click Kill")
    alert = WebDriverWait(driver, WAIT).until(EC.alert_is_present(), "Kill asked no confirmation")
    assert old_pid in alert.text and "shutdown" in alert.text
    alert.accept()
    wait(driver, lambda d: css(d, "#gone"), "the page did not say the process is gone")

    click(driver, 'nav a[data-tab="tree"]', "could not open the Supervision tab")
    def restarted(d):
        node = tree_node(d, "worker_a")
        return node if node[0].startswith("<") and node[0] != old_pid else None

    new = wait(driver, restarted, "the graph never showed worker_a restarted")
    assert new[1] == restarts + 1 and "flash" in new[2]
    wait(driver, lambda d: "'shutdown'" in css(d, '#restarts tr[data-id="worker_a"]').text,
         "the restarts table does not give the reason")
    screenshot(driver, tmp_path, "tree")


@pytest.mark.timeout(120)
def test_suspend_and_resume_buttons(browser, system, tmp_path):
    """Suspend turns into Resume and the page says "suspended"; Resume brings it back."""
    driver = browser
    open_page(driver, system, f"/processes/{number_of(system, 'sleepy')}")
    click(driver, "#suspend", "no Suspend button")
    wait(driver, lambda d: css(d, "#resume") and "suspended" in css(d, ".proc-title").text,
         "the page does not show the server suspended")
    click(driver, "#resume", "no Resume button")
    wait(driver, lambda d: css(d, "#suspend") and "suspended" not in css(d, ".proc-title").text,
         "the page does not show the server resumed")


@pytest.mark.timeout(120)
def test_trace_shows_messages_live_and_stops(browser, system, tmp_path):
    """Trace on a busy server: its calls (in) and replies (out) appear live, the
    Tracing view lists it; Stop ends it (and sys.trace is off again)."""
    driver = browser
    number = number_of(system, "tracee")
    open_page(driver, system, f"/processes/{number}")
    click(driver, "#trace-start", "no Trace button")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, '#trace-events tr.trace-event[data-dir="in"]')) >= 2
         and d.find_elements(By.CSS_SELECTOR, '#trace-events tr.trace-event[data-dir="out"]'),
         "no traced messages appeared")
    first = css(driver, '#trace-events tr.trace-event[data-dir="in"]').text
    assert "call" in first and "'ping'" in first
    screenshot(driver, tmp_path, "trace")
    click(driver, 'nav a[data-tab="tracing"]', "could not open the Tracing tab")
    wait(driver, lambda d: css(d, f'#traces tr[data-pid="<0.{number}.0>"]'), "the Tracing view does not list it")
    driver.back()
    click(driver, "#trace-stop", "no Stop trace button")
    wait(driver, lambda d: css(d, "#trace-start") and "stopped" in css(d, "#trace-state").text,
         "the trace did not stop")
    assert api(system, "/api/traces") == []
    assert api(system, f"/api/processes/{number}/state")["trace"] is False


@pytest.mark.timeout(120)
def test_system_view_draws_its_charts(browser, system, tmp_path):
    """The System view: its counters, versions, memory by kind, and charts over
    time (messages and reductions, scheduler use, loop lag...) with lines."""
    driver = browser
    open_page(driver, system, "/system")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cards .card")) >= 12, "no counters")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-chart="throughput"] polyline.line')
         and d.find_elements(By.CSS_SELECTOR, '[data-chart="lag"] polyline.line'), "the charts were never drawn")
    assert "Python" in css(driver, "#versions").text and "event loop" in css(driver, "#versions").text
    assert "processes" in css(driver, "#memory").text
    screenshot(driver, tmp_path, "system")
    open_page(driver, system, "/processes")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#rows tr[data-name="worker_b"] svg.spark polyline'),
         "no sparkline for a busy process")
    screenshot(driver, tmp_path, "processes")


@pytest.mark.timeout(120)
def test_names_and_registries(browser, system, tmp_path):
    """Names lists the registered names and the registries; a registry's page
    lists its keys, owners and values (filterable)."""
    driver = browser
    open_page(driver, system, "/names")
    wait(driver, lambda d: "worker_a" in css(d, "#local").text and css(d, '#registry-rows tr[data-registry="rooms"]'),
         "no names or registries")
    click(driver, '#registry-rows tr[data-registry="rooms"] a', "no link to the registry")
    wait(driver, lambda d: {r.get_attribute("data-key") for r in d.find_elements(By.CSS_SELECTOR, "#entries tr")}
         == {"'lobby'", "'kitchen'"}, "the registry's entries are not listed")
    assert "{'topic': 'LOBBY'}" in css(driver, "#entries").text
    screenshot(driver, tmp_path, "registry")
    search = css(driver, "#registry-filter")
    search.send_keys("kitch")
    wait(driver, lambda d: [r.get_attribute("data-key") for r in d.find_elements(By.CSS_SELECTOR, "#entries tr")]
         == ["'kitchen'"] and path_of(d).endswith("?filter=kitch"), "the filter did not apply")



@pytest.mark.timeout(120)
def test_nodes_and_another_nodes_processes(browser, system, tmp_path):
    """Nodes lists the peer with its link's traffic (a sparkline of bytes per
    second each way); its "processes" link browses the peer's own process
    table, and a row opens that process's page there: its state through its
    ``format_status`` (the secret hidden), read only (no actions); the back
    button returns to the peer's table."""
    driver = browser
    peer = system["peer"]
    open_page(driver, system, "/nodes")
    row = f'#node-rows tr[data-node="{peer}"]'
    wait(driver, lambda d: css(d, row + ' td[data-col="out"] svg.spark polyline'),
         "no traffic sparkline for the peer")
    assert "/s" in css(driver, row + ' td[data-col="in"]').text
    screenshot(driver, tmp_path, "nodes")
    click(driver, row + " a.browse", "no link to the peer's processes")
    wait(driver, lambda d: path_of(d) == f"/nodes/{peer}/processes", "the address is not the peer's table")
    wait(driver, lambda d: css(d, '#rows tr[data-name="inventory"]'), "the peer's table has no inventory")
    assert css(driver, "#browsed-node").text == peer
    wait(driver, lambda d: css(d, '#node-summary [data-card="processes"] .v').text not in ("", "-"),
         "no summary of the peer")
    screenshot(driver, tmp_path, "remote-processes")
    click(driver, '#rows tr[data-name="inventory"]', "cannot open the peer's process")
    wait(driver, lambda d: path_of(d) == f"/nodes/{peer}/processes/{system['inventory']}",
         "the address is not the peer's process")
    wait(driver, lambda d: "api_key" in css(d, "#state-kv").text, "no state of the peer's server")
    state = css(driver, "#state-kv").text
    assert "'***'" in state and "sk-secret" not in state and "apples" in state
    assert css(driver, "#on-node").text == "on " + peer
    assert not css(driver, "#kill").is_displayed()          # read only
    screenshot(driver, tmp_path, "remote-process")
    driver.back()
    wait(driver, lambda d: path_of(d) == f"/nodes/{peer}/processes" and css(d, '#rows tr[data-name="inventory"]'),
         "the back button did not return to the peer's table")


@pytest.mark.timeout(120)
def test_narrow_window_and_dark_mode(system, tmp_path):
    """In a phone-sized window nothing overflows sideways (the tables scroll in
    their panels); with the system in dark mode the page is dark."""
    driver = make_driver(tmp_path, size="420,900")
    try:
        fits = "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        peer = system["peer"]
        for view, ready in (("/processes", "#rows tr"), ("/tree?root=top_sup", "#tree-graph"),
                            ("/system", "#cards .card"), (f"/processes/{number_of(system, 'vault')}", "#state-kv"),
                            ("/nodes", f'#node-rows tr[data-node="{peer}"]'),
                            (f"/nodes/{peer}/processes", '#rows tr[data-name="inventory"]'),
                            (f"/nodes/{peer}/processes/{system['inventory']}", "#state-kv")):
            open_page(driver, system, view)
            wait(driver, lambda d, ready=ready: css(d, ready), f"{view} did not show")
            assert driver.execute_script(fits), f"{view} overflows a narrow window"
        assert css(driver, 'nav a[data-tab="tree"]').is_displayed()
        open_page(driver, system, "/processes")
        wait(driver, lambda d: css(d, "#rows tr"), "no table")
        screenshot(driver, tmp_path, "narrow")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        open_page(driver, system, "/tree?root=top_sup")
        wait(driver, lambda d: css(d, "#tree-graph"), "no graph")
        rgb = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        r, g, b = (int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
        assert r + g + b < 120, rgb
        screenshot(driver, tmp_path, "dark")
    finally:
        driver.quit()
