"""Approvals across processes: the sidecar parks an order for the person, the person decides in
another process — the desktop app over its socket (a stand-in app here, speaking the versioned
JSON-lines protocol of crates/ipc), or `cargo xtask approve|reject` — and the order is sent only
after a fresh guard check, never after a rejection or an expiry. Each step is in the audit log and
visible through get_orders."""

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import ROOT, ok, session
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)
from test_trading_concurrency import set_setting

pytestmark = pytest.mark.anyio

TRADER = "market:read,account:read,trade:paper"


def xtask(*args):
    # Beside the sidecar binary when not given: one target directory builds both.
    mcp = os.environ.get("QUANTDESK_MCP_BIN")
    path = os.environ.get("QUANTDESK_XTASK_BIN") or (
        str(Path(mcp).parent / "xtask") if mcp else str(ROOT / "target" / "debug" / "xtask"))
    if not Path(path).exists():
        pytest.fail(f"xtask not found at {path}; run `cargo build -p xtask`")
    out = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def status(data_dir, cid):
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        row = con.execute("SELECT status FROM orders WHERE client_order_id = ?", (cid,)).fetchone()
        return row and row[0]
    finally:
        con.close()


def audit_outcomes(data_dir, cid):
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        rows = con.execute("SELECT outcome, detail FROM audit_log WHERE kind IN ('order', 'decision') ORDER BY seq")
        return [o for o, d in rows if json.loads(d).get("client_order_id") == cid]
    finally:
        con.close()


async def wait_until_pending(data_dir, cid):
    for _ in range(200):
        if status(data_dir, cid) == "pending_approval":
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{cid} never became pending")


def always_ask(data_dir):
    set_setting(data_dir, "guard.approval", {"policy": "always"})


BUY = {"symbol": "GOOG", "side": "buy", "qty": 2}


async def test_pending_then_approved_within_the_wait_is_sent(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "30"}) as s:
        always_ask(data_dir)
        call = asyncio.create_task(s.call_tool("place_order", {**BUY, "client_order_id": "a-1"}))
        await wait_until_pending(data_dir, "a-1")
        decided = await asyncio.to_thread(xtask, "approve", "a-1", "--data-dir", data_dir)
        assert decided["outcome"] == "filled", decided
        out = ok(await call)
        assert (out["outcome"], out["mode"]) == ("filled", "paper"), out
        assert "approved by the person" in out["message"]
        assert ok(await s.call_tool("get_positions", {}))["positions"][0]["qty"] == 2
        listed = ok(await s.call_tool("get_orders", {"client_order_id": "a-1"}))["orders"][0]
        assert listed["status"] == "filled"
    assert audit_outcomes(data_dir, "a-1") == ["pending", "approved", "allowed_after_approval", "filled"]


class StandInApp:
    """The desktop app's end of the socket: answers hello, reads the approval request, sends the
    person's decision and reads what the sidecar made of it."""

    def __init__(self, data_dir, approve):
        path = data_dir / "ipc" / "app.sock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.approve = approve
        self.seen = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, _ = self.sock.accept()
        f = conn.makefile("rw")
        def send(msg):
            f.write(json.dumps({"v": 1, **msg}) + "\n")
            f.flush()
        hello = json.loads(f.readline())
        self.seen.append(hello)
        send({"type": "hello", "version": 1, "role": "app", "pid": os.getpid()})
        request = json.loads(f.readline())
        self.seen.append(request)
        send({"type": "decision", "client_order_id": request["client_order_id"], "approve": self.approve,
              "by": "pytest stand-in app"})
        self.seen.append(json.loads(f.readline()))
        conn.close()


