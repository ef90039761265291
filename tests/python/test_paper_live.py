"""The paper broker at live prices: with the live stream (here the stand-in Coinbase feed),
crypto market orders fill at the ask (buy) or bid (sell) of the newest quote and limit orders
when the stream's minutes trade through their price — each answer says "live quote" — while
stocks stay on the replay clock ("replay")."""

from datetime import datetime

import anyio
import pytest

from conftest import coinbase, iso, live_price, ok, session
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio

TRADER = "market:read,account:read,trade:paper"


def ts(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def traded_near(t, price):
    """Whether `price` is one of the stand-in's trades (a minute's O/H/L/C) within 2 minutes of t."""
    minute = t // 60 * 60
    candles = coinbase(f"/products/BTC-USD/candles?granularity=60&start={iso(minute - 120)}&end={iso(minute + 120)}")
    return any(round(price, 2) in [round(x, 2) for x in c[1:5]] for c in candles)


async def test_crypto_fills_at_the_live_quote_and_stocks_on_the_replay(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        now = ts((await live_price(s, "BTC/USD"))["as_of"])
        buy = ok(await s.call_tool("place_order", {"symbol": "BTC/USD", "side": "buy", "qty": "0.001"}))
        assert buy["outcome"] == "filled" and buy["pricing"] == "live quote", buy
        # At the ask: a cent above a price the feed traded at that moment; a sell at the bid.
        fill = buy["order"]["avg_fill_price"]
        assert traded_near(now, fill - 0.01), fill
        sell = ok(await s.call_tool("place_order", {"symbol": "BTC/USD", "side": "sell", "qty": "0.001"}))
        assert sell["outcome"] == "filled" and sell["pricing"] == "live quote", sell
        assert traded_near(now, sell["order"]["avg_fill_price"] + 0.01)
        stock = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 1}))
        assert stock["outcome"] == "filled" and stock["pricing"] == "replay", stock
        [goog] = ok(await s.call_tool("get_positions", {}))["positions"]
        assert goog["symbol"] == "GOOG", "the BTC round trip left no position"


async def test_a_resting_crypto_limit_fills_when_the_stream_trades_through_it(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        quote = await live_price(s, "BTC/USD")
        now = ts(quote["as_of"]) // 60 * 60
        # The lowest low of the replay's minutes 2 to 6 from now (the ground truth over REST),
        # if that is below the bid (so the order rests); the order must fill at it.
        ahead = coinbase(f"/products/BTC-USD/candles?granularity=60&start={iso(now + 120)}&end={iso(now + 360)}")
        limit = min(c[1] for c in ahead)
        if limit >= quote["bid"]:
            limit = round(quote["bid"] - 0.05, 2)
        out = ok(await s.call_tool("place_order", {
            "symbol": "BTC/USD", "side": "buy", "qty": "0.001", "limit_price": limit,
            "time_in_force": "gtc", "client_order_id": "live-rest-1"}))
        assert out["outcome"] == "open" and out["pricing"] == "live quote", out
        for _ in range(300):
            o = ok(await s.call_tool("get_orders", {"client_order_id": "live-rest-1"}))["orders"][0]
            if o["status"] == "filled":
                break
            assert o["status"] == "open", o
            await anyio.sleep(0.1)
        assert o["status"] == "filled", o
        assert o["avg_fill_price"] <= limit
        [btc] = ok(await s.call_tool("get_positions", {}))["positions"]
        assert btc["symbol"] == "BTC/USD" and btc["qty"] == 0.001
        assert btc["current_price"] is not None and abs(btc["current_price"] - limit) < 1000
