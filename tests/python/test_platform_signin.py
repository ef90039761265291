"""End to end through the platform: the real `quantdesk-platform` (SQLite, mail to its log), a
person in a cookie-keeping HTTP client (sign up, verify from the mailed link, sign in, approve
the device code), the app's sign-in code (`quantdesk-keys sign-in`: the same device-flow client
and key install the app uses), and the real sidecar driven by the official MCP Python SDK. The
key approved in the browser gives the sidecar exactly its scopes; revoked on the website, the
sidecar refuses it after the app's next refresh (`quantdesk-keys refresh`, the app's hourly
call, forced here)."""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, session
from test_account_keys import INDICATORS, KEYCHAIN, PRICE, keys_bin, ok, refused

pytestmark = pytest.mark.anyio


def platform_bin() -> str:
    path = os.environ.get("QUANTDESK_PLATFORM_BIN") or str(ROOT / "target" / "debug" / "quantdesk-platform")
    if not Path(path).exists():
        pytest.fail(f"quantdesk-platform not found at {path}; cargo xtask test builds it")
    return path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies kept, redirects not followed, the CSRF cookie repeated in every form."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path, form=None):
        url = path if path.startswith("http") else self.base + path
        data = None
        if form is not None:
            csrf = next((c.value for c in self.jar if c.name == "qd_csrf"), "")
            data = urllib.parse.urlencode({**form, "csrf": csrf}).encode()
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


@pytest.fixture
def platform(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "platform.log", "w+")
    proc = subprocess.Popen(
        [platform_bin(), "--data-dir", str(tmp_path / "platform"), "--listen", f"127.0.0.1:{port}", "--device-poll-interval", "1"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    try:
        public_key = None
        for line in proc.stdout:
            if line.startswith("public key: "):
                public_key = line.split(": ", 1)[1].strip()
                break
        assert public_key, "the platform printed its public key"
        yield {"url": f"http://127.0.0.1:{port}", "public_key": public_key, "log": tmp_path / "platform.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def mailed_link(log: Path, needle: str) -> str:
    for _ in range(100):
        found = re.findall(r"(http://\S+" + re.escape(needle) + r"\S+)", log.read_text())
        if found:
            return found[-1]
        time.sleep(0.05)
    pytest.fail(f"no mail with {needle} in the platform's log")


async def test_a_key_approved_in_the_browser_gives_the_sidecar_its_scopes_until_revoked(platform, data_dir, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"QUANTDESK_PUBLIC_KEY": platform["public_key"], "QUANTDESK_KEYCHAIN": KEYCHAIN, "HOME": str(home), "QUANTDESK_LOG": "warn"}
    person = Browser(platform["url"])
    person.request("/signup")
    status, page = person.request("/signup", {"email": "ada@example.com", "password": "violet kettle drums 9"})
    assert status == 200 and "the message was written to the platform's log" in page, page
    status, page = person.request(mailed_link(platform["log"], "/verify?token="))
    assert status == 200 and "Your email is verified" in page, page
    status, _ = person.request("/signin", {"email": "ada@example.com", "password": "violet kettle drums 9"})
    assert status == 303

    signing_in = subprocess.Popen(
        [keys_bin(), "sign-in", "--data-dir", str(data_dir), "--platform", platform["url"], "--scopes", "market:read,account:read", "--device-name", "QuantDesk on pytest"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
    )
    try:
        started = json.loads(signing_in.stdout.readline())
        status, page = person.request(started["verification_uri_complete"])
        assert status == 200 and "QuantDesk on pytest" in page and "account:read" in page, page
        status, page = person.request("/device/decide", {"user_code": started["user_code"], "decision": "approve"})
        assert status == 200 and "The app is signed in" in page, page
        _, err = signing_in.communicate(timeout=60)
        assert signing_in.returncode == 0, err
    finally:
        if signing_in.poll() is None:
            signing_in.kill()
    key_id = re.search(r"the API key (k_[0-9a-f]+)", err).group(1)

    try:
        async with session(data_dir, env=env) as s:
            assert ok(await s.call_tool(*PRICE))["source"] == "bundled"
            assert "does not grant it" in refused(await s.call_tool(*INDICATORS)), "the key's scopes, no more"

        status, page = person.request(f"/keys/{key_id}/revoke", {})
        assert status == 200 and "is revoked" in page, page
        out = subprocess.run([keys_bin(), "refresh", "--data-dir", str(data_dir), "--platform", platform["url"]],
                             capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        assert out.returncode == 0, out.stderr
        async with session(data_dir, env=env) as s:
            message = refused(await s.call_tool(*PRICE))
        assert "revoked on the QuantDesk platform" in message and "sign in again" in message, message
    finally:
        subprocess.run([keys_bin(), "remove-key", "--data-dir", str(data_dir)], capture_output=True, env={**os.environ, **env})
