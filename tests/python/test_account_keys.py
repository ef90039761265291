"""Account API keys as Claude Desktop meets them: keys issued at test time by `quantdesk-keys`
(with a key pair made for the test), installed in the OS keychain (the Linux kernel keyring
unless QUANTDESK_TEST_KEYCHAIN says otherwise), then driven through the official MCP Python SDK
against the real sidecar: scope refusals, rate limits shared by two sidecar processes, narrowing,
revocation, and a scan proving the key is nowhere on disk."""

import hashlib
import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, ok, session, verify_audit

pytestmark = pytest.mark.anyio

KEYCHAIN = os.environ.get("QUANTDESK_TEST_KEYCHAIN", "keyutils")


def keys_bin() -> str:
    path = os.environ.get("QUANTDESK_KEYS_BIN") or str(ROOT / "target" / "debug" / "quantdesk-keys")
    if not Path(path).exists():
        pytest.fail(f"quantdesk-keys not found at {path}; run `cargo build -p quantdesk-keys` (cargo xtask test does)")
    return path


def run_keys(*args, env=None, stdin=None):
    out = subprocess.run(
        [keys_bin(), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, f"quantdesk-keys {' '.join(map(str, args))}: {out.stderr}"
    return out.stdout.strip()


class Platform:
    """The platform's back end for one test: its own signing key pair and ledger."""

    def __init__(self, root: Path):
        self.dir = root / "platform"
        self.public_key = run_keys("keygen", "--out", self.dir)
        self.signing_key = self.dir / "signing-key"
        self.ledger = self.dir / "ledger.json"

    def issue(self, scopes, rate="", expires_in="1d"):
        key = run_keys(
            "issue", "--signing-key", self.signing_key, "--account", "acct_pytest",
            "--scopes", scopes, "--rate", rate, "--expires-in", expires_in,
        )
        assert key.startswith("qdk_"), key
        return key

    def key_id(self, key):
        return json.loads(run_keys("inspect", "--public-key", self.public_key, stdin=key))["key_id"]

    def revoke(self, key_id, out: Path):
        run_keys("revoke", key_id, "--ledger", self.ledger)
        run_keys("revocations", "--signing-key", self.signing_key, "--out", out)


@pytest.fixture
def platform(tmp_path):
    return Platform(tmp_path)


@pytest.fixture
def env(tmp_path, platform):
    """What the sidecar and store-key run with: the test's platform key, the keychain, and a
    HOME inside the test folder (so a Claude config, were one written, would be scanned too)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"QUANTDESK_PUBLIC_KEY": platform.public_key, "QUANTDESK_KEYCHAIN": KEYCHAIN, "HOME": str(home)}


@pytest.fixture
def install(env):
    """install(data_dir, key): puts the key in the keychain for data_dir; removed afterwards."""
    installed = []

    def _install(data_dir, key):
        run_keys("store-key", "--data-dir", data_dir, env=env, stdin=key + "\n")
        installed.append(data_dir)

    yield _install
    for data_dir in installed:
        run_keys("remove-key", "--data-dir", data_dir, env=env)


def refused(result):
    assert result.is_error, result.structured_content
    return result.content[0].text


def audit_rows(data_dir):
    with sqlite3.connect(data_dir / "quantdesk.db") as db:
        rows = db.execute("SELECT actor, tool, outcome, detail FROM audit_log ORDER BY seq").fetchall()
    return [(actor, tool, outcome, json.loads(detail)) for actor, tool, outcome, detail in rows]


PRICE = ("get_stock_price", {"symbol": "GOOG"})
INDICATORS = ("calculate_indicators", {"symbol": "GOOG", "indicators": ["rsi"], "limit": 5})


async def test_a_key_without_analysis_refuses_indicators_and_answers_prices(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read"))
    async with session(data_dir, env=env) as s:
        assert ok(await s.call_tool(*PRICE))["price"] == 806.19
        message = refused(await s.call_tool(*INDICATORS))
    assert "calculate_indicators needs the 'analysis' scope" in message, message
    assert "does not grant it" in message
    rows = audit_rows(data_dir)
    assert [(tool, outcome) for _, tool, outcome, _ in rows] == [
        ("get_stock_price", "ok"),
        ("calculate_indicators", "refused"),
    ], "exactly one audit entry per call"
    assert rows[1][3]["missing_scope"] == "analysis"
    code, report = verify_audit(data_dir)
    assert code == 0 and report["entries"] == 2


async def test_a_key_without_trade_paper_refuses_place_order_and_answers_prices(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read,account:read"))
    async with session(data_dir, env=env) as s:
        assert ok(await s.call_tool(*PRICE))["price"] == 806.19
        message = refused(await s.call_tool(
            "place_order", {"symbol": "GOOG", "side": "buy", "qty": 1}))
    assert "place_order needs the 'trade:paper' scope" in message, message
    rows = audit_rows(data_dir)
    assert [(tool, outcome) for _, tool, outcome, _ in rows] == [
        ("get_stock_price", "ok"),
        ("place_order", "refused"),
    ]
    assert rows[1][3]["missing_scope"] == "trade:paper"
    with sqlite3.connect(data_dir / "quantdesk.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        journal = [t for t in tables if "order" in t]
        for table in journal:
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, f"{table}: nothing reached the order path"


async def test_guest_mode_allows_data_and_analysis(data_dir, env):
    async with session(data_dir, env=env) as s:
        ok(await s.call_tool(*PRICE))
        ok(await s.call_tool(*INDICATORS))


async def test_the_sixth_call_within_a_minute_is_throttled(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read,analysis", rate="market:read=5/min"))
    async with session(data_dir, env=env) as s:
        for _ in range(5):
            ok(await s.call_tool(*PRICE))
        message = refused(await s.call_tool(*PRICE))
        # Another family has no limit and is not throttled.
        ok(await s.call_tool(*INDICATORS))
    assert "rate limit reached" in message and "5 calls per minute" in message, message
    seconds = int(re.search(r"Retry in (\d+) s", message).group(1))
    assert 1 <= seconds <= 12, message
    throttled = [r for r in audit_rows(data_dir) if r[2] == "throttled"]
    assert len(throttled) == 1 and throttled[0][3]["family"] == "market:read"
    assert 1 <= throttled[0][3]["retry_after_s"] <= 12


async def test_two_sidecar_processes_share_one_budget(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read", rate="market:read=5/min"))
    async with session(data_dir, env=env) as a, session(data_dir, env=env) as b:
        for s in [a, b, a, b, a]:
            ok(await s.call_tool(*PRICE))
        assert "Retry in" in refused(await b.call_tool(*PRICE))
        assert "Retry in" in refused(await a.call_tool(*PRICE))
    rows = audit_rows(data_dir)
    assert len({actor for actor, *_ in rows}) == 2, "the calls came from two processes"
    assert [outcome for _, _, outcome, _ in rows] == ["ok"] * 5 + ["throttled"] * 2
    assert verify_audit(data_dir)[0] == 0


async def test_narrowing_removes_scopes_and_never_adds_them(data_dir, platform, env, install):
    install(data_dir, platform.issue("market:read,analysis"))
    run_keys("scopes", "--data-dir", data_dir, "--narrow", "market:read,trade:live", env=env)
    async with session(data_dir, env=env) as s:
        ok(await s.call_tool(*PRICE))
        assert "turned off in QuantDesk's settings" in refused(await s.call_tool(*INDICATORS))
    status = json.loads(run_keys("status", "--data-dir", data_dir, env=env))
    assert status["effective_scopes"] == ["market:read"], status

    # Narrowing to more than the key grants grants nothing more.
    install(data_dir, platform.issue("market:read"))
    run_keys("scopes", "--data-dir", data_dir, "--narrow", "market:read,analysis,trade:live", env=env)
    async with session(data_dir, env=env) as s:
        ok(await s.call_tool(*PRICE))
        assert "does not grant it" in refused(await s.call_tool(*INDICATORS))


async def test_a_revoked_key_is_refused_and_does_not_become_guest(data_dir, tmp_path, platform, env, install):
    key = platform.issue("market:read,analysis")
    install(data_dir, key)
    revoked = tmp_path / "revoked.txt"
    platform.revoke(platform.key_id(key), revoked)
    async with session(data_dir, env={**env, "QUANTDESK_REVOCATIONS": str(revoked)}) as s:
        message = refused(await s.call_tool(*PRICE))
    assert "has been revoked" in message and "Every tool is refused" in message, message
    # The verified list was cached in the store: later sidecars honour it without the file.
    async with session(data_dir, env=env) as s:
        assert "has been revoked" in refused(await s.call_tool(*PRICE))
    assert [outcome for _, _, outcome, _ in audit_rows(data_dir)] == ["refused", "refused"]


async def test_a_key_missing_from_the_keychain_is_refused_not_guest(data_dir, platform, env, install):
    key = platform.issue("market:read")
    install(data_dir, key)
    kid = platform.key_id(key)
    db_path = data_dir / "quantdesk.db"

    def set_key_id(old, new):
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE account_keys SET key_id = ? WHERE key_id = ?", (new, old))

    # The store names a key the keychain does not hold.
    set_key_id(kid, "k_00000000000000000000")
    try:
        async with session(data_dir, env=env) as s:
            message = refused(await s.call_tool(*PRICE))
    finally:
        set_key_id("k_00000000000000000000", kid)
    assert "is installed but not in the keychain" in message, message
    assert "Every tool is refused" in message

    # The keychain holds a different key than the one installed.
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE account_keys SET key_sha256 = ? WHERE key_id = ?", ("0" * 64, kid))
    async with session(data_dir, env=env) as s:
        assert "does not hold the key that was installed" in refused(await s.call_tool(*PRICE))


async def test_the_key_is_nowhere_on_disk(data_dir, tmp_path, platform, env, install):
    key = platform.issue("market:read,analysis", rate="market:read=2/min")
    install(data_dir, key)
    async with session(data_dir, "--log", "debug", env=env) as s:
        for _ in range(3):
            await s.call_tool(*PRICE)
        await s.call_tool(*INDICATORS)
    run_keys("status", "--data-dir", data_dir, env=env)

    # The store knows the key by id and SHA-256 only.
    with sqlite3.connect(data_dir / "quantdesk.db") as db:
        (stored_hash,) = db.execute("SELECT key_sha256 FROM account_keys WHERE active = 1").fetchone()
    assert stored_hash == hashlib.sha256(key.encode()).hexdigest()

    body, signature = key[len("qdk_"):].split(".")
    needles = [key.encode(), body.encode(), signature.encode()]
    scanned = []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned.append(path.relative_to(tmp_path).as_posix())
            for needle in needles:
                assert needle not in data, f"{path} holds the key (or part of it)"
    # The scan covered the store, its WAL, the sidecar's logs and the ledger.
    assert any(p.endswith("quantdesk.db") for p in scanned), scanned
    assert any(p.endswith("quantdesk.db-wal") for p in scanned), scanned
    assert any("/logs/" in p for p in scanned), scanned
    assert any(p.endswith("sidecar-stderr.log") for p in scanned), scanned
    assert any(p.endswith("ledger.json") for p in scanned), scanned
    claude = list(tmp_path.rglob("claude_desktop_config.json"))
    for config in claude:
        assert key not in config.read_text()


async def test_a_key_handed_over_by_the_launcher_is_installed_and_kept(data_dir, platform, env):
    """Claude Desktop passes the .mcpb extension's API-key setting as QUANTDESK_API_KEY."""
    key = platform.issue("market:read")
    try:
        async with session(data_dir, env={**env, "QUANTDESK_API_KEY": key}) as s:
            assert ok(await s.call_tool(*PRICE))["price"] == 806.19
            assert "needs the 'analysis' scope" in refused(await s.call_tool(*INDICATORS))
        # The next start, without the variable, runs with the key it installed (not as a guest).
        async with session(data_dir, env=env) as s:
            assert "needs the 'analysis' scope" in refused(await s.call_tool(*INDICATORS))
        assert key not in (data_dir / "quantdesk.db").read_bytes().decode("latin-1")
    finally:
        run_keys("remove-key", "--data-dir", data_dir, env=env)


async def test_a_bad_key_from_the_launcher_changes_nothing(data_dir, env):
    async with session(data_dir, env={**env, "QUANTDESK_API_KEY": "qdk_not-a-real-key"}) as s:
        # Still a guest: analysis is allowed.
        ok(await s.call_tool(*INDICATORS))
    log = (data_dir / "sidecar-stderr.log").read_text()
    assert "QUANTDESK_API_KEY: the key was not installed" in log, log
    assert "qdk_not-a-real-key" not in log

