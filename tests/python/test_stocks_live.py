"""Stocks live from a linked Alpaca account, through real sidecar processes and the official MCP
client: the account is linked as a person without the app would (`xtask link-alpaca`: key
checked with the stand-in, kept in the kernel keyring, link in the store); `watch` takes a stock,
`get_stock_price` answers from Alpaca's market data stream (source `alpaca-stream`, bid and ask,
`as_of` within a second), and a second sidecar beside the first shares the one upstream
connection Alpaca allows (the stand-in counts them)."""

import json
import os
import subprocess
import time
import urllib.request
from datetime import datetime, timezone

import anyio
import pytest

from conftest import STANDIN_KEY_ID, STANDIN_SECRET, ok, session, xtask_bin

pytestmark = pytest.mark.anyio

KEYCHAIN = os.environ.get("QUANTDESK_TEST_KEYCHAIN", "keyutils")


def hook(url, path="", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + "/_standin/stream" + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def linked(tmp_path, data_dir, alpaca_streaming_standin):
    url, ws = alpaca_streaming_standin
    env = {"QUANTDESK_KEYCHAIN": KEYCHAIN, "APCA_API_KEY_ID": STANDIN_KEY_ID, "APCA_API_SECRET_KEY": STANDIN_SECRET,
           "QUANTDESK_ALPACA_TRADING_URL": url, "QUANTDESK_ALPACA_DATA_URL": url, "QUANTDESK_ALPACA_STREAM_URL": ws}
    done = subprocess.run([xtask_bin(), "link-alpaca", "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    assert "linked the Alpaca paper account" in done.stderr
    assert "(stocks on the iex feed)" in done.stderr, "the stand-in's plan has no SIP"
    # The sidecars find the key in the keychain, not in their environment.
    sidecar_env = {k: v for k, v in env.items() if not k.startswith("APCA_")}
    return url, sidecar_env


async def live_stock(s, url, symbol, bid, ask, tries=200):
    """Publishes the quote until get_stock_price answers it from the stream."""
    price = None
    for _ in range(tries):
        hook(url, "/quote", {"symbol": symbol, "bid": bid, "ask": ask, "time": now()})
        price = ok(await s.call_tool("get_stock_price", {"symbol": symbol}))
        if price["source"] == "alpaca-stream" and price["quote"]["bid"] == float(bid):
            return price
        await anyio.sleep(0.05)
    raise AssertionError(f"no streamed price for {symbol}: {price}")


async def test_a_linked_account_streams_stocks_to_every_sidecar_over_one_connection(data_dir, linked):
    url, env = linked
    async with session(data_dir, env=env) as first:
        watched = ok(await first.call_tool("watch", {"symbols": ["GOOG"]}))
        assert [w["symbol"] for w in watched["watching"]] == ["GOOG"]
        assert watched["stocks_stream"]["source"] == "alpaca-stream"
        refused = await first.call_tool("watch", {"symbols": ["NOPE"]})
        assert refused.is_error and "Alpaca has no market data for 'NOPE'" in refused.content[0].text

        price = await live_stock(first, url, "GOOG", "806.10", "806.30")
        assert (price["quote"]["bid"], price["quote"]["ask"]) == (806.1, 806.3)
        as_of = datetime.fromisoformat(price["as_of"].replace("Z", "+00:00"))
        assert abs((datetime.now(timezone.utc) - as_of).total_seconds()) < 1.0
        assert "stale" not in price

        async with session(data_dir, env=env) as second:
            mirrored = await live_stock(second, url, "GOOG", "806.20", "806.40")
            assert mirrored["source"] == "alpaca-stream"
            assert hook(url) == {"connections": 1, "refused": 0}, "one upstream connection for both"

        # The stream survives a dropped connection: reconnected, resubscribed, live again.
        hook(url, "/drop", {})
        deadline = time.monotonic() + 20
        while hook(url)["connections"] < 2:
            assert time.monotonic() < deadline, "reconnected after the drop"
            await anyio.sleep(0.05)
        again = await live_stock(first, url, "GOOG", "807.00", "807.20")
        assert again["quote"]["ask"] == 807.2
