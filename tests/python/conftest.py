"""Shared set-up for the cross-process tests: the built sidecar, a throw-away data folder, and
an MCP session through the official Python SDK (the client Claude Desktop's protocol is defined by)."""

import asyncio
import csv
import json
import os
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def sidecar_bin() -> str:
    path = os.environ.get("QUANTDESK_MCP_BIN") or str(ROOT / "target" / "debug" / "quantdesk-mcp")
    if not Path(path).exists():
        pytest.fail(f"sidecar binary not found at {path}; run `cargo build -p quantdesk-mcp` (cargo xtask test does)")
    return path


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


def _start_standin(path):
    """Starts a stand-in binary; returns (process, the base URL it printed)."""
    proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def _stop_standin(proc):
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# The Coinbase stand-in every sidecar of this run reads crypto from (the product's default is
# Coinbase's real endpoint; tests never reach the network).
COINBASE = {}


@pytest.fixture(scope="session", autouse=True)
def coinbase_standin():
    """One stand-in Coinbase Exchange server for the whole run; its URL goes to every sidecar."""
    path = os.environ.get("QUANTDESK_COINBASE_STANDIN_BIN") or str(
        ROOT / "target" / "debug" / "quantdesk-coinbase-standin"
    )
    if not Path(path).exists():
        pytest.fail(f"stand-in binary not found at {path}; run `cargo build -p quantdesk-coinbase-standin`")
    proc, url = _start_standin(path)
    COINBASE["url"] = url
    COINBASE["ws"] = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        _stop_standin(proc)


@asynccontextmanager
async def session(data_dir, *args, env=None):
    """An initialised MCP session with a fresh sidecar process on `data_dir`."""
    params = StdioServerParameters(
        command=sidecar_bin(),
        args=["--data-dir", str(data_dir), *args],
        env={
            "QUANTDESK_LOG": "warn",
            "QUANTDESK_COINBASE_REST_URL": COINBASE.get("url", "http://127.0.0.1:9"),
            "QUANTDESK_COINBASE_WS_URL": COINBASE.get("ws", "ws://127.0.0.1:9"),
            **(env or {}),
        },
    )
    with open(data_dir / "sidecar-stderr.log", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s


def verify_audit(data_dir):
    """Runs the sidecar's own chain check; returns (exit code, report)."""
    out = subprocess.run(
        [sidecar_bin(), "--data-dir", str(data_dir), "verify-audit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.returncode, json.loads(out.stdout)


def read_csv(name):
    with open(FIXTURES / name, newline="") as f:
        return list(csv.DictReader(f))


def standin_bin() -> str:
    path = os.environ.get("QUANTDESK_STANDIN_BIN") or str(ROOT / "target" / "debug" / "quantdesk-alpaca-standin")
    if not Path(path).exists():
        pytest.fail(f"stand-in binary not found at {path}; run `cargo build -p quantdesk-alpaca-standin`")
    return path


@pytest.fixture
def alpaca_standin():
    """A stand-in Alpaca server on 127.0.0.1 for this test; stops when its stdin closes."""
    proc, url = _start_standin(standin_bin())
    try:
        yield url
    finally:
        _stop_standin(proc)


@pytest.fixture
def alpaca_streaming_standin():
    """The stand-in Alpaca server with its market data websocket: (base URL, ws:// URL)."""
    proc, url = _start_standin(standin_bin())
    ws = proc.stdout.readline().strip()
    assert ws.startswith("ws://127.0.0.1:"), ws
    try:
        yield url, ws
    finally:
        _stop_standin(proc)


def xtask_bin() -> str:
    """The xtask binary beside the sidecar (`cargo xtask test` builds both)."""
    return os.environ.get("QUANTDESK_XTASK_BIN") or str(Path(sidecar_bin()).parent / "xtask")


# The stand-in's well-known test key (crates/alpaca-standin): not a secret.
STANDIN_KEY_ID = "PKSTANDIN00000000000"
STANDIN_SECRET = "standin-secret-not-a-real-alpaca-secret0"


# --- the Coinbase stand-in, as the live-market tests read it -----------------------------------

def coinbase(path):
    """The stand-in's REST answer for `path` (its ground truth, in Coinbase's shapes)."""
    import urllib.request
    with urllib.request.urlopen(COINBASE["url"] + path, timeout=10) as r:
        return json.load(r)


def iso(t):
    """Unix seconds as the UTC time Coinbase's query strings take."""
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def live_price(s, symbol, watch=True, tries=150):
    """get_crypto_prices until the answer comes from the stream (it has a bid and an ask),
    first putting `symbol` on the watchlist unless `watch` is false."""
    import anyio
    if watch:
        await s.call_tool("watch", {"symbols": [symbol]})
    price = None
    for _ in range(tries):
        out = await s.call_tool("get_crypto_prices", {"symbols": [symbol]})
        assert not out.is_error, out.content
        price = out.structured_content["prices"][0]
        if price.get("bid") is not None:
            return price
        await anyio.sleep(0.1)
    raise AssertionError(f"no live price for {symbol}: {price}")


def ok(result):
    """A tool call's structured answer, failing the test with the tool's message on an error."""
    assert not result.is_error, result.content[0].text if result.content else result
    return result.structured_content


def error_text(result):
    """A tool call's error message, failing the test when it succeeded."""
    assert result.is_error, result.structured_content
    return result.content[0].text


async def job_result(s, job_id, tries=600):
    """Polls get_job until the job stops running; returns its last status."""
    for _ in range(tries):
        status = ok(await s.call_tool("get_job", {"job_id": job_id}))
        if status["status"] != "running":
            return status
        await asyncio.sleep(0.1)
    return status
