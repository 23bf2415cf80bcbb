//! Logging through the `log` facade: journald when running under systemd, readable lines on
//! stderr otherwise.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

use crate::config::{LogConfig, LogTarget};

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata())
            || !is_ours(record.target()) && record.level() > log::Level::Warn
        {
            return;
        }
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let _ = writeln!(
            std::io::stderr().lock(),
            "{time} {:<5} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Other crates only get to say warnings and errors.
fn is_ours(target: &str) -> bool {
    target == "photox" || target.starts_with("photox::")
}

/// Installs the logger. Journald is used for `target = "journald"`, or for `"auto"` when
/// stderr is connected to the journal (as under systemd).
pub fn init(config: &LogConfig, level: LevelFilter) {
    let journald = match config.target {
        LogTarget::Journald => true,
        LogTarget::Stderr => false,
        LogTarget::Auto => systemd_journal_logger::connected_to_journal(),
    };
    let installed = if journald {
        systemd_journal_logger::JournalLog::new()
            .map_err(|e| e.to_string())
            .and_then(|logger| {
                logger
                    .with_syslog_identifier("photox".into())
                    .install()
                    .map_err(|e| e.to_string())
            })
    } else {
        log::set_boxed_logger(Box::new(StderrLogger)).map_err(|e| e.to_string())
    };
    if let Err(e) = installed {
        // A logger may already be installed (tests start several servers in one process).
        let _ = log::set_boxed_logger(Box::new(StderrLogger));
        eprintln!("photox: logging setup: {e}");
    }
    log::set_max_level(level);
}
