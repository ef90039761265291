//! `cargo xtask`: the one entry point for setting up, building, running and testing QuantDesk.
//!
//! Why a Rust xtask rather than a Makefile or shell scripts: it runs the same everywhere cargo
//! does, it is checked by clippy like the rest of the workspace, and CI (`.ci/run`) calls exactly
//! what developers call (`cargo xtask test`). Every step announces itself on stderr as
//! `==> step`, and a failing step fails the whole command with the step's name.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency

#[cfg(debug_assertions)]
mod approve;
mod bench;
mod bundle;
mod e2e;
mod link;
mod mcp;
mod mcpb;
mod platform;
mod python;
mod release;
mod run;
mod setup;
mod step;
mod testing;
mod ui;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "QuantDesk dev tasks", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing: Debian packages for Tauri, and the UI's npm packages.
    Setup,
    /// Build the web UI into ui/dist (needed before any build of src-tauri).
    Ui,
    /// Build the installers for this OS (.deb here; .app/.dmg on macOS, .msi/NSIS on Windows)
    /// with the release MCP sidecar inside.
    Bundle {
        /// Then check them as `cargo xtask test` does: the .deb unpacked, a signed update
        /// manifest, the .mcpb, and the packaged sidecars answering `tools/list`.
        #[arg(long)]
        check: bool,
    },
    /// Pack the release sidecar as a Claude Desktop extension (.mcpb), validated by the official
    /// MCPB CLI.
    Mcpb,
    /// Bundle, sign each installer for the updater (key from TAURI_SIGNING_PRIVATE_KEY[_PATH] and
    /// TAURI_SIGNING_PRIVATE_KEY_PASSWORD) and write target/release/bundle/latest.json.
    Release {
        /// What's new, shown to people before they update.
        #[arg(long)]
        notes: Option<String>,
        /// Read the notes from this file instead.
        #[arg(long, conflicts_with = "notes")]
        notes_file: Option<std::path::PathBuf>,
        /// Where the installers will be downloadable (`{version}` is replaced).
        #[arg(long, default_value = release::DEFAULT_URL_BASE)]
        url_base: String,
        /// Sign the installers a previous `cargo xtask bundle` made instead of bundling again.
        #[arg(long)]
        no_bundle: bool,
    },
    /// Set up, build the UI, the MCP server and the app, then run the app.
    Run {
        /// Arguments passed to quantdesk-app.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build and run the MCP server on stdio (stdout is the protocol; xtask logs to stderr).
    Mcp {
        /// Arguments passed to quantdesk-mcp.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build and run the platform (website and API) on http://127.0.0.1:8787, SQLite in its
    /// data dir; `cargo xtask run` started afterwards signs the app in there.
    Platform {
        /// Arguments passed to quantdesk-platform (e.g. --database-url postgres://…).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Everything CI checks: fmt, clippy, build, cargo tests, Python cross-process tests.
    Test,
    /// Run the benchmarks (`cargo bench --workspace`), then the Python reference benchmarks and
    /// the desktop app's idle memory. `cargo xtask bench app_memory` measures only the memory.
    Bench {
        /// Arguments passed to `cargo bench` (or `app_memory`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Link an Alpaca paper account without the app, as its Settings do: the key from
    /// APCA_API_KEY_ID / APCA_API_SECRET_KEY is checked with Alpaca (QUANTDESK_ALPACA_TRADING_URL
    /// or the paper endpoint), kept in the OS keychain, and the link recorded in the store. Live
    /// accounts are linked in the app only.
    LinkAlpaca {
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Approve a pending order as the person would in the app (re-checked by the guard, then sent).
    /// Debug builds only: a release build has no way to approve from a terminal.
    #[cfg(debug_assertions)]
    Approve {
        client_order_id: String,
        /// The QuantDesk data folder (default: QUANTDESK_DATA_DIR or the per-user one).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Reject a pending order as the person would in the app (it is never sent). Debug builds only.
    #[cfg(debug_assertions)]
    Reject {
        client_order_id: String,
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
}

fn notes_from(
    notes: Option<String>,
    file: Option<std::path::PathBuf>,
) -> anyhow::Result<Option<String>> {
    match file {
        Some(f) => std::fs::read_to_string(&f)
            .map(|t| Some(t.trim().to_owned()))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", f.display())),
        None => Ok(notes),
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::setup(),
        Command::Ui => ui::build(),
        Command::Bundle { check: true } => bundle::test(),
        Command::Bundle { check: false } => bundle::bundle().map(|_| ()),
        Command::Release {
            notes,
            notes_file,
            url_base,
            no_bundle,
        } => notes_from(notes, notes_file).and_then(|notes| {
            release::release(&release::Options {
                notes,
                url_base,
                no_bundle,
            })
            .map(|_| ())
        }),
        Command::Mcpb => mcpb::mcpb().map(|_| ()),
        Command::Run { args } => run::run(&args),
        Command::Mcp { args } => mcp::mcp(&args),
        Command::Platform { args } => platform::platform(&args),
        Command::Test => testing::test(),
        Command::Bench { args } => bench::bench(&args),
        Command::LinkAlpaca { data_dir } => link::link_alpaca(data_dir),
        #[cfg(debug_assertions)]
        Command::Approve {
            client_order_id,
            data_dir,
        } => approve::decide(&client_order_id, true, data_dir),
        #[cfg(debug_assertions)]
        Command::Reject {
            client_order_id,
            data_dir,
        } => approve::decide(&client_order_id, false, data_dir),
    };
    if let Err(err) = result {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}
