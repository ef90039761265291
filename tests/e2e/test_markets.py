"""The app's live markets in its real window, against the stand-in Coinbase Exchange (REST and
websocket on 127.0.0.1): the person adds BTC/USD to the Watchlist and sees its live price, the
stream's state and a sparkline; creates an alert on the Alerts screen that holds at once, and
sees it fire — in the fired history and as a desktop notification (the private session bus
records the Notify call)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_app import desktop, wait_for  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def coinbase():
    path = os.environ.get("QUANTDESK_COINBASE_STANDIN_BIN") or str(ROOT / "target" / "debug" / "quantdesk-coinbase-standin")
    if not Path(path).exists():
        pytest.fail(f"stand-in binary not found at {path}; cargo xtask test builds it")
    proc = subprocess.Popen([path, "--tick-ms", "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    rest, ws = proc.stdout.readline().strip(), proc.stdout.readline().strip()
    assert rest.startswith("http://127.0.0.1:") and ws.startswith("ws://127.0.0.1:"), (rest, ws)
    yield rest, ws
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def desktop_env(coinbase):
    rest, ws = coinbase
    return {"QUANTDESK_COINBASE_REST_URL": rest, "QUANTDESK_COINBASE_WS_URL": ws}


def onboard(wd):
    wd.wait('[data-testid="onboarding-welcome"]')
    wd.click('[data-testid="start"]')
    wd.wait('[data-testid="onboarding-sign_in"]')
    wd.click('[data-testid="guest"]')
    wd.wait('[data-testid="onboarding-broker"]')
    wd.click('[data-testid="broker-paper"]')
    wd.wait('[data-testid="onboarding-limits"]')
    wd.click('[data-testid="save-limits"]')
    wd.wait('[data-testid="onboarding-claude"]')
    wd.click("button", text="Skip for now")
    wd.wait('[data-testid="onboarding-done"]')
    wd.click('[data-testid="finish"]')


def test_the_watchlist_streams_and_an_alert_fires_with_a_notification(desktop):
    wd, home, data = desktop
    onboard(wd)
    wd.click('[data-testid="nav-watchlist"]')
    wd.type('[data-testid="watch-input"]', "BTC/USD")
    wd.click('[data-testid="watch-add"]')
    wd.wait('[data-testid="watch-BTC/USD"]')
    # The live price arrives, with the stream's state: this app holds the one connection.
    wait_for(lambda: wd.find('[data-testid="watch-price"]') not in (None, "—"), what="a live BTC price")
    wd.wait('[data-testid="stream-state"]', text="connected")
    assert "this app holds the connection" in wd.find('[data-testid="stream-state"]')
    wait_for(lambda: wd.invoke("watchlist")["ok"]["rows"][0]["sparkline"], what="a sparkline")
    wd.shot("20-watchlist")

    wd.click('[data-testid="nav-alerts"]')
    wd.type('[data-testid="alert-symbol"]', "BTC/USD")
    wd.type('[data-testid="alert-condition"]', "close > 1")
    wd.click('[data-testid="alert-create"]')
    wd.wait('[data-testid="alert-note"]', text="created alt_")
    # It holds at once: it fires at the next closed minute (the replay runs a minute per 80 ms).
    wait_for(lambda: wd.invoke("alerts_page")["ok"]["fired"], what="the alert to fire")
    wd.click('[data-testid="nav-home"]')
    wd.click('[data-testid="nav-alerts"]')
    wd.wait('[data-testid="fired"]', text="close > 1")
    wd.shot("21-alerts")
    if wd.notifications:
        wait_for(lambda: "BTC/USD: close > 1" in wd.notifications.read_text(), what="the notification")
