//! `cargo xtask release`: the installers of `cargo xtask bundle`, each signed for the updater,
//! and the update manifest `latest.json` that the app's updater reads.
//!
//! The private key never enters the repository: it comes from the environment, as the Tauri CLI
//! reads it — `TAURI_SIGNING_PRIVATE_KEY` (the key itself, or a path to the key file) or
//! `TAURI_SIGNING_PRIVATE_KEY_PATH`, and `TAURI_SIGNING_PRIVATE_KEY_PASSWORD`. Signing is done
//! by the Tauri CLI (`tauri signer sign --app-version`, so the signed version is bound into the
//! signature; the app sets `requireSignedVersion`). Before anything is written, every signature
//! is checked against the public key in `src-tauri/tauri.conf.json`: a release signed with the
//! wrong key would be refused by every installed app, so it is refused here first.
//!
//! `latest.json` (Tauri's static update manifest) lists this OS's installers by updater target
//! (`linux-x86_64-deb`, `darwin-aarch64-app`, `windows-x86_64-nsis`, …). The CI workflow runs
//! this on each OS and merges the three manifests' `platforms`.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::{bundle, step};

/// Where the installers will be downloadable, `{version}` replaced.
pub const DEFAULT_URL_BASE: &str =
    "https://github.com/quantdesk/quantdesk/releases/download/v{version}";

pub struct Options {
    pub notes: Option<String>,
    pub url_base: String,
    /// Sign what a previous `cargo xtask bundle` produced instead of bundling again.
    pub no_bundle: bool,
}

pub fn release(options: &Options) -> Result<PathBuf> {
    let key = SigningKey::from_env()?;
    let pubkey = configured_pubkey()?;
    let files = if options.no_bundle {
        existing_bundles()?
    } else {
        bundle::bundle()?.files
    };
    let manifest = sign_and_describe(&files, &key, &pubkey, options)?;
    let out = step::target_dir()
        .join("release")
        .join("bundle")
        .join("latest.json");
    write_manifest(&out, &manifest)?;
    eprintln!("    wrote {}", out.display());
    Ok(out)
}

/// The private key, as the Tauri CLI takes it.
pub struct SigningKey {
    /// A key file (from `TAURI_SIGNING_PRIVATE_KEY_PATH`, or `TAURI_SIGNING_PRIVATE_KEY` naming a file).
    path: Option<PathBuf>,
    /// The key text (from `TAURI_SIGNING_PRIVATE_KEY`).
    text: Option<String>,
    password: String,
}

impl SigningKey {
    pub fn from_env() -> Result<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let password = var("TAURI_SIGNING_PRIVATE_KEY_PASSWORD").unwrap_or_default();
        if let Some(path) = var("TAURI_SIGNING_PRIVATE_KEY_PATH") {
            return Ok(Self::file(PathBuf::from(path), password));
        }
        match var("TAURI_SIGNING_PRIVATE_KEY") {
            Some(v) if Path::new(v.trim()).is_file() => {
                Ok(Self::file(PathBuf::from(v.trim()), password))
            }
            Some(v) => Ok(Self {
                path: None,
                text: Some(v),
                password,
            }),
            None => bail!(
                "step `release` failed: no signing key. Set TAURI_SIGNING_PRIVATE_KEY (the key, or \
                 the path to its file) or TAURI_SIGNING_PRIVATE_KEY_PATH, and \
                 TAURI_SIGNING_PRIVATE_KEY_PASSWORD. The key is never in the repository; see \
                 README, \"Releases and signing\"."
            ),
        }
    }

    pub fn file(path: PathBuf, password: String) -> Self {
        Self {
            path: Some(path),
            text: None,
            password,
        }
    }

    /// `tauri signer sign` for `file`, bound to `version`; returns the `.sig` contents.
    pub fn sign(&self, file: &Path, version: &str) -> Result<String> {
        let mut cmd = bundle::tauri_cli();
        cmd.args(["signer", "sign", "--app-version", version])
            // The key and password go by environment, not on the command line (`ps` shows that).
            .env_remove("TAURI_SIGNING_PRIVATE_KEY")
            .env_remove("TAURI_SIGNING_PRIVATE_KEY_PATH")
            .env("TAURI_SIGNING_PRIVATE_KEY_PASSWORD", &self.password)
            .arg(file);
        match (&self.path, &self.text) {
            (Some(path), _) => cmd.env("TAURI_SIGNING_PRIVATE_KEY_PATH", path),
            (None, Some(text)) => cmd.env("TAURI_SIGNING_PRIVATE_KEY", text),
            (None, None) => bail!("no signing key"),
        };
        step::run_quiet("release: tauri signer sign", &mut cmd)?;
        let sig = PathBuf::from(format!("{}.sig", file.display()));
        let text = fs::read_to_string(&sig)
            .with_context(|| format!("reading the signature {}", sig.display()))?;
        Ok(text.trim().to_owned())
    }
}

