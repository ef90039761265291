"""A fill is never reported as a failure, through the real sidecar: a trigger in the store makes
the audit log refuse the fill's entry and the call's own entry (as a failing disk would, after
the broker filled). The answer still says "filled" and that the entries are pending; they wait
in the 0600 pending file, and the next sidecar start writes them into an intact chain."""

import json
import os
import sqlite3

import pytest

from conftest import session, verify_audit
from test_account_keys import env, install, platform  # noqa: F401  (fixtures)
from test_trading_tools import TRADER, ok

pytestmark = pytest.mark.anyio


def sql(data_dir, statement):
    con = sqlite3.connect(data_dir / "quantdesk.db", timeout=30)
    try:
        con.execute(statement)
        con.commit()
    finally:
        con.close()


async def test_a_filled_order_whose_audit_entries_fail_is_answered_filled(data_dir, platform, env, install):
    install(data_dir, platform.issue(TRADER))
    async with session(data_dir, env=env) as s:
        sql(data_dir, "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
                      "WHEN NEW.outcome = 'filled' OR (NEW.kind = 'tool_call' AND NEW.tool = 'place_order') "
                      "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END")
        out = ok(await s.call_tool("place_order", {"symbol": "GOOG", "side": "buy", "qty": 3,
                                                   "client_order_id": "pending-audit-1"}))
        assert out["outcome"] == "filled", out
        assert out["message"].startswith("filled 3 GOOG at "), out["message"]
        assert "its audit entry is pending" in out["message"], out["message"]
        assert "this call's audit entry is pending" in out["message"], out["message"]
        assert ok(await s.call_tool("get_positions", {}))["positions"][0]["qty"] == 3
    pending = data_dir / "quantdesk.db-pending-audit.jsonl"
    waiting = [json.loads(line) for line in pending.read_text().splitlines()]
    assert sorted(w["record"]["kind"] for w in waiting) == ["order", "tool_call"], waiting
    assert os.stat(pending).st_mode & 0o777 == 0o600
    sql(data_dir, "DROP TRIGGER fail_audit")
    # The next start writes them.
    async with session(data_dir, env=env) as s:
        ok(await s.call_tool("get_orders", {"client_order_id": "pending-audit-1"}))
    assert not pending.exists()
    con = sqlite3.connect(data_dir / "quantdesk.db")
    try:
        rows = [(k, o, json.loads(d)) for k, o, d in con.execute(
            "SELECT kind, outcome, detail FROM audit_log WHERE json_extract(detail, '$.deferred.id') IS NOT NULL")]
    finally:
        con.close()
    assert sorted((k, o) for k, o, _ in rows) == [("order", "filled"), ("tool_call", "ok")], rows
    code, report = verify_audit(data_dir)
    assert code == 0, report
