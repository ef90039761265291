"""Crypto from Coinbase Exchange's public market data, out of the box (no account, no key): the
sidecar's defaults read crypto pairs from Coinbase — here the stand-in, which speaks Exchange's
REST shapes — while stocks stay on the bundled history; an unreachable Coinbase is said plainly,
never answered from 2020's history."""

from contextlib import AsyncExitStack
from datetime import datetime, timedelta

import pytest

from conftest import coinbase, live_price, ok, session

pytestmark = pytest.mark.anyio


async def test_what_btc_trades_at_right_now(data_dir):
    ticker = coinbase("/products/BTC-USD/ticker")
    stats = coinbase("/products/BTC-USD/stats")
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_crypto_prices", {"symbols": ["BTC/USD", "eth-usd"]}))
        stock = ok(await s.call_tool("get_stock_price", {"symbol": "GOOG"}))
    btc, eth = out["prices"]
    assert out["errors"] == []
    assert btc["symbol"] == "BTC/USD" and eth["symbol"] == "ETH-USD"
    assert btc["source"] == "coinbase" and eth["source"] == "coinbase"
    assert btc["price"] == float(ticker["price"])
    assert btc["as_of"].startswith(ticker["time"][:19])
    assert round(btc["change"], 2) == round(float(ticker["price"]) - float(stats["open"]), 2)
    assert btc["change_period"] == "1Day"
    assert stock["source"] == "bundled", "stocks stay on the desk's provider"


async def test_minute_bars_are_coinbases_candles(data_dir):
    newest = coinbase("/products/ETH-USD/candles?granularity=60")  # newest first, 300 at most
    async with session(data_dir) as s:
        out = ok(await s.call_tool("get_market_data", {"symbol": "ETH/USD", "timeframe": "1Min", "limit": 500}))
    assert out["count"] == 500 and out["source"] == "coinbase"
    times = [b["time"] for b in out["bars"]]
    assert times == sorted(set(times)), "oldest first, no duplicate"
    last = out["bars"][-1]
    assert last["close"] == newest[0][4] and last["open"] == newest[0][3]


async def test_an_unknown_pair_and_an_unreachable_coinbase_are_said_plainly(data_dir):
    async with session(data_dir) as s:
        out = await s.call_tool("get_crypto_prices", {"symbols": ["DOGE/USD"]})
    assert out.is_error and "coinbase has no data for 'DOGE/USD'" in out.content[0].text
    # Nothing listens on port 9: the answer names Coinbase, and no bundled price stands in.
    env = {"QUANTDESK_COINBASE_REST_URL": "http://127.0.0.1:9"}
    async with session(data_dir, env=env) as s:
        out = await s.call_tool("get_crypto_prices", {"symbols": ["BTC/USD"]})
        stock = ok(await s.call_tool("get_stock_price", {"symbol": "GOOG"}))
    assert out.is_error and "could not reach coinbase" in out.content[0].text, out.content
    assert stock["source"] == "bundled"


async def test_offline_history_on_request(data_dir):
    async with session(data_dir, "--provider", "bundled") as s:
        out = ok(await s.call_tool("get_crypto_prices", {"symbols": ["BTC/USD"]}))
    assert out["prices"][0]["source"] == "bundled"


def feed_counts():
    return coinbase("/_standin/feed")


async def test_watched_pairs_answer_from_the_stream(data_dir):
    async with session(data_dir) as s:
        w = ok(await s.call_tool("watch", {"symbols": ["BTC/USD", "eth-usd"]}))
        assert [x["symbol"] for x in w["watching"]] == ["BTC/USD", "ETH/USD"]
        assert w["stream"]["source"] == "coinbase"
        btc = await live_price(s, "BTC/USD", watch=False)
        # The stand-in replays its ground truth as trades: a live price is one of that minute's
        # open/high/low/close, and the bid and ask sit a cent either side.
        at = datetime.fromisoformat(btc["as_of"].replace("Z", "+00:00")).replace(second=0, microsecond=0)
        span = tuple(t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (at, at + timedelta(minutes=1)))
        candles = [c for c in coinbase("/products/BTC-USD/candles?granularity=60&start=%s&end=%s" % span)
                   if c[0] == int(at.timestamp())]
        assert candles, span
        assert btc["price"] in candles[0][1:5], (btc, candles[0])
        assert round(btc["ask"] - btc["bid"], 2) == 0.02 and btc["source"] == "coinbase"
        await live_price(s, "ETH/USD", watch=False)
        listed = ok(await s.call_tool("watch", {"symbols": []}))
        assert {x["symbol"] for x in listed["watching"]} == {"BTC/USD", "ETH/USD"}
        assert all(x["price"] is not None for x in listed["watching"]), listed
        assert listed["stream"]["state"] == "connected" and listed["stream"]["part"] == "owner"
        stopped = ok(await s.call_tool("watch", {"symbols": ["ETH/USD"], "action": "stop"}))
        assert [x["symbol"] for x in stopped["watching"]] == ["BTC/USD"]
    # The watchlist is kept: the next sidecar streams it at once.
    async with session(data_dir) as s:
        listed = ok(await s.call_tool("watch", {"symbols": []}))
        assert [x["symbol"] for x in listed["watching"]] == ["BTC/USD"]


async def test_watch_refuses_what_cannot_stream(data_dir):
    async with session(data_dir) as s:
        stock = await s.call_tool("watch", {"symbols": ["GOOG"]})
        unknown = await s.call_tool("watch", {"symbols": ["DOGE/USD"]})
    assert stock.is_error and "not a crypto pair" in stock.content[0].text
    assert unknown.is_error and "does not list 'DOGE-USD'" in unknown.content[0].text
    async with session(data_dir, "--provider", "bundled") as s:
        offline = await s.call_tool("watch", {"symbols": ["BTC/USD"]})
    assert offline.is_error and "offline" in offline.content[0].text


async def test_eight_sidecars_share_one_upstream_connection(data_dir):
    before = feed_counts()["accepted"]
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(session(data_dir)) for _ in range(8)]
        await sessions[0].call_tool("watch", {"symbols": ["BTC/USD"]})
        prices = [await live_price(s, "BTC/USD", watch=False) for s in sessions]
        assert all(p["source"] == "coinbase" for p in prices)
        assert feed_counts()["accepted"] - before == 1, "one websocket for eight sidecars"
