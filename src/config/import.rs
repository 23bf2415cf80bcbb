//! `[[import]]` tables (API.md §14): their keys, defaults and checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, HumanDuration};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ImportMode {
    #[default]
    Copy,
    Move,
    InPlace,
}

/// How a watched folder learns of new files (API.md §14).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// File-system events on local disks, polling on network and FUSE mounts.
    #[default]
    Auto,
    Events,
    Poll,
}

/// One `[[import]]` table: a folder Photox ingests on its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    pub path: PathBuf,
    /// Username of the photos' owner.
    pub owner: String,
    #[serde(default)]
    pub album: Option<String>,
    /// Each subfolder becomes a nested album under `album`.
    #[serde(default)]
    pub album_from_folders: bool,
    #[serde(default)]
    pub mode: ImportMode,
    #[serde(default)]
    pub watch: WatchMode,
    /// Full rescan this often.
    #[serde(default = "default_import_interval")]
    pub interval: HumanDuration,
    /// A file is taken once its size and modification time stood still this long.
    #[serde(default = "default_import_settle")]
    pub settle: HumanDuration,
    /// Glob patterns left out besides the defaults.
    #[serde(default)]
    pub exclude: Vec<String>,
}

fn default_import_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(3600))
}

fn default_import_settle() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

/// `path` made absolute and with `.` and `..` resolved without touching the disk (the folder
/// may not exist yet).
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let base = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let mut out = base;
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Config {
    /// `[[import]]` tables: each names a user, an absolute folder outside the data dir that no
    /// other table's folder contains, valid patterns and durations. Whether the folder exists
    /// is not checked here: the daemon starts without it and its status says why.
    pub(super) fn validate_imports(&self) -> Result<(), ConfigError> {
        let data_dir = lexical_absolute(&self.storage.data_dir);
        for (i, import) in self.import.iter().enumerate() {
            let invalid = |key: &str, message: String| {
                Err(ConfigError::Invalid {
                    key: format!("import[{i}].{key}"),
                    message,
                })
            };
            if import.owner.trim().is_empty() {
                return invalid("owner", "must name a user".into());
            }
            if !import.path.is_absolute() {
                return invalid("path", "must be an absolute path".into());
            }
            let path = lexical_absolute(&import.path);
            if path.starts_with(&data_dir) || data_dir.starts_with(&path) {
                return invalid(
                    "path",
                    "must not contain or lie inside storage.data_dir".into(),
                );
            }
            for (j, other) in self.import.iter().enumerate().take(i) {
                let other = lexical_absolute(&other.path);
                if path.starts_with(&other) || other.starts_with(&path) {
                    return invalid("path", format!("overlaps the folder of import[{j}]"));
                }
            }
            if import.interval.0 < Duration::from_secs(1) {
                return invalid("interval", "must be at least one second".into());
            }
            for pattern in &import.exclude {
                if let Err(e) = globset::Glob::new(pattern) {
                    return invalid(
                        "exclude",
                        format!("`{pattern}` is not a valid glob: {}", e.kind()),
                    );
                }
            }
        }
        Ok(())
    }
}
