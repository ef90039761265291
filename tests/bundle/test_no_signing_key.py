"""The platform's signing key never ships: every file of the .deb (unpacked) and of the .mcpb
holds no signing-key seed (`qdsk_` + 43 base64url characters, the format `quantdesk-keys keygen`
and the platform write) and no file named like one; the sidecar carries the platform's public
key, which is all an installation needs to verify keys offline.

Run by `cargo xtask bundle --check` (QUANTDESK_DEB_ROOT, QUANTDESK_MCPB)."""

import re
import zipfile
from pathlib import Path

from test_packaged import required_env

SEED = re.compile(rb"qdsk_[A-Za-z0-9_-]{43}")
ROOT = Path(__file__).resolve().parents[2]


def public_key() -> bytes:
    source = (ROOT / "crates/keys/src/key.rs").read_text()
    match = re.search(r'pub const PLATFORM_PUBLIC_KEY: &str = "([A-Za-z0-9_-]+)";', source)
    assert match, "PLATFORM_PUBLIC_KEY not found in crates/keys/src/key.rs"
    return match.group(1).encode()


def check(name: str, data: bytes) -> None:
    assert not SEED.search(data), f"{name} holds a signing-key seed"
    assert "signing-key" not in Path(name).name, f"{name} looks like a signing key file"


def test_the_deb_holds_only_the_public_key():
    root = required_env("QUANTDESK_DEB_ROOT")
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        check(str(path.relative_to(root)), path.read_bytes())
    sidecar = next(p for p in files if p.name == "quantdesk-mcp")
    assert public_key() in sidecar.read_bytes(), "the sidecar trusts the platform's public key"


def test_the_mcpb_holds_only_the_public_key():
    mcpb = required_env("QUANTDESK_MCPB")
    with zipfile.ZipFile(mcpb) as z:
        names = z.namelist()
        for name in names:
            check(name, z.read(name))
        sidecar = next(n for n in names if Path(n).name.startswith("quantdesk-mcp"))
        assert public_key() in z.read(sidecar)
