"""The demo chat page and the operations dashboard in a real headless Chromium, driven over the DevTools
protocol: two people chat, the page stays on one socket through a handler swap and a binary upgrade, it
reconnects and recovers history after the server was killed, the dashboard shows the server and upgrades it.
Screenshots go to $HOLDFAST_TEST_OUTPUT/pages (default .test-output/pages)."""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cdp import Browser, chromium_path
from conftest import ROOT, start_server, process_alive
from phx import Phoenix, sign_token
from test_binary_upgrade import variant_binary  # noqa: F401  (fixture)
from test_upgrade import v2_plugin  # noqa: F401  (fixture)

SECRET = "p" * 48
ADMIN_TOKEN = "pages-admin-token"
STATUS = "document.querySelector('[data-testid=connection-status]').textContent"
MESSAGES = "[...document.querySelectorAll('[data-testid=message-list] > li')].map(e => e.textContent)"
PRESENCE = "[...document.querySelectorAll('[data-testid=presence-list] > li')].map(e => e.textContent)"


@pytest.fixture(scope="session")
def output_dir():
    directory = Path(os.environ.get("HOLDFAST_TEST_OUTPUT", ROOT / ".test-output")) / "pages"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: scripts/setup.sh installs Debian's chromium")
    started = Browser(executable)
    yield started
    started.close()


@pytest.fixture
def pages(browser):
    """Opens pages; closes them after the test (the browser stays)."""
    opened = []

    def open_page(url):
        page = browser.new_page(url)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        try:
            page.call("Page.close")
        except Exception:
            pass
        page.close()


def server_env(extra=None):
    env = {"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN_TOKEN, "HOLDFAST_LOG_LEVEL": "info",
           "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000"}
    env.update(extra or {})
    return env


def admin(server, method, path, body=None, token=ADMIN_TOKEN, timeout=60):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def open_demo(pages, server, user):
    page = pages(f"http://127.0.0.1:{server.port}/?user={user}")
    page.wait_for(f"{STATUS} === 'connected'")
    # Every change of the connection status, kept by the page itself from now on.
    page.evaluate("""(() => {
        const element = document.querySelector('[data-testid=connection-status]');
        window.statusLog = [element.textContent];
        new MutationObserver(() => window.statusLog.push(element.textContent))
            .observe(element, {childList: true, characterData: true, subtree: true});
    })()""")
    return page


def send(page, text):
    page.type("[data-testid=message-input]", text)
    page.click("[data-testid=send-button]")


def wait_for_message(page, text, timeout=15):
    page.wait_for(f"{MESSAGES}.some(t => t.includes({json.dumps(text)}))", timeout=timeout)


def test_two_pages_see_each_other_chat_and_type(server_factory, pages, output_dir):
    server = server_factory(server_env())
    ada = open_demo(pages, server, "ada")
    grace = open_demo(pages, server, "grace")
    for page in (ada, grace):
        page.wait_for(f"{PRESENCE}.length === 2")
        people = page.evaluate(PRESENCE)
        assert any("ada" in entry and "1 device" in entry for entry in people), people
        assert any("grace" in entry for entry in people), people

    send(ada, "hello from ada")
    wait_for_message(grace, "hello from ada")
    wait_for_message(ada, "hello from ada")

    grace.type("[data-testid=message-input]", "typing a rep")
    ada.wait_for("document.querySelector('[data-testid=typing]').textContent.includes('grace is typing')")
    grace.click("[data-testid=send-button]")
    wait_for_message(ada, "typing a rep")

    # A second tab of ada's is a second device of the same user.
    third = open_demo(pages, server, "ada")
    grace.wait_for(f"{PRESENCE}.some(t => t.includes('ada') && t.includes('2 devices'))")
    grace.wait_for("window.holdfastDemo.lastPresenceDiffAt !== null")
    third.call("Page.close")

    attack = '<img src=x onerror="window.pwned=1">'
    send(grace, attack)
    wait_for_message(ada, attack)
    assert ada.evaluate("document.querySelector('[data-testid=message-list] img') === null")
    assert ada.evaluate("window.pwned === undefined")
    assert ada.evaluate(f"{MESSAGES}.filter(t => t.includes('onerror')).length") == 1

    assert ada.evaluate("document.querySelector('[data-testid=message-list]').getAttribute('role')") == "log"
    assert ada.evaluate("document.querySelector('[data-testid=presence-list]').getAttribute('role')") == "list"
    assert ada.evaluate("document.querySelector('label[for=message-input]') !== null")
    assert ada.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert ada.evaluate("document.querySelector('[data-testid=server-version]').textContent").startswith(
        "handlers 1.0.0 · pid ")
    assert ada.evaluate("window.holdfastDemo.socketOpens") == 1
    assert ada.evaluate("window.holdfastDemo.messagesReceived") >= 3

    ada.set_width(1280, 720)
    time.sleep(0.3)
    ada.screenshot(output_dir / "demo-desktop.png")
    grace.set_width(360, 740)
    time.sleep(0.3)
    assert grace.evaluate("document.documentElement.scrollWidth") <= 360
    assert grace.evaluate("document.querySelector('[data-testid=send-button]').getBoundingClientRect().right") <= 360
    grace.screenshot(output_dir / "demo-360.png")
    for page in (ada, grace):
        assert page.problems() == [], page.problems()


