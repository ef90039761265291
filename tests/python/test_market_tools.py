"""The market-data tools as Claude Desktop sees them: through the official MCP Python SDK,
against the real sidecar binary on the bundled data."""

import hashlib
import json
import math
import sqlite3
import struct
from datetime import date

import anyio
import pytest

from conftest import ok, read_csv, session, verify_audit

pytestmark = pytest.mark.anyio

MARKET_TOOLS = {"get_stock_price", "get_market_data", "get_crypto_prices", "get_options_chain"}


def refused(result):
    assert result.is_error, result.structured_content
    return result.content[0].text


async def test_tools_list_is_complete_lean_and_annotated(data_dir):
    async with session(data_dir) as s:
        listed = await s.list_tools()
        names = {t.name for t in listed.tools}
        assert MARKET_TOOLS <= names
        for tool in listed.tools:
            assert tool.input_schema["type"] == "object", tool.name
            assert tool.output_schema, tool.name
            assert tool.description and len(tool.description) < 600, tool.name
            if tool.name in MARKET_TOOLS:
                assert tool.annotations.read_only_hint is True, tool.name
                assert tool.annotations.destructive_hint is False, tool.name
        wire = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
        size = len(json.dumps(wire, separators=(",", ":")))
        print(f"\ntools/list: {len(listed.tools)} tools, {size} bytes")
        # The whole catalogue — the 16 tools of the mission and the helpers Claude uses to follow
        # its own work (get_orders, get_job) — must stay under 32 KB: it sits in Claude's context
        # on every turn.
        assert len(listed.tools) >= 16
        assert size < 32 * 1024


async def test_goog_daily_bars_are_the_whole_csv(data_dir):
    csv_rows = read_csv("GOOG.csv")
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_market_data", {"symbol": "GOOG", "timeframe": "1Day"}))
    bars = out["bars"]
    assert out["count"] == len(bars) == 2148 == len(csv_rows)
    assert bars[0]["time"].startswith("2004-08-19") and bars[-1]["time"].startswith("2013-03-01")
    assert out["source"] == "bundled" and out["as_of"].startswith("2013-03-01")
    for bar, row in zip(bars, csv_rows):
        assert bar["time"][:10] == row[""]
        for field, column in [("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close"), ("volume", "Volume")]:
            assert bar[field] == float(row[column]), (row, field)


async def test_stock_price_is_the_last_close(data_dir):
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_stock_price", {"symbol": "goog"}))
    assert out["price"] == 806.19
    assert out["source"] == "bundled"
    assert out["symbol"] == "GOOG"
    assert out["as_of"].startswith("2013-03-01")
    assert out["previous_close"] == 801.2
    assert out["day_high"] == 807.14 and out["day_low"] == 796.15


async def test_weekly_resample_matches_a_hand_checked_week(data_dir):
    # Week of Monday 2013-02-25 .. Friday 2013-03-01, read off GOOG.csv by hand:
    # open = Mon open 802.3, high = max(Mon..Fri highs) = 808.41 (Mon), low = min = 784.4 (Tue),
    # close = Fri close 806.19, volume = sum of the five days.
    rows = [r for r in read_csv("GOOG.csv") if "2013-02-25" <= r[""] <= "2013-03-01"]
    assert [r[""] for r in rows] == ["2013-02-25", "2013-02-26", "2013-02-27", "2013-02-28", "2013-03-01"]
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_market_data", {"symbol": "GOOG", "timeframe": "1Week", "start": "2013-02-25"}))
    week = out["bars"][0]
    assert week["time"].startswith("2013-02-25")
    assert week["open"] == 802.3
    assert week["high"] == 808.41
    assert week["low"] == 784.4
    assert week["close"] == 806.19
    assert week["volume"] == 10_973_700 == sum(int(r["Volume"]) for r in rows)
    assert week["high"] == max(float(r["High"]) for r in rows)
    assert week["low"] == min(float(r["Low"]) for r in rows)


async def test_spx_daily_bars_for_2008(data_dir):
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_market_data", {"symbol": "spx", "start": "2008-01-01", "end": "2008-12-31"}))
    assert out["bars"][0]["time"].startswith("2008-01-02")
    assert out["bars"][-1]["time"].startswith("2008-12-31")
    assert out["count"] == 253


async def test_numbers_and_lists_sent_as_strings_are_accepted(data_dir):
    # --provider bundled: the offline history, crypto included (the default reads crypto live).
    async with session(data_dir, "--provider", "bundled") as s:
        out = ok(await s.call_tool("get_market_data", {"symbol": "GOOG", "limit": "10"}))
        assert out["count"] == 10 and out["bars"][-1]["time"].startswith("2013-03-01")
        crypto = ok(await s.call_tool("get_crypto_prices", {"symbols": "[\"BTC/USD\"]"}))
    assert crypto["prices"][0]["symbol"] == "BTCUSD"
    assert crypto["prices"][0]["price"] == 93381.0
    assert crypto["prices"][0]["source"] == "bundled"
    assert crypto["prices"][0]["change_period"] == "1Month"