/// `plugins.updater.pubkey` from src-tauri/tauri.conf.json.
pub fn configured_pubkey() -> Result<String> {
    let path = step::root().join("src-tauri").join("tauri.conf.json");
    let conf: Value = serde_json::from_str(
        &fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    conf.pointer("/plugins/updater/pubkey")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("tauri.conf.json has no plugins.updater.pubkey")
}

/// The installers a previous `cargo xtask bundle` left for this version.
fn existing_bundles() -> Result<Vec<PathBuf>> {
    let version = env!("CARGO_PKG_VERSION");
    let base = step::target_dir().join("release").join("bundle");
    let mut files = Vec::new();
    for dir in ["deb", "appimage", "macos", "msi", "nsis"] {
        let Ok(entries) = fs::read_dir(base.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if updater_target(&p).is_some()
                && (p.extension().is_some_and(|x| x == "app")
                    || p.to_string_lossy().contains(&format!("_{version}_")))
            {
                files.push(p);
            }
        }
    }
    if files.is_empty() {
        bail!(
            "step `release` failed: no installers for {version} in {}; run `cargo xtask bundle` \
             (or drop --no-bundle)",
            base.display()
        );
    }
    Ok(files)
}

/// The updater's installer name for a bundle file (the `-<installer>` of its target key), or
/// `None` for files the updater does not install (the `.dmg`: macOS updates ship the `.app`).
pub fn updater_target(file: &Path) -> Option<&'static str> {
    let name = file.file_name()?.to_string_lossy();
    if name.ends_with(".deb") {
        Some("deb")
    } else if name.ends_with(".rpm") {
        Some("rpm")
    } else if name.ends_with(".AppImage") {
        Some("appimage")
    } else if name.ends_with(".app") {
        Some("app")
    } else if name.ends_with(".msi") {
        Some("msi")
    } else if name.ends_with("-setup.exe") {
        Some("nsis")
    } else {
        None
    }
}

/// The updater's `{os}` for this build.
fn updater_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Signs each installer (a macOS `.app` is packed as `.app.tar.gz` first, the form the updater
/// installs), checks each signature against `pubkey`, and returns the manifest.
pub fn sign_and_describe(
    files: &[PathBuf],
    key: &SigningKey,
    pubkey: &str,
    options: &Options,
) -> Result<Value> {
    let version = env!("CARGO_PKG_VERSION");
    let url_base = options.url_base.replace("{version}", version);
    let mut platforms = Map::new();
    for file in files {
        let Some(installer) = updater_target(file) else {
            continue;
        };
        let artifact = if installer == "app" {
            pack_app(file)?
        } else {
            file.clone()
        };
        step::announce(&format!("release: sign {}", artifact.display()));
        let signature = key.sign(&artifact, version)?;
        let bytes =
            fs::read(&artifact).with_context(|| format!("reading {}", artifact.display()))?;
        verify(&bytes, &signature, pubkey).with_context(|| {
            format!(
                "the signature of {} does not verify with the public key in \
                 src-tauri/tauri.conf.json: this private key is not the release key",
                artifact.display()
            )
        })?;
        let name = artifact
            .file_name()
            .context("artifact without a name")?
            .to_string_lossy()
            .into_owned();
        let entry = json!({
            "url": format!("{}/{}", url_base.trim_end_matches('/'), name),
            "signature": signature,
        });
        let target = format!("{}-{}-{installer}", updater_os(), std::env::consts::ARCH);
        platforms.insert(target, entry.clone());
        // The plain `{os}-{arch}` key is what an app without a known bundle type asks for;
        // the first installer of each OS serves it (.deb on Linux, .msi on Windows).
        platforms
            .entry(format!("{}-{}", updater_os(), std::env::consts::ARCH))
            .or_insert(entry);
    }
    if platforms.is_empty() {
        bail!("step `release` failed: none of {files:?} is an installer the updater can use");
    }
    Ok(json!({
        "version": version,
        "notes": options.notes.clone().unwrap_or_else(|| format!("QuantDesk {version}")),
        "pub_date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "platforms": platforms,
    }))
}

/// Packs `QuantDesk.app` into `QuantDesk.app.tar.gz` beside it.
fn pack_app(app: &Path) -> Result<PathBuf> {
    let dir = app.parent().context("the .app has no folder")?;
    let name = app
        .file_name()
        .context("the .app has no name")?
        .to_string_lossy()
        .into_owned();
    let out = dir.join(format!("{name}.tar.gz"));
    step::run(
        &format!("release: pack {name}.tar.gz"),
        std::process::Command::new("tar")
            .arg("-czf")
            .arg(&out)
            .arg("-C")
            .arg(dir)
            .arg(&name),
    )?;
    Ok(out)
}

/// Verifies `data` against a Tauri-style signature (base64 of a minisign signature file) and
/// public key (base64 of a minisign public key file), as the app's updater does.
pub fn verify(data: &[u8], signature: &str, pubkey: &str) -> Result<()> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pk_text = String::from_utf8(b64.decode(pubkey.trim()).context("public key base64")?)
        .context("public key text")?;
    let sig_text = String::from_utf8(b64.decode(signature.trim()).context("signature base64")?)
        .context("signature text")?;
    let pk = minisign_verify::PublicKey::decode(&pk_text).context("public key")?;
    let sig = minisign_verify::Signature::decode(&sig_text).context("signature")?;
    pk.verify(data, &sig, true)
        .context("minisign verification")?;
    Ok(())
}

