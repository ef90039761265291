use std::fs;

use super::*;

fn args(i: &Invocation) -> Vec<&str> {
    i.args.iter().map(|a| a.to_str().unwrap()).collect()
}

#[test]
fn macos_quits_through_applescript_and_opens_by_name() {
    assert_eq!(macos_quit().program, Path::new("osascript"));
    assert_eq!(
        args(&macos_quit()),
        ["-e", "tell application \"Claude\" to quit"]
    );
    assert_eq!(
        args(&macos_is_running()),
        ["-e", "application \"Claude\" is running"]
    );
    assert_eq!(macos_open().display(), "open -a Claude");
}

#[test]
fn macos_is_offered_only_with_claude_app_installed() {
    let dir = tempfile::tempdir().unwrap();
    let env = Environment {
        home: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let proc = dir.path().join("proc");
    // /Applications/Claude.app may exist on a Mac running this test; only judge elsewhere.
    if !Path::new("/Applications/Claude.app").exists() {
        assert!(matches!(
            offer(Os::MacOs, &env, &proc),
            Offer::Unavailable { .. }
        ));
        assert!(matches!(
            restart(Os::MacOs, &env, &proc),
            Err(RestartError::Unavailable(_))
        ));
    }
    fs::create_dir_all(dir.path().join("Applications/Claude.app")).unwrap();
    assert!(matches!(
        offer(Os::MacOs, &env, &proc),
        Offer::Available { .. }
    ));
}

#[test]
fn windows_keeps_only_claude_desktop_processes() {
    let local = Path::new(r"C:\Users\Ann\AppData\Local");
    let out = "4242\tC:\\Users\\Ann\\AppData\\Local\\AnthropicClaude\\app-0.12.55\\claude.exe\r\n\
               4243\tc:\\users\\ann\\appdata\\local\\anthropicclaude\\app-0.12.55\\claude.exe\r\n\
               5000\tC:\\Users\\Ann\\.local\\bin\\claude.exe\r\n\
               5001\tC:\\Users\\Ann\\AppData\\Local\\AnthropicClaudeOld\\claude.exe\r\n\
               6000\t\r\n\
               garbage\r\n";
    let found = parse_windows_processes(out, local);
    assert_eq!(
        found.iter().map(|p| p.pid).collect::<Vec<_>>(),
        [4242, 4243]
    );
    assert_eq!(
        found[0].program,
        Path::new(r"C:\Users\Ann\AppData\Local\AnthropicClaude\app-0.12.55\claude.exe")
    );
}

#[test]
fn windows_ends_politely_then_by_force_and_relaunches_from_the_install_folder() {
    assert_eq!(windows_end(42, false).display(), "taskkill /PID 42 /T");
    assert_eq!(windows_end(42, true).display(), "taskkill /PID 42 /T /F");
    let list = windows_list_processes();
    assert_eq!(list.program, Path::new("powershell.exe"));
    assert!(
        args(&list)
            .last()
            .unwrap()
            .contains("Get-Process -Name claude")
    );

    let dir = tempfile::tempdir().unwrap();
    let env = Environment {
        local_appdata: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let launcher = windows_launcher(&env).unwrap();
    assert_eq!(
        launcher,
        dir.path().join("AnthropicClaude").join("claude.exe")
    );
    let proc = dir.path().join("proc");
    assert!(matches!(
        offer(Os::Windows, &env, &proc),
        Offer::Unavailable { .. }
    ));
    fs::create_dir_all(launcher.parent().unwrap()).unwrap();
    fs::write(&launcher, b"MZ").unwrap();
    assert!(matches!(
        offer(Os::Windows, &env, &proc),
        Offer::Available { .. }
    ));
    assert!(windows_launcher(&Environment::default()).is_none());
}

#[cfg(unix)]
/// A `/proc`-like folder: one directory per process with `cmdline`, an `exe` link and
/// optionally `environ`.
fn fake_process(proc: &Path, pid: u32, exe: &str, argv: &[&str], environ: &[&str]) {
    let dir = proc.join(pid.to_string());
    fs::create_dir_all(&dir).unwrap();
    let mut cmdline = argv.join("\0");
    cmdline.push('\0');
    fs::write(dir.join("cmdline"), cmdline).unwrap();
    std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
    if !environ.is_empty() {
        fs::write(dir.join("environ"), environ.join("\0")).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn linux_finds_the_main_claude_desktop_process_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path();
    // A Debian-packaged community build: Electron running claude-desktop's app.asar.
    fake_process(
        proc,
        100,
        "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
        &[
            "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
            "/usr/lib/claude-desktop/app.asar",
            "--ozone-platform-hint=auto",
        ],
        &[],
    );
    // Its helper processes.
    fake_process(
        proc,
        101,
        "/usr/lib/claude-desktop/node_modules/electron/dist/electron",
        &[
            "electron",
            "--type=renderer",
            "/usr/lib/claude-desktop/app.asar",
        ],
        &[],
    );
    // An AppImage: restart the image, not its temporary mount.
    fake_process(
        proc,
        200,
        "/tmp/.mount_ClaudeXyz/claude-desktop",
        &["/tmp/.mount_ClaudeXyz/claude-desktop"],
        &["HOME=/home/ann", "APPIMAGE=/home/ann/Apps/Claude.AppImage"],
    );
    // Claude Code (lower-case `claude`), another Electron app, an upgraded-away binary.
    fake_process(
        proc,
        300,
        "/home/ann/.local/share/claude/versions/2.1.0",
        &["claude", "--resume"],
        &[],
    );
    fake_process(
        proc,
        301,
        "/usr/bin/node",
        &["node", "/usr/bin/claude"],
        &[],
    );
    fake_process(
        proc,
        302,
        "/usr/share/code/code",
        &["/usr/share/code/code", "/usr/share/code/resources/app.asar"],
        &[],
    );
    fake_process(
        proc,
        303,
        "/usr/bin/claude-desktop (deleted)",
        &["/usr/bin/claude-desktop"],
        &[],
    );
    fs::create_dir_all(proc.join("self")).unwrap();

    let found = find_linux(proc);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].pid, 100);
    assert_eq!(
        found[0].program,
        Path::new("/usr/lib/claude-desktop/node_modules/electron/dist/electron")
    );
    assert_eq!(
        found[0].args,
        [
            OsString::from("/usr/lib/claude-desktop/app.asar"),
            OsString::from("--ozone-platform-hint=auto")
        ]
    );
    assert_eq!(found[1].pid, 200);
    assert_eq!(
        found[1].program,
        Path::new("/home/ann/Apps/Claude.AppImage")
    );
    assert!(matches!(
        offer(Os::Linux, &Environment::default(), proc),
        Offer::Available { .. }
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        offer(Os::Linux, &Environment::default(), empty.path()),
        Offer::Unavailable { .. }
    ));
    assert!(matches!(
        restart(Os::Linux, &Environment::default(), empty.path()),
        Err(RestartError::Unavailable(_))
    ));
}

#[test]
fn linux_ends_with_term_then_kill() {
    assert_eq!(linux_end(7, false).display(), "kill -TERM 7");
    assert_eq!(linux_end(7, true).display(), "kill -KILL 7");
}

/// A real process named like a community build (a copy of `sleep` called `claude-desktop`)
/// is found in the real /proc, ended, and started again with its arguments.
#[cfg(target_os = "linux")]
#[test]
fn linux_restarts_a_real_running_process_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("claude-desktop");
    let sleep_bin = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("sleep is installed");
    fs::copy(sleep_bin, &exe).unwrap();
    let mut child = Command::new(&exe).arg("300").spawn().unwrap();
    // Whatever happens below, no copy of it outlives the test.
    struct EndAll(PathBuf);
    impl Drop for EndAll {
        fn drop(&mut self) {
            for p in find_linux(Path::new("/proc")) {
                if p.program == self.0 {
                    let _ = linux_end(p.pid, true).output();
                }
            }
        }
    }
    let _end_all = EndAll(exe.clone());
    let proc = Path::new("/proc");
    // Found once it has exec'd and the kernel shows its arguments.
    let started = |exe: &Path| {
        let end = Instant::now() + QUIT_WAIT;
        loop {
            let found: Vec<RunningClaude> = find_linux(proc)
                .into_iter()
                .filter(|p| p.program == exe && !p.args.is_empty())
                .collect();
            if !found.is_empty() || Instant::now() >= end {
                return found;
            }
            sleep(POLL / 10);
        }
    };
    let mine = started(&exe);
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].pid, child.id());
    assert_eq!(mine[0].args, [OsString::from("300")]);

    // Reap the ended child as soon as it dies, so /proc forgets it.
    let reaper = std::thread::spawn(move || child.wait());
    let done = restart_linux(&mine, proc).unwrap();
    assert!(done.message.contains("restarted"), "{}", done.message);
    reaper.join().unwrap().unwrap();
    let again = started(&exe);
    assert_eq!(again.len(), 1, "started again: {again:?}");
    assert_ne!(again[0].pid, mine[0].pid);
    assert_eq!(again[0].args, [OsString::from("300")]);
}