def test_pages_send_a_content_security_policy_and_the_demo_can_be_switched_off(server_factory):
    server = server_factory(server_env())
    paths = ["/", "/demo/demo.js", "/demo/phoenix-client.js", "/demo/presence.js", "/demo/dom.js", "/demo/demo.css"]
    for path in paths:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
            assert response.headers["Content-Security-Policy"] == "default-src 'self'", path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/admin/", timeout=5) as response:
        assert response.headers["Content-Security-Policy"] == "default-src 'self'"
        assert b"<script type=\"module\" src=\"/admin/dashboard.js\">" in response.read()
    status, _ = admin(server, "GET", "/admin/stats", token="wrong")
    assert status == 401

    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/demo/token", method="POST",
                                     data=b'{"user": "  lin  "}')
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["user"] == "lin" and answer["expires_in"] <= 900
    client = Phoenix(server, token=answer["token"])
    assert client.join("room:lobby")["payload"]["status"] == "ok"
    client.close()
    bad = urllib.request.Request(f"http://127.0.0.1:{server.port}/demo/token", method="POST", data=b'{"user": ""}')
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=5)
    assert refused.value.code == 400
    # The bucket holds 20; a burst past it is refused with 429.
    codes = []
    for _ in range(25):
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{server.port}/demo/token", method="POST", data=b'{"user": "x"}'), timeout=5)
            codes.append(200)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    assert 429 in codes and codes.count(200) <= 20

    off = server_factory(server_env({"HOLDFAST_DEMO_PAGE": "false"}))
    for path, method in (("/", "GET"), ("/demo/token", "POST")):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{off.port}{path}", method=method, data=b"{}" if method == "POST" else None), timeout=5)
        assert missing.value.code == 404


def test_the_page_stays_on_one_socket_through_a_handler_swap_and_a_binary_upgrade(
        server_factory, pages, v2_plugin, variant_binary, output_dir):  # noqa: F811
    server = server_factory(server_env())
    ada = open_demo(pages, server, "ada")
    grace = open_demo(pages, server, "grace")
    first_pid = ada.evaluate("window.holdfastDemo.pid")
    assert first_pid == server.process.pid
    # Each page sends a numbered message every 100 ms through its own form while the upgrades run.
    sender = """(prefix) => { let n = 0; window.sent = [];
        window.sender = setInterval(() => {
            n += 1; const text = `${prefix}-${n}`; window.sent.push(text);
            document.querySelector('[data-testid=message-input]').value = text;
            document.getElementById('composer').requestSubmit();
        }, 100); }"""
    ada.evaluate(f"({sender})('ada')")
    grace.evaluate(f"({sender})('grace')")
    time.sleep(0.5)

    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin})
    assert status == 200, answer
    for page in (ada, grace):
        page.wait_for("document.querySelector('[data-testid=server-version]').textContent.includes('handlers 2.0.0')")
    time.sleep(0.5)
    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200, answer
    new_pid = answer["new_pid"]
    assert new_pid != first_pid
    for page in (ada, grace):
        page.wait_for(f"window.holdfastDemo.pid === {new_pid}")
    time.sleep(0.5)
    for page in (ada, grace):
        page.evaluate("clearInterval(window.sender)")
    sent = {name: page.evaluate("window.sent") for name, page in (("ada", ada), ("grace", grace))}
    assert len(sent["ada"]) > 10 and len(sent["grace"]) > 10

    expected = [text for texts in sent.values() for text in texts]
    for page in (ada, grace):
        page.wait_for(f"{MESSAGES}.length >= {len(expected)}", timeout=20)
        bodies = page.evaluate("[...document.querySelectorAll('[data-testid=message-list] .body')]"
                               ".map(e => e.textContent)")
        assert sorted(bodies) == sorted(expected), "a message is missing or doubled"
        for name in sent:
            assert [body for body in bodies if body.startswith(name + "-")] == sent[name], "out of order"
        assert page.evaluate("window.holdfastDemo.socketOpens") == 1
        assert set(page.evaluate("window.statusLog")) == {"connected"}
        assert page.evaluate(STATUS) == "connected"
        text = page.evaluate("document.querySelector('[data-testid=server-version]').textContent")
        assert "handlers 2.0.0" in text and f"pid {new_pid}" in text
    ada.screenshot(output_dir / "demo-after-upgrades.png")


