//! `cargo xtask mcpb`: the sidecar as a Claude Desktop extension (an MCP Bundle, `.mcpb`), for
//! people who install through Claude Desktop's extension screen instead of the app.
//!
//! The manifest is generated, not written by hand: its tools list comes from the release
//! sidecar's own `tools/list` (a JSON-RPC exchange over stdio, as Claude Desktop does), its
//! version from the workspace, its icon from `icons/`. It is then checked and packed by the
//! official `@anthropic-ai/mcpb` CLI (a devDependency of `ui/`): `mcpb validate`, `mcpb pack`.
//!
//! A `.mcpb` holds a native binary, so it is per OS: `quantdesk-<version>-<os>-<arch>.mcpb`.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{bundle, setup, step, ui};

/// Builds the release sidecar and packs it; returns the `.mcpb`.
pub fn mcpb() -> Result<PathBuf> {
    setup::setup_build()?;
    let sidecar = bundle::build_sidecar()?;
    pack(&sidecar)
}

/// Stages `sidecar` with a generated manifest and the icon, validates and packs it.
pub fn pack(sidecar: &Path) -> Result<PathBuf> {
    let version = env!("CARGO_PKG_VERSION");
    let stage = step::target_dir().join("mcpb").join("quantdesk");
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("clearing {}", stage.display()))?;
    }
    let server_dir = stage.join("server");
    fs::create_dir_all(&server_dir)?;
    let bin_name = format!("quantdesk-mcp{}", std::env::consts::EXE_SUFFIX);
    fs::copy(sidecar, server_dir.join(&bin_name))
        .with_context(|| format!("copying {}", sidecar.display()))?;
    fs::copy(
        step::root().join("icons").join("icon.png"),
        stage.join("icon.png"),
    )
    .context("copying icons/icon.png")?;

    step::announce("mcpb: the sidecar's tools (tools/list)");
    let tools = list_tools(sidecar)?;
    eprintln!("    {} tools", tools.len());
    let manifest = manifest(version, &bin_name, &tools)?;
    fs::write(
        stage.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;

    step::run(
        "mcpb: validate manifest.json",
        mcpb_cli().arg("validate").arg(stage.join("manifest.json")),
    )?;
    let out_dir = step::target_dir()
        .join("release")
        .join("bundle")
        .join("mcpb");
    fs::create_dir_all(&out_dir)?;
    let out = out_dir.join(format!(
        "quantdesk-{version}-{}-{}.mcpb",
        mcpb_platform(),
        std::env::consts::ARCH
    ));
    step::run("mcpb: pack", mcpb_cli().arg("pack").arg(&stage).arg(&out))?;
    let size = fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!("    {} ({})", out.display(), bundle::human_size(size));
    Ok(out)
}

/// The official MCPB CLI from `ui/node_modules`.
pub fn mcpb_cli() -> Command {
    let bin = ui::dir()
        .join("node_modules")
        .join(".bin")
        .join(if cfg!(windows) { "mcpb.cmd" } else { "mcpb" });
    let mut cmd = Command::new(bin);
    step::stdout_to_stderr(&mut cmd);
    cmd
}

/// Claude Desktop's name for this OS (`process.platform`).
fn mcpb_platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    }
}

/// The per-user data folder (shared with the app), with the home folder as `${HOME}` so the
/// default fits any user of this OS.
fn default_data_dir() -> String {
    let dir = quantdesk_store::default_data_dir().unwrap_or_default();
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from);
    match home.and_then(|h| dir.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("${{HOME}}{}{}", std::path::MAIN_SEPARATOR, rest.display()),
        None => dir.display().to_string(),
    }
}

/// The MCPB manifest (manifest_version 0.3, the newest Claude Desktop reads without the
/// experimental fields).
pub fn manifest(version: &str, bin_name: &str, tools: &[(String, String)]) -> Result<Value> {
    if tools.is_empty() {
        bail!("the sidecar listed no tools");
    }
    Ok(json!({
        "manifest_version": "0.3",
        "name": "quantdesk",
        "display_name": "QuantDesk",
        "version": version,
        "description": "Your personal quant inside Claude: market data, technical analysis, backtests and paper trading, inside limits you set.",
        "long_description": "QuantDesk gives Claude market data, indicators and chart patterns, strategy backtests with reports, and trading through the built-in paper broker (or your Alpaca account once linked in the QuantDesk app). Every order is checked against your limits, large ones wait for your approval, and everything is kept in a tamper-evident audit log in your data folder.\n\nThe QuantDesk desktop app (optional) adds onboarding, approvals with one click, the audit viewer and settings; it uses the same data folder.",
        "author": { "name": "QuantDesk", "url": "https://github.com/quantdesk/quantdesk" },
        "repository": { "type": "git", "url": "https://github.com/quantdesk/quantdesk" },
        "homepage": "https://github.com/quantdesk/quantdesk",
        "license": "Apache-2.0",
        "icon": "icon.png",
        "keywords": ["trading", "quant", "backtesting", "market data", "finance"],
        "server": {
            "type": "binary",
            "entry_point": format!("server/{bin_name}"),
            "mcp_config": {
                "command": format!("${{__dirname}}/server/{bin_name}"),
                "args": ["serve"],
                "env": {
                    "QUANTDESK_API_KEY": "${user_config.api_key}",
                    "QUANTDESK_DATA_DIR": "${user_config.data_dir}",
                    "QUANTDESK_LOG": "warn"
                }
            }
        },
        "tools": tools
            .iter()
            .map(|(name, description)| json!({ "name": name, "description": first_sentence(description) }))
            .collect::<Vec<_>>(),
        "tools_generated": false,
        "compatibility": {
            "platforms": [mcpb_platform()]
        },
        "user_config": {
            "api_key": {
                "type": "string",
                "title": "QuantDesk API key",
                "description": "Optional. Your account key (qdk_…), kept in the keychain. Leave empty to use the key you signed in with in the QuantDesk app, or guest mode: data, analysis, backtests and paper trading.",
                "sensitive": true,
                "required": false,
                "default": ""
            },
            "data_dir": {
                "type": "directory",
                "title": "Data folder",
                "description": "Where QuantDesk keeps its database, audit log and logs. The default is the folder the QuantDesk app uses, so both see the same account, limits and approvals.",
                "required": false,
                "default": default_data_dir()
            }
        }
    }))
}

