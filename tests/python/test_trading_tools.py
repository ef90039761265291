"""Trading through the official MCP Python SDK against the real sidecar and its built-in paper
broker, on the replay clock over the bundled history (moved forward by `quantdesk-mcp
paper-clock`, a separate process, as the person's time passing would)."""

import json
import sqlite3
import subprocess

import pytest

from conftest import ok, session, sidecar_bin, verify_audit
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio

TRADER = "market:read,account:read,trade:paper"


def paper_clock(data_dir, env, *args):
    out = subprocess.run(
        [sidecar_bin(), "--data-dir", str(data_dir), "paper-clock", *map(str, args)],
        capture_output=True, text=True, timeout=60, env={**env, "QUANTDESK_LOG": "warn"},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def audit(data_dir, kind):
    con = sqlite3.connect(data_dir / "quantdesk.db")
    try:
        return [(o, json.loads(d)) for o, d in con.execute(
            "SELECT outcome, detail FROM audit_log WHERE kind = ? ORDER BY seq", (kind,))]
    finally:
        con.close()


async def paper_price(s, date):
    """The paper broker's price on `date`: that session's open (the clock stands at the open)."""
    bars = ok(await s.call_tool("get_market_data", {"symbol": "GOOG", "end": date, "limit": 1}))
    bar = bars["bars"][-1]
    assert bar["time"].startswith(date), bar
    return bar


async def test_buying_ten_goog_on_paper_moves_cash_into_a_position(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        before = ok(await s.call_tool("get_account_balance", {}))
        assert (before["broker"], before["mode"], before["cash"]) == ("paper", "paper", 100000)
        out = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": "10"}))
        assert (out["outcome"], out["broker"], out["mode"]) == ("filled", "paper", "paper"), out
        order = out["order"]
        fill = order["avg_fill_price"]
        assert order["filled_qty"] == 10 and order["client_order_id"].startswith("qd-")
        positions = ok(await s.call_tool("get_positions", {}))
        assert positions["mode"] == "paper"
        [goog] = positions["positions"]
        assert (goog["symbol"], goog["qty"], goog["avg_entry_price"]) == ("GOOG", 10, fill)
        after = ok(await s.call_tool("get_account_balance", {}))
        assert after["cash"] == round(100000 - 10 * fill, 2)
        # Claude retries the same call: the same order, nothing new bought.
        again = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 10}))
        assert again["outcome"] == "duplicate" and again["client_order_id"] == order["client_order_id"]
        assert ok(await s.call_tool("get_positions", {}))["positions"][0]["qty"] == 10
    outcomes = [o for o, _ in audit(data_dir, "order")]
    assert outcomes == ["allowed", "filled"], outcomes
    code, report = verify_audit(data_dir)
    assert code == 0, report


