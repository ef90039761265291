//! `cargo xtask bundle`: the installers for this OS, with the MCP sidecar inside.
//!
//! Steps: build the UI and the release sidecar, stage the sidecar as a Tauri `externalBin`
//! (`src-tauri/binaries/quantdesk-mcp-<target triple>`, the name tauri-build looks for), then
//! run the Tauri CLI (`@tauri-apps/cli`, a devDependency of `ui/`, so it runs offline once
//! `npm ci` is done) with `src-tauri/tauri.bundle.conf.json` merged over tauri.conf.json.
//!
//! Why the separate config: tauri-build checks at compile time that every `externalBin` exists,
//! so listing the sidecar in tauri.conf.json would make every plain `cargo build` / `clippy` of
//! src-tauri (CI, `cargo xtask run`) depend on a staged release binary. Only bundling needs it.
//!
//! The installers put the sidecar next to the app's binary (`/usr/bin` in the .deb,
//! `Contents/MacOS` in the .app, the install folder on Windows), which is where the app looks
//! for it and the path it writes into Claude Desktop's config.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::{setup, step, ui};

/// The bundle formats to build on this OS. AppImage is added on Linux only when its tools are
/// on this machine (the Tauri CLI otherwise downloads them, which needs network).
pub fn formats() -> Vec<&'static str> {
    if cfg!(target_os = "linux") {
        let mut f = vec!["deb"];
        if appimage_tools_available() {
            f.push("appimage");
        }
        f
    } else if cfg!(target_os = "macos") {
        vec!["app", "dmg"]
    } else if cfg!(windows) {
        vec!["msi", "nsis"]
    } else {
        Vec::new()
    }
}

/// The Tauri CLI caches linuxdeploy and the AppImage plugin under `~/.cache/tauri`; without
/// them (and without network) an AppImage cannot be made. `QUANTDESK_APPIMAGE=1` asks for one
/// anyway (the CLI then downloads its tools; the release workflow does this).
fn appimage_tools_available() -> bool {
    if std::env::var_os("QUANTDESK_APPIMAGE").is_some_and(|v| v == "1") {
        return true;
    }
    let Some(home) = std::env::var_os("HOME") else {
        return false;
    };
    let cache = Path::new(&home).join(".cache").join("tauri");
    [
        "linuxdeploy-x86_64.AppImage",
        "linuxdeploy-plugin-appimage.AppImage",
    ]
    .iter()
    .all(|tool| cache.join(tool).is_file())
}

/// What `bundle` produced.
pub struct Bundles {
    /// Every installer file, e.g. `target/release/bundle/deb/QuantDesk_0.1.0_amd64.deb`.
    pub files: Vec<PathBuf>,
    /// The release sidecar that went into them.
    pub sidecar: PathBuf,
}

pub fn bundle() -> Result<Bundles> {
    setup::setup_build()?;
    ui::build()?;
    let sidecar = build_sidecar()?;
    stage_sidecar(&sidecar)?;
    let formats = formats();
    if formats.is_empty() {
        bail!("step `bundle` failed: no installer format is known for this OS");
    }
    if cfg!(target_os = "linux") && !formats.contains(&"appimage") {
        step::announce("bundle: AppImage");
        eprintln!(
            "    skipped: the AppImage tools (linuxdeploy) are not in ~/.cache/tauri and the Tauri CLI \
             would download them; building the .deb only"
        );
    }
    let started = std::time::Instant::now();
    step::run(
        &format!("bundle: tauri build --bundles {}", formats.join(",")),
        tauri_cli()
            .args(["build", "--ci", "--bundles"])
            .arg(formats.join(","))
            .args(["--config", "tauri.bundle.conf.json"]),
    )?;
    eprintln!("    took {:.0?}", started.elapsed());
    let files = find_bundles(&formats)?;
    for deb in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "deb"))
    {
        recompress_deb(deb)?;
    }
    for f in &files {
        let size = fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        eprintln!("    {} ({})", f.display(), human_size(size));
    }
    Ok(Bundles { files, sidecar })
}

/// Rewrites a .deb with its files compressed by xz (level 9) instead of the Tauri CLI's gzip,
/// as Debian's own packages are: the same files, modes, owners and control data
/// (`dpkg-deb --raw-extract`, then `dpkg-deb --build --root-owner-group -Zxz`), about a third
/// smaller for our two binaries. Every dpkg since 1.15.6 (Debian 6) installs xz packages.
/// Runs before anything signs the file (`cargo xtask release` signs after `bundle`).
fn recompress_deb(deb: &Path) -> Result<()> {
    if !step::on_path("dpkg-deb") {
        step::announce("bundle: recompress the .deb with xz");
        eprintln!("    skipped: dpkg-deb is not on PATH; the .deb stays gzip-compressed");
        return Ok(());
    }
    let before = fs::metadata(deb)?.len();
    let work = deb.with_extension("deb.xz-work");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    step::run(
        "bundle: recompress the .deb with xz",
        Command::new("dpkg-deb")
            .arg("--raw-extract")
            .arg(deb)
            .arg(&work),
    )?;
    let rebuilt = deb.with_extension("deb.xz");
    step::run_quiet(
        "bundle: dpkg-deb --build -Zxz",
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "-z9", "--build"])
            .arg(&work)
            .arg(&rebuilt)
            .stdout(std::process::Stdio::null()),
    )?;
    fs::rename(&rebuilt, deb)
        .with_context(|| format!("replacing {} with {}", deb.display(), rebuilt.display()))?;
    fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    let after = fs::metadata(deb)?.len();
    eprintln!("    {} -> {}", human_size(before), human_size(after));
    Ok(())
}

