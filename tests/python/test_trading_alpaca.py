"""Trading through Alpaca: the real sidecar with `--broker alpaca` against the stand-in Alpaca
server (a separate process on 127.0.0.1). The stand-in's request log is the proof: nothing over a
limit ever reaches it, an accepted order is POSTed exactly once, and a sidecar killed while
orders flow sends none twice and loses none."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from conftest import STANDIN_KEY_ID, STANDIN_SECRET, ok, session, sidecar_bin
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)
from test_trading_concurrency import set_setting

pytestmark = pytest.mark.anyio

TRADER = "market:read,account:read,trade:paper"


def alpaca_env(env, url):
    return {**env, "APCA_API_KEY_ID": STANDIN_KEY_ID, "APCA_API_SECRET_KEY": STANDIN_SECRET,
            "QUANTDESK_ALPACA_DATA_URL": url, "QUANTDESK_ALPACA_TRADING_URL": url,
            "QUANTDESK_BROKER": "alpaca", "QUANTDESK_PROVIDER": "alpaca"}


def requests(url):
    with urllib.request.urlopen(url + "/_standin/requests", timeout=10) as r:
        return json.loads(r.read())


def order_posts(url):
    return [json.loads(r["body"]) for r in requests(url) if r["method"] == "POST" and r["path"] == "/v2/orders"]


async def test_nothing_over_a_limit_reaches_alpaca(data_dir, platform, env, install, alpaca_standin):
    install(data_dir, platform.issue(TRADER))
    url = alpaca_standin
    async with session(data_dir, env=alpaca_env(env, url)) as s:
        account = ok(await s.call_tool("get_account_balance", {}))
        assert (account["broker"], account["mode"], account["cash"]) == ("alpaca", "paper", 100000)
        # The stand-in's GOOG snapshot is from 2013, so market orders are refused for a stale
        # quote; limit orders are checked against it (price collar, value limits).
        over = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 20, "limit_price": 806}))
        assert (over["outcome"], over["rule"]) == ("refused", "max_order_value"), over
        stale = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 1}))
        assert (stale["outcome"], stale["rule"]) == ("refused", "max_quote_age_secs"), stale
        far = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 1, "limit_price": 1000}))
        assert (far["outcome"], far["rule"]) == ("refused", "price_collar_pct"), far
        assert order_posts(url) == [], "a refused order reached Alpaca"

        out = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 10, "limit_price": 806.5}))
        assert (out["outcome"], out["broker"], out["mode"]) == ("filled", "alpaca", "paper"), out
        again = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 10, "limit_price": 806.5}))
        assert again["outcome"] == "duplicate"
        posts = order_posts(url)
        assert [p["client_order_id"] for p in posts] == [out["client_order_id"]]
        assert (posts[0]["symbol"], posts[0]["qty"], posts[0]["type"]) == ("GOOG", "10", "limit")
        [pos] = ok(await s.call_tool("get_positions", {}))["positions"]
        assert (pos["symbol"], pos["qty"]) == ("GOOG", 10)
    # The audit log's entry for each call says what the order came to, not just that the call
    # answered (the app's "last tool calls" reads it).
    with sqlite3.connect(data_dir / "quantdesk.db") as db:
        calls = db.execute(
            "SELECT outcome, detail FROM audit_log WHERE kind = 'tool_call' AND tool = 'place_order' ORDER BY seq"
        ).fetchall()
    assert [(outcome, json.loads(detail)["result"]) for outcome, detail in calls] == [
        ("ok", "refused"), ("ok", "refused"), ("ok", "refused"), ("ok", "filled"), ("ok", "duplicate"),
    ], calls


def start(data_dir, env):
    proc = subprocess.Popen(
        [sidecar_bin(), "--data-dir", str(data_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, **env, "QUANTDESK_LOG": "warn", "QUANTDESK_RECONCILE_AFTER_SECS": "0"})
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "faults", "version": "0"}}}) + "\n")
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    proc.stdin.flush()
    assert "result" in json.loads(proc.stdout.readline())
    return proc


def unsettled(data_dir):
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM orders WHERE status IN ('accepted', 'sending')").fetchone()[0]
    finally:
        con.close()


def test_killing_the_sidecar_sends_no_order_twice_and_loses_none(data_dir, platform, env, install, alpaca_standin):
    install(data_dir, platform.issue(TRADER))
    url = alpaca_standin
    env = alpaca_env(env, url)
    rng = random.Random(7)
    proc = start(data_dir, env)
    set_setting(data_dir, "guard.limits", {"max_orders_per_minute": None, "max_position_value": "1000000",
                                           "max_position_pct_of_equity": "100", "max_quote_age_secs": 10**10})
    next_id = 1
    rounds = 12
    for r in range(rounds):
        for i in range(5):
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": next_id, "method": "tools/call", "params": {
                "name": "place_order",
                "arguments": {"symbol": "GOOG", "side": "buy", "qty": 1, "client_order_id": f"k{r}-{i}"}}}) + "\n")
            proc.stdin.flush()
            next_id += 1
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start(data_dir, env)
        deadline = time.time() + 15
        while unsettled(data_dir) and time.time() < deadline:
            time.sleep(0.1)
        assert unsettled(data_dir) == 0, f"round {r}: an accepted order was left unsent"
    proc.stdin.close()
    proc.wait(timeout=10)

    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        orders = dict(con.execute("SELECT client_order_id, status FROM orders").fetchall())
    finally:
        con.close()
    posts = [p["client_order_id"] for p in order_posts(url)]
    assert orders, "no order got in"
    assert len(posts) == len(set(posts)), "an order was sent twice"
    # Every accepted order reached Alpaca exactly once, and nothing reached it that was not accepted.
    assert set(posts) == set(orders), (set(posts) ^ set(orders))
    assert all(s == "filled" for s in orders.values()), orders
    print(f"{len(orders)} orders over {rounds} kills")


async def test_live_is_stated_and_waits_for_the_person(data_dir, platform, env, install, alpaca_standin):
    """With live trading turned on (only the app does that), the sidecar says LIVE, every order
    waits for the person by default, nothing reaches Alpaca before the approval, and the
    approval sends it once."""
    install(data_dir, platform.issue("market:read,account:read,trade:live"))
    url = alpaca_standin
    aenv = {**alpaca_env(env, url), "QUANTDESK_APPROVAL_WAIT_SECS": "1"}
    subprocess.run([sidecar_bin(), "--data-dir", str(data_dir), "verify-audit"], capture_output=True,
                   env={**os.environ, **aenv}, timeout=60)
    set_setting(data_dir, "trading.live", True)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pytest", "version": "0"}}}
    out = subprocess.run([sidecar_bin(), "--data-dir", str(data_dir)], input=json.dumps(init) + "\n",
                         capture_output=True, text=True, timeout=60, env={**os.environ, **aenv})
    instructions = json.loads(out.stdout.splitlines()[0])["result"]["instructions"]
    assert "broker 'alpaca', LIVE" in instructions, instructions
    async with session(data_dir, env=aenv) as s:
        placed = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 1,
                                                       "limit_price": 806.5, "client_order_id": "live-1"}))
        assert (placed["outcome"], placed["mode"], placed["broker"]) == ("pending_approval", "live", "alpaca")
        assert order_posts(url) == [], "a live order reached the broker before the person approved it"
        xenv = {**os.environ, **aenv}
        mcp = os.environ.get("QUANTDESK_MCP_BIN")
        xtask = os.environ.get("QUANTDESK_XTASK_BIN") or str(__import__("pathlib").Path(mcp).parent / "xtask")
        decided = subprocess.run([xtask, "approve", "live-1", "--data-dir", str(data_dir)], capture_output=True,
                                 text=True, timeout=60, env=xenv)
        assert decided.returncode == 0, decided.stderr
        assert json.loads(decided.stdout)["outcome"] == "filled", decided.stdout
        assert [p["client_order_id"] for p in order_posts(url)] == ["live-1"]
        o = ok(await s.call_tool("get_orders", {"client_order_id": "live-1"}))
        assert (o["mode"], o["orders"][0]["status"]) == ("live", "filled")
