"""Crypto from Coinbase Exchange's public market data, out of the box (no account, no key): the
sidecar's defaults read crypto pairs from Coinbase — here the stand-in, which speaks Exchange's
REST shapes — while stocks stay on the bundled history; an unreachable Coinbase is said plainly,
never answered from 2020's history."""

import json
import urllib.request

import pytest

from conftest import COINBASE, session

pytestmark = pytest.mark.anyio


def ok(result):
    assert not result.is_error, result.content
    return result.structured_content


def coinbase(path):
    with urllib.request.urlopen(COINBASE["url"] + path, timeout=10) as r:
        return json.load(r)


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
