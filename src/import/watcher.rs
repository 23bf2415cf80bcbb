//! File-system events for watched folders: only a hint that a scan is due. Network and FUSE
//! file systems send none (or wrong ones) and are polled; a folder whose watches cannot be set
//! (the inotify watch limit) is polled too, and its status says why.

use std::path::Path;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::WatchMode;

/// How a folder learns of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watching {
    Events,
    /// Polled by scans, for this reason.
    Poll(String),
}

/// What a watch reports: something changed, or the watch lost events (a scan must find out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Changed,
    Overflow,
}

/// File systems whose events cannot be trusted (from `statfs`'s `f_type`).
fn network_or_fuse(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a zeroed statfs for the kernel to fill.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    let kind = stat.f_type as i64 & 0xFFFF_FFFF;
    match kind {
        0x6969 => Some("NFS"),
        0x517B => Some("SMB"),
        0xFF53_4D42 => Some("CIFS"),
        0xFE53_4D42 => Some("SMB2"),
        0x6573_5546 => Some("FUSE (sshfs, rclone, ...)"),
        0x0102_1997 => Some("9p"),
        0x00C3_6400 => Some("Ceph"),
        _ => None,
    }
}

/// Whether watch setup is made to fail (debug builds, for the tests of the polling fallback).
fn watch_setup_fails() -> bool {
    cfg!(debug_assertions) && std::env::var_os("PHOTOX_TEST_FAIL_WATCH").is_some()
}

/// Starts watching `root` as `mode` says; hints go to `hints`. The returned watcher must be
/// kept for as long as events are wanted.
pub fn watch(
    root: &Path,
    mode: WatchMode,
    hints: UnboundedSender<Hint>,
) -> (Option<notify::RecommendedWatcher>, Watching) {
    if mode == WatchMode::Poll {
        return (None, Watching::Poll("watch = \"poll\"".into()));
    }
    if mode == WatchMode::Auto {
        if let Some(fs) = network_or_fuse(root) {
            return (
                None,
                Watching::Poll(format!("{fs} file systems send no reliable events")),
            );
        }
    }
    if watch_setup_fails() {
        return (
            None,
            Watching::Poll("watching failed: PHOTOX_TEST_FAIL_WATCH".into()),
        );
    }
    let handler = move |event: notify::Result<notify::Event>| {
        let hint = match event {
            Ok(event) if event.need_rescan() => Hint::Overflow,
            Ok(event) if event.kind.is_access() => return,
            Ok(_) => Hint::Changed,
            Err(_) => Hint::Overflow,
        };
        let _ = hints.send(hint);
    };
    let watcher = notify::recommended_watcher(handler).and_then(|mut watcher| {
        watcher.watch(root, RecursiveMode::Recursive)?;
        Ok(watcher)
    });
    match watcher {
        Ok(watcher) => (Some(watcher), Watching::Events),
        Err(e) => {
            let reason = match e.kind {
                notify::ErrorKind::MaxFilesWatch => {
                    "the inotify watch limit is reached (fs.inotify.max_user_watches)".to_string()
                }
                _ => format!("watching failed: {e}"),
            };
            (None, Watching::Poll(reason))
        }
    }
}
