"""Fault injection on the paper broker: orders flow into a sidecar that is SIGKILLed at a random
moment, again and again; the next sidecar reconciles on start. No accepted order is lost (none
stays `accepted`/`sending`), none is filled twice, and the position is exactly the sum of the
fills. Raw JSON-RPC over stdio, so the kill can land mid-call."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal

import pytest

from conftest import sidecar_bin
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)
from test_trading_concurrency import set_setting

ROUNDS = 15


def start(data_dir, env):
    proc = subprocess.Popen(
        [sidecar_bin(), "--data-dir", str(data_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, **env, "QUANTDESK_LOG": "warn", "QUANTDESK_RECONCILE_AFTER_SECS": "0"})
    send(proc, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "faults", "version": "0"}}})
    assert "result" in json.loads(proc.stdout.readline())
    send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return proc


def send(proc, msg):
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()


def db(data_dir):
    return sqlite3.connect(data_dir / "quantdesk.db", timeout=30)


def unsettled(data_dir):
    con = db(data_dir)
    try:
        return con.execute("SELECT COUNT(*) FROM orders WHERE status IN ('accepted', 'sending')").fetchone()[0]
    finally:
        con.close()


def test_killing_the_sidecar_loses_no_order_and_fills_none_twice(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read,account:read,trade:paper"))
    rng = random.Random(5)
    proc = start(data_dir, env)
    set_setting(data_dir, "guard.limits", {"max_orders_per_minute": None, "max_position_value": "1000000",
                                           "max_position_pct_of_equity": "100"})
    next_id = 1
    for r in range(ROUNDS):
        # A burst of small market orders, then a kill at a random moment inside it.
        for i in range(6):
            send(proc, {"jsonrpc": "2.0", "id": next_id, "method": "tools/call", "params": {
                "name": "place_order",
                "arguments": {"symbol": "GOOG", "side": "buy", "qty": 1, "client_order_id": f"f{r}-{i}"}}})
            next_id += 1
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The next sidecar reconciles whatever the dead one left claimed but unrecorded.
        proc = start(data_dir, env)
        deadline = time.time() + 10
        while unsettled(data_dir) and time.time() < deadline:
            time.sleep(0.1)
        assert unsettled(data_dir) == 0, f"round {r}: orders left unsent"
    proc.stdin.close()
    proc.wait(timeout=10)

    con = db(data_dir)
    try:
        orders = dict(con.execute("SELECT client_order_id, status FROM orders").fetchall())
        fills = con.execute("SELECT client_order_id, COUNT(*), SUM(qty) FROM paper_fills GROUP BY client_order_id").fetchall()
        position = con.execute("SELECT qty FROM paper_positions WHERE symbol = 'GOOG'").fetchone()
        reserved = con.execute("SELECT COUNT(*) FROM order_reservations").fetchone()[0]
    finally:
        con.close()
    assert orders, "no order got in at all"
    for cid, count, _ in fills:
        assert count == 1, f"{cid} filled {count} times"
    filled = {cid for cid, _, _ in fills}
    assert filled == {cid for cid, s in orders.items() if s == "filled"}
    assert all(s == "filled" for s in orders.values()), orders
    assert Decimal(position[0]) == sum(Decimal(q) for _, _, q in fills)
    assert reserved == 0
    # How often a kill landed between the claim and the record (reconciled by the next sidecar).
    con = db(data_dir)
    try:
        reconciled = con.execute("SELECT COUNT(*) FROM audit_log WHERE outcome = 'reconciled'").fetchone()[0]
    finally:
        con.close()
    print(f"{len(orders)} orders over {ROUNDS} kills; {reconciled} reconciled after a kill")