def test_the_page_reconnects_after_kill_9_and_recovers_missed_history(tmp_path, pages, output_dir):
    env = server_env({"HOLDFAST_STATE_DIR": str(tmp_path / "state")})
    server = start_server(env)
    try:
        ada = open_demo(pages, server, "ada")
        send(ada, "before the crash")
        wait_for_message(ada, "before the crash")
        port = server.port
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        ada.wait_for(f"{STATUS} === 'reconnecting'")
        # Offline while the server comes back, so that a message is certainly missed, not seen live.
        ada.set_offline(True)
        server = start_server({**env, "HOLDFAST_LISTEN": f"127.0.0.1:{port}"})
        other = Phoenix(server, token=sign_token(SECRET.encode(), "lin"))
        join = other.join("room:lobby")
        ref = other.push("room:lobby", "new_msg", {"body": "sent while ada was away"}, join_ref=join["join_ref"])
        assert other.reply_to(ref)["payload"]["status"] == "ok"
        time.sleep(1)
        assert ada.evaluate(STATUS) == "offline"  # the browser itself has no network now
        assert not ada.evaluate(f"{MESSAGES}.some(t => t.includes('while ada was away'))")
        ada.set_offline(False)
        ada.wait_for(f"{STATUS} === 'connected'", timeout=20)
        wait_for_message(ada, "sent while ada was away")
        bodies = ada.evaluate(MESSAGES)
        assert sum("before the crash" in body for body in bodies) == 1
        assert ada.evaluate("window.holdfastDemo.socketOpens") == 2
        log = ada.evaluate("window.statusLog")
        assert log[0] == "connected" and log[-1] == "connected", log
        assert log.index("reconnecting") < log.index("offline") < len(log) - 1, log
        assert ada.evaluate("window.holdfastDemo.pid") == server.process.pid
        ada.screenshot(output_dir / "demo-after-restart.png")
        other.close()
    finally:
        server.stop()


def test_the_dashboard_logs_in_shows_the_server_and_upgrades_the_handlers(
        server_factory, pages, v2_plugin, output_dir):  # noqa: F811
    server = server_factory(server_env())
    ada = open_demo(pages, server, "ada")
    grace = open_demo(pages, server, "grace")
    send(ada, "for the charts")
    board = pages(f"http://127.0.0.1:{server.admin_port}/admin/")
    board.call("Network.enable")
    board.type("[data-testid=token-input]", "not the token")
    board.click("[data-testid=login-button]")
    board.wait_for("document.getElementById('login-error').textContent.includes('refused')")
    board.type("[data-testid=token-input]", ADMIN_TOKEN)
    board.click("[data-testid=login-button]")
    board.wait_for("window.holdfastDashboard.polls >= 2")
    assert board.evaluate("sessionStorage.getItem('holdfastAdminToken')") == ADMIN_TOKEN
    assert ADMIN_TOKEN not in board.evaluate("location.href")

    text = lambda testid: board.evaluate(f"document.querySelector('[data-testid={testid}]').textContent")  # noqa: E731
    board.wait_for("document.querySelector('[data-testid=connections]').textContent === '2'")
    assert text("connections-split") == "2 / 0"
    assert text("pid") == str(server.process.pid)
    assert text("handlers").startswith("1.0.0")
    board.wait_for("document.querySelector('[data-testid=rooms-table]').textContent.includes('room:lobby2')")
    assert board.evaluate("document.querySelectorAll('[data-testid=loops] li').length") == 2

    board.type("[data-testid=handlers-path]", v2_plugin)
    board.click("[data-testid=upgrade-handlers-button]")
    assert v2_plugin in text("confirm-text")
    board.click("[data-testid=confirm-button]")
    board.wait_for("document.querySelector('[data-testid=action-result]').textContent.includes('1.0.0 → 2.0.0')",
                   timeout=60)
    board.wait_for("document.querySelector('[data-testid=upgrades-table]').textContent.includes('1.0.0 → 2.0.0')")
    row = board.evaluate("[...document.querySelectorAll('[data-testid=upgrades-table] tr')[0].cells]"
                         ".map(c => c.textContent)")
    assert row[0] == "upgrade" and row[2] == "ok" and float(row[3]) >= 0, row
    board.wait_for("document.querySelector('[data-testid=handlers]').textContent.startsWith('2.0.0')")
    for page in (ada, grace):
        page.wait_for("document.querySelector('[data-testid=server-version]').textContent.includes('2.0.0')")
        assert page.evaluate("window.holdfastDemo.socketOpens") == 1

    # Every call the page made carried the token in a header; none put it in a URL.
    urls = [event["params"]["request"]["url"] for event in board.events
            if event["method"] == "Network.requestWillBeSent"]
    assert all(ADMIN_TOKEN not in url for url in urls)
    send(grace, "after the swap")
    board.evaluate("document.querySelector('[data-testid=handlers-path]').value = ''")
    board.wait_for("window.holdfastDashboard.polls >= 6")
    board.set_width(1280, 1100)
    time.sleep(1.2)
    board.screenshot(output_dir / "dashboard.png")
    board.set_width(360, 800)
    time.sleep(0.3)
    assert board.evaluate("document.documentElement.scrollWidth") <= 360
    board.screenshot(output_dir / "dashboard-360.png")
    # The one refused login is the only error the console saw.
    problems = board.problems()
    assert [problem for problem in problems if "401" not in problem] == [] and len(problems) == 1, problems