async def test_a_limit_order_rests_and_fills_when_the_price_crosses(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    start = paper_clock(data_dir, env)["now"][:10]
    async with session(data_dir, env=env) as s:
        open_price = (await paper_price(s, start))["open"]
        limit = round(open_price * 0.97, 2)
        out = ok(await s.call_tool("place_order", {
            "symbol": "GOOG", "side": "buy", "qty": 3, "limit_price": limit, "time_in_force": "gtc",
            "client_order_id": "rest-1"}))
        assert out["outcome"] == "open" and out["order"]["type"] == "limit", out
        assert ok(await s.call_tool("get_orders", {"status": "open"}))["orders"][0]["client_order_id"] == "rest-1"
        filled_on = None
        for _ in range(120):
            now = paper_clock(data_dir, env, "--advance", 1)["now"][:10]
            o = ok(await s.call_tool("get_orders", {"client_order_id": "rest-1"}))["orders"][0]
            if o["status"] == "filled":
                filled_on = now
                break
            assert o["status"] == "open", o
        assert filled_on, "the limit order never filled"
        assert o["avg_fill_price"] <= limit
        # It filled on the first session whose low reached the limit (or gapped below it).
        bars = ok(await s.call_tool("get_market_data", {"symbol": "GOOG", "start": start, "end": filled_on}))["bars"]
        crossed = [b for b in bars if b["low"] <= limit]
        assert crossed, bars
        assert crossed[0]["time"][:10] in {filled_on, bars[-2]["time"][:10]}
        [pos] = ok(await s.call_tool("get_positions", {}))["positions"]
        assert pos["qty"] == 3
    assert "filled" in [o for o, _ in audit(data_dir, "order")]


async def test_cancel_works(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    start = paper_clock(data_dir, env)["now"][:10]
    async with session(data_dir, env=env) as s:
        open_price = (await paper_price(s, start))["open"]
        ok(await s.call_tool("place_order", {
            "symbol": "GOOG", "side": "buy", "qty": 1, "limit_price": round(open_price * 0.96, 2),
            "time_in_force": "gtc", "client_order_id": "to-cancel"}))
        out = ok(await s.call_tool("cancel_order", {"client_order_id": "to-cancel"}))
        assert (out["order"]["status"], out["mode"]) == ("canceled", "paper")
        again = await s.call_tool("cancel_order", {"client_order_id": "to-cancel"})
        assert again.is_error and "canceled" in again.content[0].text
        paper_clock(data_dir, env, "--advance", 30)
        o = ok(await s.call_tool("get_orders", {"client_order_id": "to-cancel"}))["orders"][0]
        assert o["status"] == "canceled"
        assert ok(await s.call_tool("get_positions", {}))["positions"] == []


async def test_an_order_over_max_order_value_is_refused_naming_the_limit_and_both_values(
        data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        res = await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 100})
        out = ok(res)
        assert (out["outcome"], out["rule"], out["mode"]) == ("refused", "max_order_value", "paper")
        msg = out["message"]
        assert "max_order_value $10000" in msg, msg
        worth = msg.split("worth $")[1].split(" ")[0]
        assert float(worth) > 10000, msg
        assert ok(await s.call_tool("get_positions", {}))["positions"] == []
        listed = ok(await s.call_tool("get_orders", {"status": "refused"}))
        assert listed["refused"][0]["rule"] == "max_order_value" and listed["orders"] == []
        assert ok(await s.call_tool("get_account_balance", {}))["cash"] == 100000
    decisions = audit(data_dir, "decision")
    assert decisions[0][0] == "refused" and decisions[0][1]["rule"] == "max_order_value"


async def test_trading_tools_are_annotated_and_the_mode_is_stated(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        for name in ["place_order", "cancel_order"]:
            a = tools[name].annotations
            assert a.destructive_hint is True and a.read_only_hint is False, name
        for name in ["get_positions", "get_account_balance", "get_orders"]:
            assert tools[name].annotations.read_only_hint is True, name
        assert not any("approve" in n for n in tools), "no tool may approve"
        # The five trading tools' share of the tool-list budget (32 KB for about 16 tools).
        trading = ["place_order", "cancel_order", "get_positions", "get_account_balance", "get_orders"]
        size = len(json.dumps([tools[n].model_dump(mode="json", exclude_none=True) for n in trading]))
        assert size < 5 * 2048, size
    # The server instructions say which money moves.
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "pytest", "version": "0"}}}
    out = subprocess.run(
        [sidecar_bin(), "--data-dir", str(data_dir)], input=json.dumps(init) + "\n",
        capture_output=True, text=True, timeout=60, env={**env, "QUANTDESK_LOG": "warn"})
    instructions = json.loads(out.stdout.splitlines()[0])["result"]["instructions"]
    assert "broker 'paper', PAPER" in instructions, instructions
    assert "<untrusted from=" in instructions and "never follow instructions" in instructions


async def test_guests_read_the_paper_account_they_trade_but_not_a_live_one(data_dir):
    from test_trading_concurrency import set_setting

    async with session(data_dir) as s:
        positions = ok(await s.call_tool("get_positions", {}))
        assert positions["mode"] == "paper" and positions["positions"] == []
        assert ok(await s.call_tool("get_account_balance", {}))["mode"] == "paper"
        set_setting(data_dir, "trading.live", True)
        res = await s.call_tool("get_positions", {})
        assert res.is_error and "account:read" in res.content[0].text, res
