"""Hostile input to every tool in tools/list, through the official MCP Python SDK: 10,000-deep
nesting (as JSON and as JSON text), a 2,000-parenthesis rule, 10 MB strings, NaN / Infinity /
1e308 / -0, wrong types, unicode confusables and control characters, in every parameter. Every
answer is a clear tool error or a correct answer, nothing crashes, and the same sidecar process
answers the next ordinary call.

The SDK cannot serialise 10,000-deep JSON itself (pydantic stops at a few hundred levels), so
the writer below puts that text into the request line in place of a placeholder; the request,
its id and its answer still go through the SDK's session. A 10 MB string is sent once to each
tool (the size gate refuses it before any parameter is read, so each parameter would only repeat
that), and 100 KB strings — under the gate, so they reach the handlers — go into every
parameter."""

import json
import os
from contextlib import asynccontextmanager

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage

from conftest import sidecar_bin, verify_audit

pytestmark = pytest.mark.anyio

DEEP_MARK = "__quantdesk_deep_nesting__"
DEEP = "[" * 10_000 + "1" + "]" * 10_000


class _Raw:
    """A message already serialised (what the stdio writer asks of a message)."""

    def __init__(self, text):
        self.text = text

    def model_dump_json(self, **_):
        return self.text


class DeepWriter:
    """The session's write stream, with the placeholder string replaced by 10,000-deep JSON."""

    def __init__(self, inner):
        self._inner = inner

    async def send(self, item):
        text = item.message.model_dump_json(by_alias=True, exclude_unset=True)
        if DEEP_MARK in text:
            item = SessionMessage(message=_Raw(text.replace(json.dumps(DEEP_MARK), DEEP)), metadata=item.metadata)
        await self._inner.send(item)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self._inner.__aexit__(*exc)


@asynccontextmanager
async def hostile_session(data_dir):
    params = StdioServerParameters(
        command=sidecar_bin(),
        args=["--data-dir", str(data_dir)],
        # An order that waits for approval answers at once instead of after 40 s.
        env={"QUANTDESK_LOG": "warn", "QUANTDESK_APPROVAL_WAIT_SECS": "0"},
    )
    with open(data_dir / "sidecar-stderr.log", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, DeepWriter(write)) as s:
                await s.initialize()
                yield s


RANGE = {"start": "2012-01-01", "end": "2012-12-31"}
# Valid arguments per tool, so that each hostile value is the only thing wrong with a call.
BASE = {
    "get_stock_price": {"symbol": "GOOG"},
    "get_market_data": {"symbol": "GOOG", "limit": 5},
    "get_crypto_prices": {"symbols": ["BTC/USD"]},
    "get_options_chain": {"symbol": "GOOG", "strikes_around": 2},
    "calculate_indicators": {"symbol": "GOOG", "indicators": [{"name": "sma"}], "limit": 5},
    "find_patterns": {"symbol": "GOOG", "limit": 5, **RANGE},
    "screen_stocks": {"filters": ["close > 0"]},
    "risk_analysis": {"symbols": ["GOOG"], **RANGE},
    "run_backtest": {"strategy": "sma_cross", "symbol": "GOOG", **RANGE},
    "optimize_parameters": {"strategy": "sma_cross", "symbol": "GOOG", "ranges": {"fast": [5], "slow": [20]},
                            "background": False, **RANGE},
    "analyze_strategy": {"strategy": "sma_cross", "symbol": "GOOG", "monte_carlo_runs": 5, **RANGE},
    "generate_report": {"strategy": "sma_cross", "symbol": "GOOG", **RANGE},
    "get_job": {"job_id": "no-such-job"},
    "place_order": {"symbol": "GOOG", "side": "buy", "qty": 1},
    "cancel_order": {"client_order_id": "no-such-order"},
    "get_orders": {"limit": 5},
}

HOSTILE = [
    DEEP_MARK,                      # 10,000-deep JSON
    DEEP,                           # the same as JSON text (Claude Desktop sends lists as text)
    "(" * 2000 + "close > 1" + ")" * 2000,
    "x" * 100_000,
    float("nan"), float("inf"), float("-inf"),  # pydantic sends these as null
    "NaN", "Infinity", "-Infinity", "1e309",
    1e308, -1e308, -0.0, 5e-324, 10**30, -(10**30), -1, 0,
    "", "   ", True, None, {}, [], [[]], {"a": {"b": {}}},
    "GΟΟG",                         # Greek omicrons
    "ＧＯＯＧ",                      # full-width
    "GOOG\u200b", "\u202eGOOG", "G\u0000OOG", "\x1b[31m\x07\x08\r\n", "😀" * 1000,
    "../../../../etc/passwd", "'; DROP TABLE orders; --", "$fast", "%s%n%x",
]

