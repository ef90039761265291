//! `cargo xtask setup`: makes a Debian machine able to build and test everything.
//!
//! Why here and not only in CI: a new developer machine (or a fresh CI image) must get from a
//! bare checkout to a green `cargo xtask test` with one command. Installs only what is missing,
//! so it costs nothing on a machine that already has everything.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::{step, ui};

/// Debian packages needed to build and run the Tauri app and the Python tests.
pub const APT_PACKAGES: &[&str] = &[
    // Building the app (and its installers: `cargo xtask bundle` needs nothing more; the
    // .deb check unpacks it with dpkg-deb, which every Debian has).
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libssl-dev",
    "libxdo-dev",
    // Testing.
    "python3-venv",
    "xvfb",
    "webkit2gtk-driver",
    "xdotool",
    "imagemagick",
    // The app end-to-end test watches a private session bus for its notifications.
    "dbus",
    // The backtest report and the platform's web pages are checked in headless Chromium, the
    // latter over WebDriver.
    "chromium",
    "chromium-driver",
    // The platform's suite runs on a throw-away PostgreSQL cluster too.
    "postgresql",
];

/// Node.js version Vite needs (`^20.19 || >=22.12`); Debian 12's own nodejs is too old.
const MIN_NODE: (u32, u32) = (20, 19);

/// The first packages of [`APT_PACKAGES`] are all a build (and `cargo xtask bundle`) needs.
const BUILD_PACKAGES: usize = 8;

pub fn setup() -> Result<()> {
    apt_packages(APT_PACKAGES)?;
    node()?;
    ui::npm_ci_if_missing()
}

/// What building the installers needs: the build packages (not the test tools), Node.js and
/// the UI's npm packages (which include the Tauri and MCPB CLIs). Release runners use this.
pub fn setup_build() -> Result<()> {
    apt_packages(&APT_PACKAGES[..BUILD_PACKAGES])?;
    node()?;
    ui::npm_ci_if_missing()
}

fn apt_packages(packages: &[&str]) -> Result<()> {
    step::announce("setup: Debian packages");
    if !step::on_path("dpkg") {
        eprintln!("    no dpkg (not Debian?): skipping; install the equivalents of {packages:?}");
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|pkg| !is_installed(pkg))
        .collect();
    if missing.is_empty() {
        eprintln!("    all present");
        return Ok(());
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    if !is_root() {
        bail!(
            "step `setup: Debian packages` failed: missing {missing:?}; run:\n    sudo apt-get update && sudo {install}"
        );
    }
    eprintln!("    missing: {}", missing.join(" "));
    step::run_quiet(
        "setup: apt-get update",
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    step::run_quiet(
        "setup: apt-get install",
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// `dpkg -s` knows packages that were removed but left config files, so read its Status line.
fn is_installed(pkg: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", pkg])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|line| line.trim() == "Status: install ok installed")
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn node() -> Result<()> {
    step::announce("setup: Node.js");
    let out = Command::new("node").arg("--version").output();
    let version = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => bail!(
            "step `setup: Node.js` failed: `node` not found; install Node.js >= {}.{} and npm",
            MIN_NODE.0,
            MIN_NODE.1
        ),
    };
    let mut parts = version.trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if (major, minor) < MIN_NODE {
        bail!(
            "step `setup: Node.js` failed: node {version} is too old for Vite; need >= {}.{}",
            MIN_NODE.0,
            MIN_NODE.1
        );
    }
    eprintln!("    node {version}");
    Ok(())
}

/// True if `dir` holds at least one entry (used for "is node_modules installed").
pub fn non_empty_dir(dir: &Path) -> bool {
    dir.read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
}
