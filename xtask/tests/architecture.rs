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

/// Every `.rs` file under `dirs` (relative to the workspace root), skipping build output.
fn rust_files(dirs: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "node_modules" && name != "gen" {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(&root().join(d), &mut out);
    }
    out
}

#[test]
fn no_source_file_passes_600_lines() {
    let long: Vec<String> = rust_files(&["crates", "xtask", "src-tauri"])
        .into_iter()
        .filter_map(|p| {
            let lines = std::fs::read_to_string(&p).ok()?.lines().count();
            (lines > 600).then(|| format!("{} ({lines})", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 600 lines: {}", long.join(", "));
}

/// Lengths of the functions in `text` that follow a line matching `marks`, or whose signature
/// matches it: (name, lines from signature to closing brace).
fn function_lengths(text: &str, marks: impl Fn(&str, &str) -> bool) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = ["pub async fn ", "async fn ", "pub fn ", "fn "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        else {
            continue;
        };
        let previous = lines[..i]
            .iter()
            .rev()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        let signature = lines[i..]
            .iter()
            .take_while(|l| !l.trim_end().ends_with('{') && !l.trim_end().ends_with(';'))
            .chain(lines[i..].iter().find(|l| l.trim_end().ends_with('{')))
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        if !marks(&signature, &previous) {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let indent = line.len() - trimmed.len();
        let end = lines[i..]
            .iter()
            .position(|l| l.len() == indent + 1 && l.ends_with('}'))
            .unwrap_or(lines.len() - i);
        out.push((name, end + 1));
    }
    out
}

#[test]
fn every_mcp_handler_and_tauri_command_is_at_most_30_lines() {
    let mut long = Vec::new();
    for path in rust_files(&["crates/mcp/src/tools"]) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // A handler takes the tool context: `fn name(ctx: &Ctx, p: Params)`.
        for (name, n) in function_lengths(&text, |sig, _| sig.contains("ctx: &Ctx")) {
            if n > 30 {
                long.push(format!("{} {name} ({n})", path.display()));
            }
        }
    }
    let server =
        std::fs::read_to_string(root().join("crates/mcp/src/server.rs")).unwrap_or_default();
    for (name, n) in function_lengths(&server, |sig, _| sig.contains("fn call_tool(")) {
        if n > 30 {
            long.push(format!("server.rs {name} ({n})"));
        }
    }
    let commands =
        std::fs::read_to_string(root().join("src-tauri/src/commands.rs")).unwrap_or_default();
    let found = function_lengths(&commands, |_, before| before.contains("#[tauri::command]"));
    assert!(found.len() > 10, "the Tauri commands were not found");
    for (name, n) in found {
        if n > 30 {
            long.push(format!("commands.rs {name} ({n})"));
        }
    }
    let handlers = function_lengths(
        &std::fs::read_to_string(root().join("crates/mcp/src/tools/research.rs"))
            .unwrap_or_default(),
        |sig, _| sig.contains("ctx: &Ctx"),
    );
    assert!(handlers.len() >= 13, "the MCP handlers were not found");
    assert!(
        long.is_empty(),
        "handlers over 30 lines: {}",
        long.join(", ")
    );
}