/// A tool's description up to its first sentence: the list Claude Desktop shows stays short.
fn first_sentence(text: &str) -> String {
    let text = text.trim();
    match text.find(". ") {
        Some(i) => text[..=i].to_owned(),
        None => text.to_owned(),
    }
}

/// `(name, description)` of every tool `sidecar` lists, over stdio JSON-RPC with a throw-away
/// data folder.
pub fn list_tools(sidecar: &Path) -> Result<Vec<(String, String)>> {
    let data = std::env::temp_dir().join(format!("quantdesk-mcpb-{}", std::process::id()));
    fs::create_dir_all(&data)?;
    let result = list_tools_in(sidecar, &data);
    let _ = fs::remove_dir_all(&data);
    result
}

fn list_tools_in(sidecar: &Path, data: &Path) -> Result<Vec<(String, String)>> {
    let mut child = Command::new(sidecar)
        .arg("--data-dir")
        .arg(data)
        .arg("serve")
        .env("QUANTDESK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", sidecar.display()))?;
    let mut stdin = child.stdin.take().context("sidecar stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("sidecar stdout")?);
    let mut send = |msg: Value| -> Result<()> {
        writeln!(stdin, "{msg}")?;
        stdin.flush()?;
        Ok(())
    };
    let mut read = |id: i64| -> Result<Value> {
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line)? == 0 {
                bail!("the sidecar closed stdout before answering request {id}");
            }
            let msg: Value = serde_json::from_str(line.trim())
                .with_context(|| format!("the sidecar wrote a non-JSON line: {line:?}"))?;
            if msg.get("id").and_then(Value::as_i64) == Some(id) {
                if let Some(err) = msg.get("error") {
                    bail!("request {id} failed: {err}");
                }
                return msg
                    .get("result")
                    .cloned()
                    .context("an answer without result");
            }
        }
    };
    send(json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "quantdesk-xtask-mcpb", "version": env!("CARGO_PKG_VERSION") }
        }
    }))?;
    read(1)?;
    send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))?;
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 2.. {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        send(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params }))?;
        let page = read(id)?;
        for t in page
            .get("tools")
            .and_then(Value::as_array)
            .context("tools/list without tools")?
        {
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .context("a tool without name")?;
            let description = t.get("description").and_then(Value::as_str).unwrap_or("");
            tools.push((name.to_owned(), description.to_owned()));
        }
        cursor = page
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    // End of input: the sidecar exits.
    drop(stdin);
    let _ = child.wait();
    Ok(tools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_keeps_the_list_short() {
        assert_eq!(
            first_sentence("Price of a stock. Uses the provider."),
            "Price of a stock."
        );
        assert_eq!(first_sentence("One line"), "One line");
        assert_eq!(first_sentence("v1.2 is fine"), "v1.2 is fine");
    }

    #[test]
    fn the_manifest_points_at_the_bundled_binary_and_lists_the_tools() {
        let tools = vec![("get_stock_price".to_string(), "Price. More.".to_string())];
        let m = manifest("1.2.3", "quantdesk-mcp", &tools).unwrap();
        assert_eq!(m["version"], "1.2.3");
        assert_eq!(m["server"]["type"], "binary");
        assert_eq!(m["server"]["entry_point"], "server/quantdesk-mcp");
        assert_eq!(
            m["server"]["mcp_config"]["command"],
            "${__dirname}/server/quantdesk-mcp"
        );
        assert_eq!(m["tools"][0]["name"], "get_stock_price");
        assert_eq!(m["tools"][0]["description"], "Price.");
        assert!(manifest("1.2.3", "quantdesk-mcp", &[]).is_err());
    }
}
