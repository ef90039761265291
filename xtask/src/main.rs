//! `cargo xtask`: the one entry point for setting up, building, running and testing QuantDesk.
//!
//! Why a Rust xtask rather than a Makefile or shell scripts: it runs the same everywhere cargo
//! does, it is checked by clippy like the rest of the workspace, and CI (`.ci/run`) calls exactly
//! what developers call (`cargo xtask test`). Every step announces itself on stderr as
//! `==> step`, and a failing step fails the whole command with the step's name.

mod approve;
mod bench;
mod e2e;
mod mcp;
mod python;
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
    /// Everything CI checks: fmt, clippy, build, cargo tests, Python cross-process tests.
    Test,
    /// Run the benchmarks (`cargo bench --workspace`), then the Python reference benchmarks.
    Bench {
        /// Arguments passed to `cargo bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Approve a pending order as the person would in the app (re-checked by the guard, then sent).
    Approve {
        client_order_id: String,
        /// The QuantDesk data folder (default: QUANTDESK_DATA_DIR or the per-user one).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Reject a pending order as the person would in the app (it is never sent).
    Reject {
        client_order_id: String,
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::setup(),
        Command::Ui => ui::build(),
        Command::Run { args } => run::run(&args),
        Command::Mcp { args } => mcp::mcp(&args),
        Command::Test => testing::test(),
        Command::Bench { args } => bench::bench(&args),
        Command::Approve {
            client_order_id,
            data_dir,
        } => approve::decide(&client_order_id, true, data_dir),
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
