"""What people install, checked from the outside: the sidecar inside the .deb (unpacked with
`dpkg -x` by `cargo xtask test`) and the one inside the .mcpb Claude Desktop extension each
answer `tools/list` through the official MCP Python SDK, the client Claude Desktop's protocol is
defined by; the .mcpb's manifest lists exactly the tools its sidecar serves.

Run by `cargo xtask test` after `cargo xtask bundle` (QUANTDESK_DEB_ROOT, QUANTDESK_MCPB)."""

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

# A few tools every build must have; the full list is compared against the manifest below.
CORE_TOOLS = {"get_stock_price", "calculate_indicators", "run_backtest", "place_order", "get_positions"}


def required_env(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these through `cargo xtask test` (it bundles first)")
    path = Path(value)
    if not path.exists():
        pytest.fail(f"{name}={path} does not exist")
    return path


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def list_tools(binary: Path, data_dir: Path) -> list:
    params = StdioServerParameters(
        command=str(binary),
        args=["--data-dir", str(data_dir)],
        env={"QUANTDESK_LOG": "warn"},
    )
    with open(data_dir / "sidecar-stderr.log", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                assert init.server_info.name, init
                return (await s.list_tools()).tools


@pytest.mark.anyio
async def test_the_deb_holds_the_app_and_a_working_sidecar_side_by_side(tmp_path):
    root = required_env("QUANTDESK_DEB_ROOT")
    app = root / "usr" / "bin" / "quantdesk-app"
    sidecar = root / "usr" / "bin" / "quantdesk-mcp"
    for binary in (app, sidecar):
        assert binary.is_file(), f"{binary} is not in the package"
        assert binary.stat().st_mode & stat.S_IXUSR, f"{binary} is not executable"
    # The app launches (and tells Claude Desktop to launch) the sidecar beside its own binary.
    assert sidecar.parent == app.parent

    tools = await list_tools(sidecar, tmp_path)
    names = {t.name for t in tools}
    assert CORE_TOOLS <= names, names
    for t in tools:
        assert t.description, f"{t.name} has no description"
        assert t.input_schema.get("type") == "object", t.name


@pytest.mark.anyio
async def test_the_mcpb_extension_unpacks_to_a_sidecar_serving_its_manifest_tools(tmp_path):
    mcpb = required_env("QUANTDESK_MCPB")
    out = tmp_path / "extension"
    with zipfile.ZipFile(mcpb) as z:
        z.extractall(out)
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    # Python's zipfile drops the recorded permissions; apply them as Claude Desktop's unpacker does.
    for name, mode in modes.items():
        if mode & 0o777:
            os.chmod(out / name, mode & 0o777)
    manifest = json.loads((out / "manifest.json").read_text())

    assert manifest["name"] == "quantdesk"
    assert manifest["server"]["type"] == "binary"
    entry = manifest["server"]["entry_point"]
    binary = out / entry
    assert binary.is_file(), f"{entry} is not in the extension"
    # Claude Desktop runs the binary as unpacked: the archive must carry its executable bit.
    assert modes.get(entry, 0) & stat.S_IXUSR, f"{entry} lost its executable bit: {oct(modes.get(entry, 0))}"
    assert manifest["server"]["mcp_config"]["command"] == "${__dirname}/" + entry
    assert (out / manifest["icon"]).is_file()
    data_dir = manifest["user_config"]["data_dir"]
    assert data_dir["type"] == "directory" and data_dir["default"]
    api_key = manifest["user_config"]["api_key"]
    assert api_key["sensitive"] is True and api_key["required"] is False
    assert manifest["server"]["mcp_config"]["env"]["QUANTDESK_API_KEY"] == "${user_config.api_key}"

    tools = await list_tools(binary, tmp_path)
    served = sorted(t.name for t in tools)
    listed = sorted(t["name"] for t in manifest["tools"])
    assert served == listed, "the manifest's tools differ from what the sidecar serves"
    assert CORE_TOOLS <= set(served)
