"""The analysis tools through the official MCP Python SDK, on the bundled data."""

import math

import pytest

from conftest import ok, read_csv, session

pytestmark = pytest.mark.anyio


def refused(result):
    assert result.is_error, result.structured_content
    return result.content[0].text


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(b), 1e-12)


async def test_indicators_match_talib_on_goog(data_dir):
    ref = read_csv("indicators_goog.csv")
    async with session(data_dir) as s:
        out = ok(
            await s.call_tool(
                "calculate_indicators",
                {
                    "symbol": "GOOG",
                    "indicators": [
                        {"name": "sma", "params": {"period": "20"}},
                        {"name": "rsi", "params": {"period": 14}},
                        "macd",
                        {"name": "bbands", "params": {"period": 20}},
                    ],
                    "limit": 50,
                },
            )
        )
    assert out["count"] == 50 and out["source"] == "bundled"
    assert out["times"][-1].startswith("2013-03-01")
    by_name = {i["name"]: i for i in out["indicators"]}
    tail = ref[-50:]
    for i, row in enumerate(tail):
        assert out["times"][i][:10] == row[""]
        assert close(by_name["sma"]["outputs"]["sma"][i], float(row["SMA_20"]))
        assert close(by_name["rsi"]["outputs"]["rsi"][i], float(row["RSI_14"]))
        assert close(by_name["macd"]["outputs"]["macd"][i], float(row["MACD"]))
        assert close(by_name["macd"]["outputs"]["signal"][i], float(row["MACD_signal"]))
        assert close(by_name["bbands"]["outputs"]["upper"][i], float(row["BB_upper"]))
        assert close(by_name["bbands"]["outputs"]["lower"][i], float(row["BB_lower"]))
    assert by_name["rsi"]["latest"]["rsi"] == by_name["rsi"]["outputs"]["rsi"][-1]


async def test_warm_up_is_null_not_invented(data_dir):
    async with session(data_dir) as s:
        out = ok(await s.call_tool("calculate_indicators", {"symbol": "GOOG", "indicators": ["rsi"], "start": "2004-08-19", "limit": "20"}))
    values = out["indicators"][0]["outputs"]["rsi"]
    assert values[:14] == [None] * 14 and all(isinstance(v, float) for v in values[14:])


async def test_unknown_indicator_lists_the_valid_ones(data_dir):
    async with session(data_dir) as s:
        message = refused(await s.call_tool("calculate_indicators", {"symbol": "GOOG", "indicators": ["rsx"]}))
        assert "rsx" in message and "rsi" in message and "macd" in message
        message = refused(
            await s.call_tool("calculate_indicators", {"symbol": "GOOG", "indicators": [{"name": "rsi", "params": {"length": 3}}]})
        )
        assert "length" in message and "period" in message
        message = refused(await s.call_tool("calculate_indicators", {"symbol": "GOOG", "indicators": "rsi"}))
        assert "indicators" in message


def closes_by_date(name, date_col, close_col):
    return {r[date_col]: float(r[close_col]) for r in read_csv(name)}


async def test_beta_of_goog_against_spx_matches_an_independent_computation(data_dir):
    async with session(data_dir) as s:
        out = ok(
            await s.call_tool(
                "risk_analysis",
                {"symbols": ["GOOG"], "benchmark": "SPX", "start": "2005-01-01", "end": "2012-12-31"},
            )
        )
    # Independently: common dates, simple returns, sample covariance / sample variance.
    goog = closes_by_date("GOOG.csv", "", "Close")
    spx = closes_by_date("SPX.csv", "date", "close")
    dates = sorted(d for d in goog if d in spx and "2005-01-01" <= d <= "2012-12-31")
    g = [goog[d] for d in dates]
    m = [spx[d] for d in dates]
    rg = [b / a - 1 for a, b in zip(g, g[1:])]
    rm = [b / a - 1 for a, b in zip(m, m[1:])]
    n = len(rg)
    mg, mm = sum(rg) / n, sum(rm) / n
    cov = sum((x - mg) * (y - mm) for x, y in zip(rg, rm)) / (n - 1)
    var = sum((y - mm) ** 2 for y in rm) / (n - 1)
    beta = cov / var
    vol = math.sqrt(sum((x - mg) ** 2 for x in rg) / (n - 1)) * math.sqrt(252)
    asset = out["assets"][0]
    assert asset["name"] == "GOOG"
    assert close(asset["versus_benchmark"]["beta"], beta, 1e-9), (asset["versus_benchmark"]["beta"], beta)
    assert close(asset["volatility"], vol, 1e-9)
    assert out["start"].startswith(dates[0]) and out["end"].startswith(dates[-1])
    assert out["source"] == "bundled"
    var95 = [v for v in asset["var"] if v["confidence"] == 0.95][0]
    assert 0 < var95["historical_var"] < var95["historical_cvar"]


