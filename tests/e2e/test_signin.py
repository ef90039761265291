"""The app signs in through the browser, in its real window: the real platform runs on
127.0.0.1 (mail to its log); the app's onboarding shows "Sign in with your browser"; a click
shows the code; the person — a cookie-keeping HTTP client here, Chromium in the platform's own
test — signs up, verifies, signs in and approves that code; the app moves on by itself with the
key in the keychain and shows its scopes in Settings, with nothing copied by hand."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from test_platform_signin import Browser, mailed_link, platform  # noqa: E402,F401
from test_app import desktop  # noqa: E402,F401


@pytest.fixture
def desktop_env(platform):
    return {
        "QUANTDESK_PLATFORM_URL": platform["url"],
        "QUANTDESK_PUBLIC_KEY": platform["public_key"],
        "QUANTDESK_OPEN_BROWSER": "0",
        "QUANTDESK_KEYCHAIN": "keyutils",
    }


def test_the_app_signs_in_through_the_browser(desktop, platform):
    wd, _home, _data = desktop
    wd.wait('[data-testid="onboarding-welcome"]')
    wd.click('[data-testid="start"]')
    wd.wait('[data-testid="onboarding-sign_in"]')
    wd.click('[data-testid="browser-sign-in"]')
    code = wd.wait('[data-testid="user-code"]').strip()
    assert len(code) == 9 and code[4] == "-", code
    wd.shot("20-browser-sign-in-code")

    person = Browser(platform["url"])
    person.request("/signup")
    status, page = person.request("/signup", {"email": "eve@example.com", "password": "violet kettle drums 9"})
    assert status == 200, page
    status, page = person.request(mailed_link(platform["log"], "/verify?token="))
    assert "Your email is verified" in page, page
    status, _ = person.request("/signin", {"email": "eve@example.com", "password": "violet kettle drums 9"})
    assert status == 303
    status, page = person.request(f"/device?user_code={code}")
    assert status == 200 and code in page, page
    status, page = person.request("/device/decide", {"user_code": code, "decision": "approve"})
    assert "The app is signed in" in page, page

    wd.wait('[data-testid="onboarding-broker"]', timeout=60)
    wd.shot("21-browser-signed-in")
    settings = wd.invoke("settings")
    assert "ok" in settings, settings
    identity = settings["ok"]["identity"]
    assert not identity["guest"] and identity["problem"] is None, identity
    assert "account:read" in identity["scopes"], identity
    assert "trade:live" not in identity["scopes"], identity
