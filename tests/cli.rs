//! The `photox` binary: config check and precedence, user commands beside a running daemon,
//! SIGTERM, backup and the OpenAPI printout.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_photox");

/// Runs photox with only the given PHOTOX_* variables (the caller's are removed).
fn photox(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PHOTOX_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON printed by `config check` after its first line.
fn effective(o: &Output) -> Value {
    let text = stdout(o);
    let json = text.split_once('\n').unwrap().1;
    serde_json::from_str(json).unwrap()
}

#[test]
fn config_check_names_unknown_and_invalid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[server]\nlisen = \"0.0.0.0:1\"\n").unwrap();
    let o = photox(&["config", "check", file.to_str().unwrap()], &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("lisen"), "{}", stderr(&o));

    std::fs::write(&file, "[storage]\nmax_upload_mb = \"lots\"\n").unwrap();
    let o = photox(&["config", "check", file.to_str().unwrap()], &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("storage.max_upload_mb"),
        "{}",
        stderr(&o)
    );

    std::fs::write(&file, "[auth]\nregistration = \"sometimes\"\n").unwrap();
    let o = photox(&["config", "check", file.to_str().unwrap()], &[], None);
    assert!(stderr(&o).contains("auth.registration"), "{}", stderr(&o));

    std::fs::write(&file, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let o = photox(&["config", "check", file.to_str().unwrap()], &[], None);
    assert!(stderr(&o).contains("server.listen"), "{}", stderr(&o));

    let o = photox(&["config", "check", "/nonexistent/photox.toml"], &[], None);
    assert_eq!(o.status.code(), Some(1));
    // A bad environment override is named too.
    let o = photox(
        &["config", "check"],
        &[("PHOTOX_LIMITS__LOGIN_PER_MINUTE", "many")],
        None,
    );
    assert!(
        stderr(&o).contains("limits.login_per_minute"),
        "{}",
        stderr(&o)
    );
}

fn collect_keys(prefix: &str, value: &Value, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() && k != "options" {
                collect_keys(&key, v, out);
            } else if prefix.is_empty() {
                // `import` is an array of tables, checked on its own below.
                continue;
            } else {
                out.push(key);
            }
        }
    }
}

#[test]
fn example_config_is_valid_and_documents_every_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let o = photox(&["config", "check", example.to_str().unwrap()], &[], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&example).unwrap();
    let defaults = effective(&photox(&["config", "check"], &[], None));
    let mut keys = Vec::new();
    collect_keys("", &defaults, &mut keys);
    assert!(keys.len() > 15, "{keys:?}");
    for key in keys {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", &key));
        let section_header = if section == "import" {
            "[[import]]".to_string()
        } else {
            format!("[{section}]")
        };
        assert!(
            text.contains(&section_header),
            "section of {key} undocumented"
        );
        let documented = text.contains(&format!("{name} =")) || text.contains(&format!("[{key}]"));
        assert!(documented, "{key} undocumented");
    }
    for key in ["path =", "owner =", "album =", "mode =", "interval ="] {
        assert!(text.contains(key), "[[import]] {key} undocumented");
    }
}

#[test]
fn precedence_is_default_then_file_then_env_then_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:1001\"\n[storage]\ndata_dir = \"/from/file\"\nmax_upload_mb = 7\n",
    )
    .unwrap();
    let env = [
        ("PHOTOX_CONFIG", file.to_str().unwrap()),
        ("PHOTOX_SERVER__LISTEN", "127.0.0.1:1002"),
        ("PHOTOX_STORAGE__DATA_DIR", "/from/env"),
    ];
    let o = photox(
        &["config", "check", "--listen", "127.0.0.1:1003"],
        &env,
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let c = effective(&o);
    assert_eq!(c["server"]["listen"], "127.0.0.1:1003", "flag beats env");
    assert_eq!(c["storage"]["data_dir"], "/from/env", "env beats file");
    assert_eq!(c["storage"]["max_upload_mb"], 7, "file beats default");
    assert_eq!(c["storage"]["min_free_mb"], 512, "default");
    let o = photox(&["config", "check"], &env[..1], None);
    assert_eq!(
        effective(&o)["server"]["listen"],
        "127.0.0.1:1001",
        "file alone"
    );
    let o = photox(&["config", "check"], &[], None);
    assert_eq!(
        effective(&o)["server"]["listen"],
        "0.0.0.0:3333",
        "embedded default"
    );
    assert_eq!(effective(&o)["storage"]["data_dir"], "./photox-data");
    let o = photox(
        &["config", "check"],
        &[("PHOTOX_SERVER__CORS_ORIGINS", "[\"https://a.example\"]")],
        None,
    );
    assert_eq!(
        effective(&o)["server"]["cors_origins"][0],
        "https://a.example"
    );
}

