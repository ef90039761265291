//! Shared plumbing: where the workspace is, how steps are announced, and how child commands
//! are run so that a failure names the step that failed.

use std::{
    env,
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};

/// The workspace root: xtask lives in `<root>/xtask`, so it is `CARGO_MANIFEST_DIR/..`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits one level below the workspace root")
        .to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`, relative to the root if relative).
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// A binary built by `cargo build` in the dev profile.
pub fn debug_bin(name: &str) -> PathBuf {
    target_dir()
        .join("debug")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
}

/// A binary built by `cargo build --release`.
pub fn release_bin(name: &str) -> PathBuf {
    target_dir()
        .join("release")
        .join(format!("{name}{}", env::consts::EXE_SUFFIX))
}

/// The cargo that runs us (so `cargo +toolchain xtask` stays on that toolchain).
pub fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Announces a step on stderr. stdout stays clean (it is the MCP protocol in `xtask mcp`).
pub fn announce(name: &str) {
    eprintln!("==> {name}");
}

/// Announces `name`, runs `cmd` to completion and fails with the step's name if it fails.
pub fn run(name: &str, cmd: &mut Command) -> Result<()> {
    announce(name);
    run_quiet(name, cmd)
}

/// Like [`run`] without the announcement, for commands that are part of a larger step.
pub fn run_quiet(name: &str, cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("step `{name}`: could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!(
            "step `{name}` failed: {} exited with {status}",
            describe(cmd)
        );
    }
    Ok(())
}

/// Sends a child's stdout to our stderr, for paths where our stdout must stay clean.
pub fn stdout_to_stderr(cmd: &mut Command) -> &mut Command {
    cmd.stdout(Stdio::from(std::io::stderr()))
}

/// Whether `program` can be found on PATH.
pub fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(OsStr::to_string_lossy).map(Into::into));
    format!("`{}`", parts.join(" "))
}