/// What the installers' binaries are built with on top of `[profile.release]`: whole-program
/// LTO in one codegen unit. It takes longer to link than the workspace's everyday release
/// profile (thin LTO, 4 units, which the benches and `cargo xtask run --release` use) and makes
/// the binaries smaller: the sidecar 15.2 MB instead of 18.5 MB. Set as Cargo's environment
/// overrides on the sidecar build and on the Tauri CLI (which runs cargo for the app).
pub const DIST_PROFILE_ENV: [(&str, &str); 2] = [
    ("CARGO_PROFILE_RELEASE_LTO", "fat"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
];

/// `cargo build --release -p quantdesk-mcp` with the installers' settings; returns the binary.
pub fn build_sidecar() -> Result<PathBuf> {
    let started = std::time::Instant::now();
    step::run(
        "bundle: cargo build --release -p quantdesk-mcp",
        step::cargo()
            .args(["build", "--release", "-p", "quantdesk-mcp"])
            .envs(DIST_PROFILE_ENV),
    )?;
    eprintln!("    took {:.0?}", started.elapsed());
    let bin = step::target_dir()
        .join("release")
        .join(format!("quantdesk-mcp{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!("step `bundle` failed: {} was not built", bin.display());
    }
    Ok(bin)
}

/// Copies the sidecar to `src-tauri/binaries/quantdesk-mcp-<triple>[.exe]`.
fn stage_sidecar(sidecar: &Path) -> Result<()> {
    step::announce("bundle: stage the sidecar as externalBin");
    let triple = host_triple()?;
    let dir = step::root().join("src-tauri").join("binaries");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let staged = dir.join(format!(
        "quantdesk-mcp-{triple}{}",
        std::env::consts::EXE_SUFFIX
    ));
    fs::copy(sidecar, &staged)
        .with_context(|| format!("copying {} to {}", sidecar.display(), staged.display()))?;
    eprintln!("    {}", staged.display());
    Ok(())
}

/// The host's target triple, from `rustc -vV` (what tauri-build appends to `externalBin`).
pub fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running `rustc -vV`")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .context("`rustc -vV` printed no host triple")
}

/// The Tauri CLI from `ui/node_modules`, run in `src-tauri/`.
pub fn tauri_cli() -> Command {
    let bin = ui::dir()
        .join("node_modules")
        .join(".bin")
        .join(if cfg!(windows) { "tauri.cmd" } else { "tauri" });
    let mut cmd = Command::new(bin);
    cmd.current_dir(step::root().join("src-tauri"))
        .envs(DIST_PROFILE_ENV);
    step::stdout_to_stderr(&mut cmd);
    cmd
}

/// `target/release/bundle/<format>/*` files with the installer extensions of `formats`.
fn find_bundles(formats: &[&str]) -> Result<Vec<PathBuf>> {
    let base = step::target_dir().join("release").join("bundle");
    let mut files = Vec::new();
    for format in formats {
        let (dir, ext) = match *format {
            "deb" => ("deb", ".deb"),
            "appimage" => ("appimage", ".AppImage"),
            "app" => ("macos", ".app"),
            "dmg" => ("dmg", ".dmg"),
            "msi" => ("msi", ".msi"),
            "nsis" => ("nsis", "-setup.exe"),
            other => bail!("unknown bundle format {other}"),
        };
        let version = env!("CARGO_PKG_VERSION");
        let found: Vec<PathBuf> = fs::read_dir(base.join(dir))
            .with_context(|| format!("reading {}", base.join(dir).display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                name.is_some_and(|n| {
                    n.ends_with(ext) && (*format == "app" || n.contains(&format!("_{version}_")))
                })
            })
            .collect();
        if found.is_empty() {
            bail!(
                "step `bundle` failed: no {ext} for version {version} in {}",
                base.join(dir).display()
            );
        }
        files.extend(found);
    }
    Ok(files)
}

pub fn human_size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// The largest .deb we accept (a minimal Tauri 2 app with three plugins is 5.0 MB here).
const MAX_DEB_BYTES: u64 = 15_000_000;

/// `cargo xtask test`'s check of what people install: the .deb (size, and unpacked with
/// `dpkg -x`: the app and the sidecar side by side), the release manifest signed with a
/// throw-away key, the .mcpb extension, and both packaged sidecars answering `tools/list`
/// through the official MCP Python client (tests/bundle).
pub fn test() -> Result<()> {
    let started = std::time::Instant::now();
    let bundles = bundle()?;
    let deb = bundles
        .files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "deb"))
        .context("bundle made no .deb")?;
    let size = fs::metadata(deb)?.len();
    step::announce(&format!(
        "bundle: .deb size {} (limit {})",
        human_size(size),
        human_size(MAX_DEB_BYTES)
    ));
    if size > MAX_DEB_BYTES {
        bail!(
            "step `bundle: .deb size` failed: {} is {}, over {}",
            deb.display(),
            human_size(size),
            human_size(MAX_DEB_BYTES)
        );
    }
    let root = step::target_dir().join("bundle-check").join("deb-root");
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    fs::create_dir_all(&root)?;
    step::run(
        "bundle: dpkg -x",
        Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root),
    )?;
    crate::release::check_with_throwaway_key(&bundles.files)?;
    let mcpb = crate::mcpb::pack(&bundles.sidecar)?;
    let venv = crate::python::venv(
        "py-venv",
        &step::root().join("tests/python/requirements.txt"),
    )?;
    step::run(
        "pytest tests/bundle (the packaged sidecars)",
        Command::new(crate::python::venv_bin(&venv, "python"))
            .args(["-m", "pytest", "tests/bundle", "-q"])
            .env("QUANTDESK_DEB_ROOT", &root)
            .env("QUANTDESK_MCPB", &mcpb)
            .current_dir(step::root()),
    )?;
    eprintln!("    bundle checks took {:.0?} in all", started.elapsed());
    Ok(())
}