async def test_portfolio_risk_reports_concentration(data_dir):
    async with session(data_dir) as s:
        out = ok(
            await s.call_tool(
                "risk_analysis",
                {"holdings": "[{\"symbol\": \"GOOG\", \"weight\": 3}, {\"symbol\": \"SPX\", \"weight\": 2}]", "benchmark": "none"},
            )
        )
    conc = out["portfolio"]["concentration"]
    assert close(conc["largest_weight"], 0.6) and close(conc["hhi"], 0.36 + 0.16)
    assert out["benchmark"] is None


async def test_screener_filters_and_sorts_the_bundled_universe(data_dir):
    async with session(data_dir) as s:
        out = ok(await s.call_tool("screen_stocks", {"filters": ["close > 0"], "sort": "rsi(14) desc"}))
        names = [m["symbol"] for m in out["matches"]]
        assert {"GOOG", "SPX"} <= set(names), out
        values = [m["sort_value"] for m in out["matches"]]
        assert values == sorted(values, reverse=True)
        # An indicator the reference file pins: GOOG's RSI(14) on 2013-03-01.
        ref = read_csv("indicators_goog.csv")[-1]
        only = ok(await s.call_tool("screen_stocks", {"filters": [f"rsi(14) > {float(ref['RSI_14']) - 1e-6}"], "universe": ["GOOG"]}))
        assert [m["symbol"] for m in only["matches"]] == ["GOOG"]
        none = ok(await s.call_tool("screen_stocks", {"filters": [f"rsi(14) > {float(ref['RSI_14']) + 1e-6}"], "universe": ["GOOG"]}))
        assert none["matches"] == []
        message = refused(await s.call_tool("screen_stocks", {"filters": ["rsi(14) <"]}))
        assert "column" in message.lower() or "expected" in message.lower(), message


async def test_candlestick_patterns_match_talib_signals_on_goog(data_dir):
    ref = read_csv("indicators_goog.csv")[-250:]
    expected = set()
    for row in ref:
        for column, name in [("CDLENGULFING", "engulfing"), ("CDLDOJI", "doji"), ("CDLHAMMER", "hammer")]:
            if int(row[column]) != 0:
                expected.add((row[""], name, int(row[column])))
    async with session(data_dir) as s:
        out = ok(await s.call_tool("find_patterns", {"symbol": "GOOG", "kinds": ["engulfing", "doji", "hammer"]}))
    got = {(c["time"][:10], c["pattern"], c["value"]) for c in out["candlesticks"]}
    assert got == expected
    assert out["bars_scanned"] == 250 and out["to"].startswith("2013-03-01")
    assert out["chart_patterns"] == [] and out["levels"] == []


async def test_chart_patterns_and_levels_name_their_bars(data_dir):
    async with session(data_dir) as s:
        out = ok(await s.call_tool("find_patterns", {"symbol": "SPX", "start": "2007-01-01", "end": "2009-12-31", "kinds": ["chart", "levels"]}))
        assert out["levels"], "three volatile years of the S&P 500 show support and resistance"
        for level in out["levels"]:
            assert level["low"] <= level["price"] <= level["high"] and level["touches"] >= 2
        for p in out["chart_patterns"]:
            assert p["points"] and all("2007" <= q["time"][:4] <= "2009" for q in p["points"])
            assert p["direction"] in ("bullish", "bearish")
        message = refused(await s.call_tool("find_patterns", {"symbol": "GOOG", "kinds": ["unicorn"]}))
        assert "unicorn" in message and "hammer" in message and "double_top" in message
