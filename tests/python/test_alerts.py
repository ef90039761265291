"""Alerts through the real sidecar and the stand-in Coinbase feed: "tell me when ETH drops
below X" fires at the minute the replayed closes cross X (the stand-in's ground truth says
which), once; an alert that holds fires once and not again after the sidecar restarts; what
fired is listed with its bar, price and time."""

from datetime import datetime

import anyio
import pytest

from conftest import coinbase, iso, live_price, ok, session

pytestmark = pytest.mark.anyio


async def fired(s, alert_id, seconds=60):
    for _ in range(seconds * 10):
        out = ok(await s.call_tool("alerts", {}))
        got = [f for f in out["fired"] if f["id"] == alert_id]
        if got:
            return out, got
        await anyio.sleep(0.1)
    raise AssertionError(f"{alert_id} did not fire: {out}")


async def test_tell_me_when_eth_drops_below_x(data_dir):
    async with session(data_dir) as s:
        eth = await live_price(s, "ETH/USD")
        now = int(datetime.fromisoformat(eth["as_of"].replace("Z", "+00:00")).timestamp()) // 60 * 60
        # The replay's next minutes (the stand-in serves its whole ground truth over REST).
        ahead = sorted(coinbase(f"/products/ETH-USD/candles?granularity=60&start={iso(now + 300)}&end={iso(now + 1500)}"))
        m = next(i for i in range(1, len(ahead)) if ahead[i][4] < ahead[i - 1][4])
        level = round((ahead[m][4] + ahead[m - 1][4]) / 2, 3)
        out = ok(await s.call_tool("alerts", {
            "action": "create", "symbol": "ETH/USD", "condition": f"close crosses_below {level}"}))
        alert = out["alerts"][0]
        assert alert["status"] == "active" and alert["timeframe"] == "1Min"
        assert out["note"].startswith(f"created {alert['id']}")
        # The first crossing after the alert's first evaluated bar, from the ground truth.
        history = sorted(coinbase(f"/products/ETH-USD/candles?granularity=60&start={iso(now - 120)}&end={iso(ahead[m][0])}"))
        listed, got = await fired(s, alert["id"])
        first_bar = datetime.fromisoformat(got[0]["bar_time"].replace("Z", "+00:00")).timestamp()
        crossings = [c for p, c in zip(history, history[1:]) if p[4] > level > c[4]]
        assert int(first_bar) in [c[0] for c in crossings], (got, crossings)
        assert float(got[0]["price"]) == next(c[4] for c in crossings if c[0] == int(first_bar))
        assert len(got) == 1
        assert next(a for a in listed["alerts"] if a["id"] == alert["id"])["status"] == "done"


async def test_an_alert_fires_once_across_a_restart(data_dir):
    async with session(data_dir) as s:
        await live_price(s, "BTC/USD")
        out = ok(await s.call_tool("alerts", {
            "action": "create", "symbol": "BTC/USD", "condition": "close > 1", "repeat": True}))
        alert_id = out["alerts"][0]["id"]
        assert "holds" in out["note"]
        await fired(s, alert_id)
    async with session(data_dir) as s:
        # Several closed minutes later the condition still holds: no new crossing, no firing.
        await live_price(s, "BTC/USD")
        await anyio.sleep(4)
        out = ok(await s.call_tool("alerts", {}))
        assert len([f for f in out["fired"] if f["id"] == alert_id]) == 1
        a = next(a for a in out["alerts"] if a["id"] == alert_id)
        assert a["status"] == "active" and a["holds"] is True and a["last_bar"] > out["fired"][0]["bar_time"]
        cancelled = ok(await s.call_tool("alerts", {"action": "cancel", "id": alert_id}))
        assert cancelled["note"] == f"{alert_id} is cancelled"


async def test_alerts_refuse_by_name(data_dir):
    async with session(data_dir) as s:
        bad = await s.call_tool("alerts", {"action": "create", "symbol": "ETH/USD", "condition": "rsi(14) <"})
        stock = await s.call_tool("alerts", {"action": "create", "symbol": "GOOG", "condition": "close > 1"})
        week = await s.call_tool("alerts", {"action": "create", "symbol": "ETH/USD", "condition": "close > 1", "timeframe": "1Week"})
    assert bad.is_error and "invalid condition" in bad.content[0].text
    assert stock.is_error and "not a crypto pair" in stock.content[0].text
    assert week.is_error and "minutes, hours or 1Day" in week.content[0].text
