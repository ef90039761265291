"""The sidecar on the Alpaca provider, against the stand-in Alpaca server on 127.0.0.1."""

import pytest

from conftest import STANDIN_KEY_ID, STANDIN_SECRET, session

pytestmark = pytest.mark.anyio


def alpaca_env(url, secret=STANDIN_SECRET):
    return {
        "APCA_API_KEY_ID": STANDIN_KEY_ID,
        "APCA_API_SECRET_KEY": secret,
        "QUANTDESK_ALPACA_DATA_URL": url,
    }


async def test_prices_and_bars_come_from_alpaca(data_dir, alpaca_standin):
    async with session(data_dir, "--provider", "alpaca", env=alpaca_env(alpaca_standin)) as s:
        price = await s.call_tool("get_stock_price", {"symbol": "GOOG"})
        assert not price.is_error, price.content
        out = price.structured_content
        assert out["source"] == "alpaca" and out["price"] == 806.19
        assert out["quote"]["bid"] == 806.1 and out["quote"]["ask"] == 806.3
        bars = await s.call_tool("get_market_data", {"symbol": "GOOG", "start": "2013-02-25", "end": "2013-03-01"})
        assert not bars.is_error, bars.content
        assert [b["close"] for b in bars.structured_content["bars"]][-1] == 806.19
        assert bars.structured_content["source"] == "alpaca"
        crypto = await s.call_tool("get_crypto_prices", {"symbols": ["BTC/USD"]})
        assert not crypto.is_error, crypto.content
        assert crypto.structured_content["prices"][0]["source"] == "alpaca"


async def test_a_wrong_key_is_said_plainly(data_dir, alpaca_standin):
    env = alpaca_env(alpaca_standin, secret="wrong-secret")
    async with session(data_dir, "--provider", "alpaca", env=env) as s:
        result = await s.call_tool("get_stock_price", {"symbol": "GOOG"})
    assert result.is_error
    assert "key" in result.content[0].text.lower(), result.content[0].text
    assert "wrong-secret" not in result.content[0].text
