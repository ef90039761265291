//! The landing page (what QuantDesk does, a download button for the visitor's OS) and the
//! downloads page: the latest published release's installers and `.mcpb` with size and SHA-256,
//! and the Claude Desktop config entry for people who don't use the app (no secret in it).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::page;
use super::session::Visitor;
use crate::db::releases::{Release, ReleaseFile};
use crate::{AppState, WebError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Linux,
    Mac,
    Windows,
}

impl Os {
    fn from_agent(headers: &HeaderMap) -> Option<Os> {
        let agent = headers.get(header::USER_AGENT)?.to_str().ok()?;
        if agent.contains("Windows") {
            Some(Os::Windows)
        } else if agent.contains("Macintosh") || agent.contains("Mac OS X") {
            Some(Os::Mac)
        } else if agent.contains("Linux") || agent.contains("X11") {
            Some(Os::Linux)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Mac => "macOS",
            Os::Windows => "Windows",
        }
    }

    fn of(file: &str) -> Option<Os> {
        if file.ends_with(".deb") || file.ends_with(".AppImage") || file.ends_with(".rpm") {
            Some(Os::Linux)
        } else if file.ends_with(".dmg") || file.ends_with(".app.tar.gz") {
            Some(Os::Mac)
        } else if file.ends_with(".msi") || file.ends_with(".exe") {
            Some(Os::Windows)
        } else {
            None
        }
    }

    /// Where the installer puts the sidecar.
    fn sidecar_path(self) -> &'static str {
        match self {
            Os::Linux => "/usr/bin/quantdesk-mcp",
            Os::Mac => "/Applications/QuantDesk.app/Contents/MacOS/quantdesk-mcp",
            Os::Windows => "C:\\Users\\YOU\\AppData\\Local\\QuantDesk\\quantdesk-mcp.exe",
        }
    }
}

/// The newest published release (by semantic version).
pub async fn latest(state: &AppState) -> Result<Option<Release>, WebError> {
    let releases = state.db.releases().await?;
    Ok(releases
        .into_iter()
        .filter_map(|r| Some((semver::Version::parse(&r.version).ok()?, r)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, r)| r))
}

fn installer(release: &Release, os: Os) -> Option<&ReleaseFile> {
    // The people-facing installer: .deb, .dmg, .msi first; update-only archives last.
    release
        .files
        .iter()
        .filter(|f| Os::of(&f.name) == Some(os) && !f.name.ends_with(".tar.gz"))
        .min_by_key(|f| {
            !(f.name.ends_with(".deb") || f.name.ends_with(".dmg") || f.name.ends_with(".msi"))
        })
}

fn href(release: &Release, file: &ReleaseFile) -> String {
    format!("/downloads/{}/{}", release.version, file.name)
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.0} KB", (bytes as f64 / 1e3).max(1.0))
    }
}

pub async fn landing(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let os = Os::from_agent(&headers);
    let release = latest(&state).await?;
    let button: Markup = match (os, &release) {
        (Some(os), Some(r)) if installer(r, os).is_some() => {
            let file = installer(r, os).map(|f| href(r, f)).unwrap_or_default();
            html! { a.button.big #download href=(file) { "Download QuantDesk " (r.version) " for " (os.name()) } }
        }
        _ => html! { a.button.big #download href="/downloads" { "Download QuantDesk" } },
    };
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Your personal quant in Claude Desktop",
        html! {
            section.hero {
                h1 { "Your personal quant, in Claude Desktop" }
                p.lead { "QuantDesk lets Claude read market data, analyse, backtest and — inside the limits you set and with your approval — trade." }
                div.actions { (button) a.button.secondary.big href="/signup" { "Create an account" } }
            }
            section.grid {
                div.card { h3 { "Market data and analysis" } p { "Quotes, bars, options chains with greeks, indicators, candlestick and chart patterns, screens and risk — from built-in history or your broker." } }
                div.card { h3 { "Backtests Claude can write" } p { "A small JSON strategy language, optimisation with walk-forward checks, and reports." } }
                div.card { h3 { "Trading inside your limits" } p { "Paper trading by default. Every order is checked against your limits and waits for your click when you want it to." } }
                div.card { h3 { "Private by design" } p { "Strategies, orders and broker keys stay on your computer. This site only issues and revokes your account's keys." } }
            }
        },
    ))
}

fn config_entry(os: Os) -> String {
    let entry = serde_json::json!({"mcpServers": {"quantdesk": {"command": os.sidecar_path()}}});
    serde_json::to_string_pretty(&entry).unwrap_or_default()
}

pub async fn downloads(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, WebError> {
    let release = latest(&state).await?;
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Download",
        html! {
            h1 { "Download QuantDesk" }
            @match &release {
                None => { p.muted #no-release { "No release has been published on this platform yet." } }
                Some(r) => {
                    p { "Version " strong #version { (r.version) } ", published " (r.pub_date) ". " (r.notes) }
                    table.files {
                        thead { tr { th { "File" } th { "For" } th { "Size" } th { "SHA-256" } } }
                        tbody {
                            @for f in &r.files {
                                tr {
                                    td { a href=(href(r, f)) { (f.name) } }
                                    td { @if let Some(os) = Os::of(&f.name) { (os.name()) } @else if f.name.ends_with(".mcpb") { "Claude Desktop extension" } @else { "—" } }
                                    td { (human_size(f.size)) }
                                    td { code.hash { (f.sha256) } }
                                }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { "Without the app: the Claude Desktop config entry" }
                p { "Install QuantDesk, then add this entry to Claude Desktop's " code { "claude_desktop_config.json" } " (keep your other servers). It holds no secret: the app keeps your keys in the OS keychain." }
                @for os in [Os::Linux, Os::Mac, Os::Windows] {
                    h3 { (os.name()) }
                    pre { code { (config_entry(os)) } }
                }
                p.muted { "Or install the " code { ".mcpb" } " extension above from Claude Desktop's Extensions settings." }
            }
        },
    ))
}

pub async fn file(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((version, name)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let Some(content) = state.db.release_file(&version, &name).await? else {
        return Ok(page(
            &visitor,
            StatusCode::NOT_FOUND,
            "Not found",
            html! { h1 { "No such download" } p { a href="/downloads" { "All downloads" } } },
        ));
    };
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (
                header::CACHE_CONTROL,
                "public, max-age=86400, immutable".to_string(),
            ),
        ],
        content,
    )
        .into_response())
}
