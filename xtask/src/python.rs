//! The Python cross-process tests (`tests/python`): a virtualenv in `target/py-venv`, kept up to
//! date with `tests/python/requirements.txt`, and pytest run against the built MCP server.
//!
//! Why Python: the official MCP Python SDK is an independent client implementation, so these
//! tests check the server as Claude Desktop would see it, not as our own Rust code thinks it is.

use std::{fs, path::Path, process::Command};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::step;

/// Where the hash of the last installed requirements file is kept, inside the venv.
const STAMP: &str = ".requirements.sha256";

pub fn pytest() -> Result<()> {
    let tests = step::root().join("tests").join("python");
    if !has_test_files(&tests) {
        step::announce("pytest tests/python");
        eprintln!("    skipped: no test files (test_*.py or *_test.py) in tests/python yet");
        return Ok(());
    }
    let venv = venv("py-venv", &tests.join("requirements.txt"))?;

    let mcp = step::debug_bin("quantdesk-mcp");
    if !mcp.is_file() {
        bail!("step `pytest` failed: {} was not built", mcp.display());
    }
    step::run(
        "pytest tests/python",
        Command::new(venv_bin(&venv, "python"))
            .args(["-m", "pytest", "tests/python", "-q"])
            .env("QUANTDESK_MCP_BIN", &mcp)
            // The tests' defaults assume `<root>/target`; say where the binaries really are.
            .env(
                "QUANTDESK_STANDIN_BIN",
                step::debug_bin("quantdesk-alpaca-standin"),
            )
            .env(
                "QUANTDESK_COINBASE_STANDIN_BIN",
                step::debug_bin("quantdesk-coinbase-standin"),
            )
            .env("QUANTDESK_KEYS_BIN", step::debug_bin("quantdesk-keys"))
            .env(
                "QUANTDESK_PLATFORM_BIN",
                step::debug_bin("quantdesk-platform"),
            )
            .current_dir(step::root()),
    )
}

/// A virtualenv at `target/<name>` with `requirements` installed; returns its path.
pub fn venv(name: &str, requirements: &Path) -> Result<std::path::PathBuf> {
    let venv = step::target_dir().join(name);
    ensure_venv(&venv)?;
    install_requirements(&venv, requirements)?;
    Ok(venv)
}

fn ensure_venv(venv: &Path) -> Result<()> {
    if venv_bin(venv, "python").is_file() {
        return Ok(());
    }
    step::run(
        &format!("python: create {}", venv.display()),
        Command::new("python3").args(["-m", "venv"]).arg(venv),
    )
}

/// `pip install -r` only when the requirements file differs from the one installed last.
fn install_requirements(venv: &Path, requirements: &Path) -> Result<()> {
    let contents = fs::read(requirements).with_context(|| {
        format!(
            "step `python: requirements` failed: cannot read {} (it must list pytest)",
            requirements.display()
        )
    })?;
    let hash = hex::encode(Sha256::digest(&contents));
    let stamp = venv.join(STAMP);
    if fs::read_to_string(&stamp).is_ok_and(|old| old.trim() == hash) {
        return Ok(());
    }
    step::run(
        &format!("python: pip install -r {}", requirements.display()),
        Command::new(venv_bin(venv, "python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
            ])
            .arg(requirements),
    )?;
    fs::write(&stamp, format!("{hash}\n")).context("writing the requirements stamp")
}

pub fn venv_bin(venv: &Path, name: &str) -> std::path::PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// True if `dir` (recursively) holds a file pytest collects by default.
fn has_test_files(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            return has_test_files(&path);
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pytest_files_only() {
        let dir = std::env::temp_dir().join(format!("xtask-pytest-{}", std::process::id()));
        let nested = dir.join("nested");
        fs::create_dir_all(&nested).unwrap();
        fs::write(dir.join("conftest.py"), "").unwrap();
        fs::write(dir.join("requirements.txt"), "pytest\n").unwrap();
        assert!(!has_test_files(&dir));
        fs::write(nested.join("test_tools.py"), "").unwrap();
        assert!(has_test_files(&dir));
        fs::remove_dir_all(&dir).unwrap();
        assert!(!has_test_files(&dir), "a missing directory has no tests");
    }
}