async def test_options_chain_model_satisfies_put_call_parity(data_dir):
    async with session(data_dir) as s:
        chain = ok(await s.call_tool("get_options_chain", {"symbol": "GOOG", "strikes_around": "3"}))
    assert chain["source"] == "model"
    inputs = chain["model_inputs"]
    spot = chain["underlying_price"]
    assert spot == 806.19
    r, q = inputs["risk_free_rate"], inputs["dividend_yield"]
    valuation = date.fromisoformat(inputs["valuation_date"])
    assert chain["contracts"], "empty chain"
    checked = 0
    for c in chain["contracts"]:
        call, put = c["call"], c["put"]
        assert call["bid"] is None and call["ask"] is None, "a model chain must not invent quotes"
        t = (date.fromisoformat(c["expiration"]) - valuation).days / 365.0
        parity = spot * math.exp(-q * t) - c["strike"] * math.exp(-r * t)
        assert abs(call["theoretical_value"] - put["theoretical_value"] - parity) < 1e-9, c
        assert 0 < call["greeks"]["delta"] < 1 and -1 < put["greeks"]["delta"] < 0
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize(
    "tool,args,expect",
    [
        ("get_stock_price", {}, "symbol"),
        ("get_stock_price", {"symbol": 42}, "'symbol'"),
        ("get_stock_price", {"symbol": "NOPE"}, "NOPE"),
        ("get_market_data", {"timeframe": "1Day"}, "symbol"),
        ("get_market_data", {"symbol": "GOOG", "limit": "lots"}, "'limit'"),
        ("get_market_data", {"symbol": "GOOG", "timeframe": "fortnight"}, "timeframe"),
        ("get_market_data", {"symbol": "AAPL"}, "AAPL"),
        ("get_market_data", {"symbol": "GOOG", "start": "2012-01-01", "end": "2011-01-01"}, "after"),
        ("get_market_data", {"symbol": "GOOG", "start": "last tuesday"}, "'start'"),
        ("get_market_data", {"symbol": "GOOG", "timeframe": "1Hour"}, "1Hour"),
        ("get_crypto_prices", {}, "symbols"),
        ("get_crypto_prices", {"symbols": 7}, "'symbols'"),
        ("get_crypto_prices", {"symbols": ["DOGE/USD"]}, "DOGE/USD"),
        ("get_crypto_prices", {"symbols": ["GOOG"]}, "not a crypto"),
        ("get_options_chain", {}, "symbol"),
        ("get_options_chain", {"symbol": "GOOG", "strikes_around": "many"}, "'strikes_around'"),
        ("get_options_chain", {"symbol": "ZZZZ"}, "ZZZZ"),
        ("get_options_chain", {"symbol": "GOOG", "expiration": "2013-13-45"}, "'expiration'"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message(data_dir, tool, args, expect):
    async with session(data_dir) as s:
        message = refused(await s.call_tool(tool, args))
    assert expect.lower() in message.lower(), message
    assert "panicked" not in message and "backtrace" not in message.lower()


def independent_chain_check(db):
    """Recomputes every hash from the stored columns, independently of the Rust code."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, ts, actor, kind, tool, symbol, args, outcome, detail, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall()
    conn.close()
    prev = "0" * 64
    for expected_seq, row in enumerate(rows, start=1):
        seq, *fields, prev_hash, stored = row
        assert seq == expected_seq and prev_hash == prev
        h = hashlib.sha256(struct.pack(">q", seq))
        for field in [*fields, prev_hash]:
            if field is None:
                h.update(b"\x00")
            else:
                data = field.encode()
                h.update(b"\x01" + struct.pack(">Q", len(data)) + data)
        assert h.hexdigest() == stored, f"entry {seq}"
        prev = stored
    return rows


async def test_every_call_is_audited_and_the_chain_verifies_until_tampered(data_dir):
    async with session(data_dir) as s:
        ok(await s.call_tool("get_stock_price", {"symbol": "GOOG"}))
        refused(await s.call_tool("get_market_data", {"symbol": "AAPL"}))
        ok(await s.call_tool("get_crypto_prices", {"symbols": ["BTC/USD"]}))
    rows = independent_chain_check(data_dir / "quantdesk.db")
    assert [(r[4], r[7]) for r in rows] == [
        ("get_stock_price", "ok"),
        ("get_market_data", "error"),
        ("get_crypto_prices", "ok"),
    ]
    code, report = verify_audit(data_dir)
    assert code == 0 and report["entries"] == 3 and report["first_broken"] is None

    # Flip one byte of entry 2's arguments, going around the database's append-only triggers.
    conn = sqlite3.connect(data_dir / "quantdesk.db")
    conn.execute("DROP TRIGGER audit_log_no_update")
    (args,) = conn.execute("SELECT args FROM audit_log WHERE seq = 2").fetchone()
    flipped = bytearray(args.encode())
    flipped[3] ^= 0x01
    conn.execute("UPDATE audit_log SET args = ? WHERE seq = 2", (flipped.decode(),))
    conn.commit()
    conn.close()
    code, report = verify_audit(data_dir)
    assert code == 1
    assert report["first_broken"]["seq"] == 2, report


async def test_several_sidecars_share_one_store(data_dir):
    """Claude Desktop may start several sidecars at once: their calls form one audit chain."""
    calls_each = 15

    async def client(n):
        async with session(data_dir) as s:
            for i in range(calls_each):
                ok(await s.call_tool("get_market_data", {"symbol": "SPX", "limit": i + 1}))

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(client, n)
    rows = independent_chain_check(data_dir / "quantdesk.db")
    assert len(rows) == 4 * calls_each
    assert len({r[2] for r in rows}) == 4, "expected four distinct sidecar processes in the log"
    code, report = verify_audit(data_dir)
    assert code == 0 and report["entries"] == 4 * calls_each