fn write_manifest(path: &Path, manifest: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest)? + "\n";
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Signs `files` as a release would, with a throw-away key made by the Tauri CLI in a temp
/// folder, and checks the manifest: an entry per installer with its URL and a signature that
/// verifies with that key and not with the app's real public key. (`cargo xtask test`.)
pub fn check_with_throwaway_key(files: &[PathBuf]) -> Result<()> {
    step::announce("release: sign with a throw-away key and check latest.json");
    let dir = step::target_dir().join("bundle-check").join("release-key");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    let key_file = dir.join("throwaway.key");
    step::run_quiet(
        "release: tauri signer generate",
        bundle::tauri_cli()
            .args(["signer", "generate", "--ci", "-p", "", "-w"])
            .arg(&key_file),
    )?;
    let pubkey = fs::read_to_string(dir.join("throwaway.key.pub"))?
        .trim()
        .to_owned();
    // Sign copies, so the real bundles keep no throw-away `.sig` beside them.
    let mut copies = Vec::new();
    for f in files
        .iter()
        .filter(|f| updater_target(f).is_some() && f.is_file())
    {
        let copy = dir.join(f.file_name().context("a bundle without a name")?);
        fs::copy(f, &copy)?;
        copies.push(copy);
    }
    let options = Options {
        notes: Some("Throw-away test release".into()),
        url_base: "https://example.invalid/v{version}".into(),
        no_bundle: true,
    };
    let key = SigningKey::file(key_file, String::new());
    let manifest = sign_and_describe(&copies, &key, &pubkey, &options)?;
    write_manifest(&dir.join("latest.json"), &manifest)?;

    let version = env!("CARGO_PKG_VERSION");
    if manifest["version"] != version || manifest["notes"] != "Throw-away test release" {
        bail!("latest.json has the wrong version or notes: {manifest}");
    }
    chrono::DateTime::parse_from_rfc3339(manifest["pub_date"].as_str().unwrap_or(""))
        .context("latest.json pub_date is not RFC 3339")?;
    let real = configured_pubkey()?;
    for copy in &copies {
        let installer = updater_target(copy).unwrap_or_default();
        let target = format!("{}-{}-{installer}", updater_os(), std::env::consts::ARCH);
        let entry = &manifest["platforms"][&target];
        let name = copy.file_name().unwrap_or_default().to_string_lossy();
        if entry["url"] != format!("https://example.invalid/v{version}/{name}").as_str() {
            bail!("latest.json: {target} has the wrong url: {entry}");
        }
        let signature = entry["signature"].as_str().context("no signature")?;
        let bytes = fs::read(copy)?;
        verify(&bytes, signature, &pubkey)
            .with_context(|| format!("{target}: the signature does not verify"))?;
        if verify(&bytes, signature, &real).is_ok() {
            bail!("{target}: a throw-away signature verified with the real release key");
        }
        eprintln!("    {target}: signed, verifies");
    }
    Ok(())
}
