"""Eight sidecar processes, one store: each tries, at the same moment, to buy just under what the
position limit still allows. The guard's check and reservation share one immediate transaction,
so across 100 rounds at most the limit is ever reserved — exactly one order per round gets in."""

import asyncio
import json
import sqlite3
from contextlib import AsyncExitStack
from decimal import Decimal

import pytest

from conftest import session
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio

SIDECARS = 8
ROUNDS = 100
MAX_POSITION = Decimal("25000")


def set_setting(data_dir, key, value):
    """What the desktop app's limit screen writes."""
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    with con:
        con.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, '2026-01-01T00:00:00.000000Z') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))
    con.close()


def reserved(data_dir):
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        return sum((Decimal(n) for (n,) in con.execute("SELECT notional FROM order_reservations")), Decimal(0))
    finally:
        con.close()


async def test_eight_sidecars_never_jointly_pass_the_position_limit(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read,account:read,trade:paper"))
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(session(data_dir, env=env)) for _ in range(SIDECARS)]
        set_setting(data_dir, "guard.limits", {
            "max_order_value": "30000", "max_position_value": str(MAX_POSITION),
            "max_position_pct_of_equity": "30", "max_orders_per_minute": None})
        bars = (await sessions[0].call_tool("get_market_data", {"symbol": "GOOG", "end": "2012-03-01", "limit": 1})).structured_content
        price = Decimal(str(bars["bars"][-1]["open"]))
        # A resting buy 2% under the market, for just under the whole position limit: it holds its
        # reservation while it rests, so a second one can never fit beside it.
        limit = (price * Decimal("0.98")).quantize(Decimal("0.01"))
        qty = int((MAX_POSITION - 1) / max(price, limit))
        assert qty * price > MAX_POSITION / 2
        for r in range(ROUNDS):
            results = await asyncio.gather(*[
                s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": qty, "limit_price": str(limit),
                                            "time_in_force": "gtc", "client_order_id": f"r{r}-s{i}"})
                for i, s in enumerate(sessions)])
            outcomes = [res.structured_content["outcome"] for res in results]
            accepted = [i for i, o in enumerate(outcomes) if o == "open"]
            assert len(accepted) == 1, (r, outcomes)
            refused = [res.structured_content for res in results if res.structured_content["outcome"] == "refused"]
            assert all(x["rule"] in ("max_position_value", "max_position_pct_of_equity") for x in refused), refused
            assert reserved(data_dir) <= MAX_POSITION
            # Free the limit for the next round.
            cancel = await sessions[(r + 1) % SIDECARS].call_tool("cancel_order", {"client_order_id": f"r{r}-s{accepted[0]}"})
            assert cancel.structured_content["order"]["status"] == "canceled"
            assert reserved(data_dir) == 0