/// A daemon started from the binary; killed on drop if still running.
struct Daemon {
    child: Child,
    port: u16,
    log: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    fn start(data_dir: &Path) -> Daemon {
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
    fn wait_for_log(&self, needle: &str) -> String {
        loop {
            let line = self
                .log
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("daemon never logged {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    }

    fn terminate(mut self) -> std::process::ExitStatus {
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

fn login(d: &Daemon, user: &str, password: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(d.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .unwrap()
}

#[test]
fn user_commands_work_beside_a_running_daemon_which_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data);
    let health = reqwest::blocking::get(daemon.url("/health")).unwrap();
    assert_eq!(health.status(), 200);
    let env = [("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())];

    let o = photox(
        &["user", "add", "ann", "--admin", "--password-stdin"],
        &env,
        Some("first-password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = photox(
        &["user", "add", "bob", "--password-stdin"],
        &env,
        Some("bobs-password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = photox(
        &["user", "add", "bob", "--password-stdin"],
        &env,
        Some("bobs-password\n"),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("taken"), "{}", stderr(&o));
    let o = photox(
        &["user", "add", "carl", "--password-stdin"],
        &env,
        Some("short\n"),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
    let o = photox(&["user", "add", "dora"], &env, None);
    assert!(!o.status.success(), "no terminal and no --password-stdin");

    let r = login(&daemon, "ann", "first-password");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["data"]["user"]["role"], "admin");

    let list = stdout(&photox(&["user", "list"], &env, None));
    assert!(
        list.contains("ann") && list.contains("admin") && list.contains("bob"),
        "{list}"
    );
    assert!(!list.contains("carl"));

    let o = photox(
        &["user", "passwd", "ann", "--password-stdin"],
        &env,
        Some("second-password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(login(&daemon, "ann", "first-password").status(), 401);
    assert_eq!(login(&daemon, "ann", "second-password").status(), 200);
    let o = photox(
        &["user", "passwd", "nobody", "--password-stdin"],
        &env,
        Some("whatever-pw\n"),
    );
    assert!(!o.status.success());

    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
}

#[test]
fn backup_writes_a_consistent_copy_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())];
    let o = photox(
        &["user", "add", "ann", "--password-stdin"],
        &env,
        Some("ann-password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dest = dir.path().join("backup.db");
    let o = photox(&["backup", dest.to_str().unwrap()], &env, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let conn = rusqlite::Connection::open(&dest).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM users WHERE username = 'ann'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    let o = photox(&["backup", dest.to_str().unwrap()], &env, None);
    assert!(!o.status.success(), "an existing file is not overwritten");
}

#[test]
fn openapi_command_prints_the_document() {
    let o = photox(&["openapi"], &[], None);
    assert!(o.status.success());
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    use std::io::Read;
    use std::net::TcpStream;

    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(&dir.path().join("data"));
    let body = br#"{"username":"nobody","password":"whatever-password"}"#;
    let mut conn = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    conn.flush().unwrap();
    daemon.wait_for_log("POST /api/v1/auth/login started");
    daemon.send_sigterm();
    daemon.wait_for_log("draining");
    // The daemon is shutting down; the request that was already under way still gets its answer.
    conn.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("INVALID_CREDENTIALS"), "{response}");
    assert_eq!(daemon.child.wait().unwrap().code(), Some(0));
}