async def test_pending_then_rejected_in_the_app_is_never_sent(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    app = StandInApp(data_dir, approve=False)
    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "30"}) as s:
        always_ask(data_dir)
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "r-1"}))
        assert out["outcome"] == "rejected_by_person", out
        assert ok(await s.call_tool("get_positions", {}))["positions"] == []
        listed = ok(await s.call_tool("get_orders", {"status": "closed"}))["orders"]
        assert [o["status"] for o in listed] == ["rejected_by_person"]
    app.thread.join(timeout=10)
    hello, request, applied = app.seen
    assert (hello["v"], hello["type"], hello["role"]) == (1, "hello", "sidecar")
    assert request["type"] == "approval_requested" and request["client_order_id"] == "r-1"
    assert (request["symbol"], request["side"], request["qty"], request["mode"]) == ("GOOG", "buy", "2", "paper")
    assert applied["type"] == "decision_applied" and applied["status"] == "rejected_by_person"
    assert audit_outcomes(data_dir, "r-1") == ["pending", "rejected"]


async def test_approved_in_the_app_over_the_socket_is_sent(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    app = StandInApp(data_dir, approve=True)
    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "30"}) as s:
        always_ask(data_dir)
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "s-1"}))
        assert out["outcome"] == "filled", out
    app.thread.join(timeout=10)
    assert app.seen[-1]["status"] == "filled"


async def test_waiting_then_approved_later_is_sent_after_a_fresh_check(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "1"}) as s:
        always_ask(data_dir)
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "w-1"}))
        assert out["outcome"] == "pending_approval", out
        assert "waiting for your approval in QuantDesk" in out["message"] and "w-1" in out["message"]
        assert "not running" in out["message"]
        pending = ok(await s.call_tool("get_orders", {"status": "pending"}))["orders"]
        assert [o["client_order_id"] for o in pending] == ["w-1"]
        # The call has returned; the person approves later, from another process.
        decided = xtask("approve", "w-1", "--data-dir", data_dir)
        assert decided["outcome"] == "filled", decided
        assert ok(await s.call_tool("get_orders", {"client_order_id": "w-1"}))["orders"][0]["status"] == "filled"

        # A second one: by the time the person approves, the kill switch is on. Refused, not sent.
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "w-2"}))
        assert out["outcome"] == "pending_approval"
        set_setting(data_dir, "guard.limits", {"kill_switch": True})
        decided = xtask("approve", "w-2", "--data-dir", data_dir)
        assert (decided["outcome"], decided["rule"]) == ("refused", "kill_switch"), decided
        o = ok(await s.call_tool("get_orders", {"client_order_id": "w-2"}))["orders"][0]
        assert o["status"] == "rejected_by_guard" and "kill switch" in o["reason"]
        assert ok(await s.call_tool("get_positions", {}))["positions"][0]["qty"] == 2
    assert audit_outcomes(data_dir, "w-1") == ["pending", "approved", "allowed_after_approval", "filled"]
    assert audit_outcomes(data_dir, "w-2") == ["pending", "approved", "refused"]


async def test_an_expired_approval_is_never_sent(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "1",
                                      "QUANTDESK_APPROVAL_TTL_SECS": "2"}) as s:
        always_ask(data_dir)
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "e-1"}))
        assert out["outcome"] == "pending_approval"
        await asyncio.sleep(2.5)
        decided = xtask("approve", "e-1", "--data-dir", data_dir)
        assert decided["outcome"] == "duplicate" and decided["order"]["status"] == "approval_expired", decided
        o = ok(await s.call_tool("get_orders", {"client_order_id": "e-1"}))["orders"][0]
        assert o["status"] == "approval_expired"
        assert ok(await s.call_tool("get_positions", {}))["positions"] == []
    assert audit_outcomes(data_dir, "e-1") == ["pending", "approved", "expired"]


async def test_the_wait_reports_progress(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    notes = []

    async def progress(done, total, message):
        notes.append((done, total, message))

    async with session(data_dir, env={**env, "QUANTDESK_APPROVAL_WAIT_SECS": "6"}) as s:
        always_ask(data_dir)
        out = ok(await s.call_tool("place_order", {**BUY, "client_order_id": "p-1"}, progress_callback=progress))
        assert out["outcome"] == "pending_approval"
    assert len(notes) >= 2, notes
    assert all(total == 6 for _, total, _ in notes)
    assert [d for d, _, _ in notes] == sorted(d for d, _, _ in notes)
    assert "approval of p-1" in notes[0][2]
