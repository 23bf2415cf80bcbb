//! The real `photox` binary as a child process, for tests that need a separate process
//! (command line, signals, kill -9).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_photox");

/// Runs a `photox` command (not the daemon) to its end, with these variables besides the
/// caller's and `stdin` as its input; its log goes to stderr.
pub fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env("PHOTOX_LOG__TARGET", "stderr")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// A daemon started from the binary; killed on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    log: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    pub fn start(data_dir: &Path) -> Daemon {
        Self::start_with_env(data_dir, &[])
    }

    /// Starts with these environment variables besides the caller's.
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir.to_str().unwrap(),
            ])
            .env("PHOTOX_LOG__TARGET", "stderr")
            .env("PHOTOX_LOG__LEVEL", "debug")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Forward stderr lines, so the daemon never blocks on a full pipe and tests can wait
        // for what it says.
        let (tx, log) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut daemon = Daemon {
            child,
            port: 0,
            log,
        };
        let line = daemon.wait_for_log("listening on ");
        daemon.port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        daemon
    }

    /// The next log line containing `needle` (panics if the daemon goes quiet for 60 s).
    pub fn wait_for_log(&self, needle: &str) -> String {
        self.log_until(needle).pop().unwrap()
    }

    /// The log lines up to and including the next one containing `needle`.
    pub fn log_until(&self, needle: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self
                .log
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("daemon never logged {needle:?}; it said {lines:#?}"));
            let found = line.contains(needle);
            lines.push(line);
            if found {
                return lines;
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
