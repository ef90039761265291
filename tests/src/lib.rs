//! Helpers for QuantDesk's cross-process tests: finding the built binaries. The tests themselves
//! (in `tests/`) run the real `quantdesk-mcp` as Claude Desktop would; the protocol-level tests
//! drive it with the official MCP Python SDK (`python/`, run by `cargo xtask test`).
//!
//! Nothing here may be used by the product; it only starts binaries and reads what they print.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The built binary `name` in the same target folder as the running test
/// (`cargo xtask test` builds every binary before it runs the tests).
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}
