//! The house rules that can be checked by reading the tree: ARCHITECTURE.md names every crate.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

#[test]
fn architecture_names_every_crate() {
    let root = root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let dir = entry.expect("a directory entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let package = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
            .unwrap_or_default();
        let listed = map.lines().any(|l| {
            l.trim_start().starts_with(&format!("{folder}/"))
                && (l.contains(&package) || l.contains("(tests only)"))
        });
        if !listed {
            missing.push(format!("{folder}/ ({package})"));
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's crate map lacks: {}",
        missing.join(", ")
    );
}
