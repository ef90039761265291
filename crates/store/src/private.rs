//! Files and folders only their owner can read: the data folder is 0700 and everything
//! QuantDesk creates in it (the database and its `-wal`/`-shm`, logs, reports, the IPC socket,
//! the pending audit entries) 0600, on Unix. Orders, positions and the audit log are nobody
//! else's business on a shared computer.
//!
//! [`restrict_new_files`] sets the process's umask to 077, so that whatever a library creates
//! (a rotated log file, SQLite's `-wal`) starts private; the functions here also create and
//! tighten explicitly, because the umask is per process and the app and the sidecar are two.
//! A folder or file made before this existed is tightened when the store opens it. Elsewhere
//! (Windows) these do nothing: the per-user profile folders are already private.

use std::io;
use std::path::Path;

/// Mode of the data folder and the folders in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file QuantDesk creates there.
pub const FILE_MODE: u32 = 0o600;

/// Makes files and folders this process creates from now on private to its user (umask 077).
pub fn restrict_new_files() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Creates `dir` (and missing parents) as 0700, or tightens it if it exists.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    tighten(dir);
    Ok(())
}

/// Takes group and other permissions off `path` if it exists: 0700 for a folder, 0600 for a
/// file. A folder with the sticky bit (a shared one such as `/tmp`, given as `--data-dir` by
/// mistake) is left alone; a failure (someone else's file) is logged, not fatal.
pub fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode();
        if mode & 0o1000 != 0 || mode & 0o077 == 0 {
            return;
        }
        let want = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
        if let Err(err) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(want)) {
            tracing::warn!(%err, path = %path.display(), "could not make it private to this user");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Creates `path` as an empty 0600 file if it does not exist yet (before another library
/// creates it with its own mode).
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            tighten(path);
            Ok(())
        }
        Err(e) => Err(e),
    }
}