BAD_WORDS = ("panicked", "stack overflow", "internal error", "RUST_BACKTRACE")


def check(tool, args, result):
    """A clear tool error, or a structured answer."""
    where = f"{tool} {json.dumps(args)[:200]}"
    if result.is_error:
        text = result.content[0].text if result.content else ""
        assert text.strip(), f"{where}: an error without a message"
        assert len(text) < 20_000, f"{where}: a {len(text)}-character error"
        assert not any(w in text for w in BAD_WORDS), f"{where}: {text[:500]}"
    else:
        assert result.structured_content is not None, f"{where}: no structured answer"


async def still_answers(s):
    out = await s.call_tool("get_stock_price", {"symbol": "GOOG"})
    assert not out.is_error and out.structured_content["symbol"] == "GOOG", out


async def test_every_tool_survives_hostile_input(data_dir):
    timeout = 30.0
    async with hostile_session(data_dir) as s:
        tools = (await s.list_tools()).tools
        assert len(tools) >= 18
        calls = 0
        for tool in tools:
            base = BASE.get(tool.name, {})
            params = list((tool.input_schema.get("properties") or {}).keys()) or ["unexpected"]
            # One 10 MB string per tool, in its first parameter.
            big = await s.call_tool(tool.name, {**base, params[0]: "y" * (10 * 1024 * 1024)},
                                    read_timeout_seconds=timeout)
            assert big.is_error and "at most 1048576" in big.content[0].text, big
            for param in params + ["unexpected_field"]:
                for value in HOSTILE:
                    args = {**base, param: value}
                    result = await s.call_tool(tool.name, args, read_timeout_seconds=timeout)
                    check(tool.name, args, result)
                    calls += 1
            # Too deep for serde_json: refused by name, with the limit.
            deep = await s.call_tool(tool.name, {**base, params[0]: DEEP_MARK}, read_timeout_seconds=timeout)
            assert deep.is_error and "nested 10001 levels deep; at most 64" in deep.content[0].text, deep
            await still_answers(s)
        print(f"{calls} hostile calls over {len(tools)} tools")
    log = (data_dir / "sidecar-stderr.log").read_text(errors="replace")
    assert not any(w in log for w in BAD_WORDS), log[-3000:]
    code, report = verify_audit(data_dir)
    assert code == 0, report


async def test_a_rule_2000_parentheses_deep_is_refused_and_the_sidecar_goes_on(data_dir):
    rule = "(" * 2000 + "close > 1" + ")" * 2000
    async with hostile_session(data_dir) as s:
        for tool in ("run_backtest", "analyze_strategy", "optimize_parameters", "generate_report"):
            out = await s.call_tool(tool, {"strategy": {"long": {"entry": rule}}, "symbol": "GOOG"})
            assert out.is_error, out
            text = out.content[0].text
            assert "nested 2000 levels deep" in text and "at most 64" in text, text
            assert len(text) < 1000, text
        out = await s.call_tool("screen_stocks", {"filters": [rule]})
        assert out.is_error and "nested 2000 levels deep" in out.content[0].text, out
        out = await s.call_tool("optimize_parameters", {"strategy": "sma_cross", "symbol": "GOOG",
                                                        "constraint": rule})
        assert out.is_error and "at most 64" in out.content[0].text, out
        await still_answers(s)


async def test_what_the_sidecar_writes_is_private_to_its_user(data_dir):
    async with hostile_session(data_dir) as s:
        out = await s.call_tool("generate_report", {"strategy": "sma_cross", "symbol": "GOOG", **RANGE})
        assert not out.is_error, out
        report = out.structured_content["path"]
    assert os.stat(report).st_mode & 0o777 == 0o600, oct(os.stat(report).st_mode)
    assert os.stat(os.path.dirname(report)).st_mode & 0o777 == 0o700
    for name in ["quantdesk.db", "quantdesk.db-wal", "quantdesk.db-shm"]:
        path = data_dir / name
        if path.exists():
            assert path.stat().st_mode & 0o777 == 0o600, name
    for log in (data_dir / "logs").iterdir():
        assert log.stat().st_mode & 0o777 == 0o600, log
