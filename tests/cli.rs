//! The `photox` binary: config check and precedence, user commands beside a running daemon,
//! SIGTERM, backup and the OpenAPI printout.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::daemon::{Daemon, BIN};

use serde_json::Value;

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

#[test]
fn photox_variables_that_are_not_configuration_are_ignored() {
    // Variables of tools around photox (.ci/run, tests/common), and ones without a known
    // section: not PHOTOX_<SECTION>__<KEY>, so not configuration.
    let others = [
        ("PHOTOX_CI_TARGET_DIR", "/tmp/ci-target"),
        ("PHOTOX_TEST_LOG", "debug"),
        ("PHOTOX_SOMETHING", "1"),
        ("PHOTOX_NOSECTION__KEY", "1"),
        ("PHOTOX_LOG__TARGET", "stderr"),
    ];
    let o = photox(&["config", "check"], &others, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(effective(&o)["server"]["listen"], "0.0.0.0:3333");
    assert!(
        stderr(&o).contains("ignoring PHOTOX_CI_TARGET_DIR"),
        "{}",
        stderr(&o)
    );
    // The documented form still applies beside them.
    let with_listen = [&others[..], &[("PHOTOX_SERVER__LISTEN", "127.0.0.1:1004")]].concat();
    let o = photox(&["config", "check"], &with_listen, None);
    assert_eq!(effective(&o)["server"]["listen"], "127.0.0.1:1004");
    // An unknown key in a known section is still an error that names it.
    let o = photox(
        &["config", "check"],
        &[("PHOTOX_SERVER__LISTNE", "x")],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("listne"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with_env(&dir.path().join("data"), &others[..4]);
    let health = reqwest::blocking::get(daemon.url("/health")).unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(daemon.terminate().code(), Some(0));
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

fn upload_png(d: &Daemon, token: &str, w: u32) -> i64 {
    let img = image::RgbImage::from_fn(w, 20, |x, y| image::Rgb([x as u8, y as u8, 3]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(bytes).file_name("a.png"),
    );
    let r: Value = reqwest::blocking::Client::new()
        .post(d.url("/api/v1/photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["data"]["uploaded"][0]["id"].as_i64().unwrap()
}

#[test]
fn verify_finds_damaged_missing_and_stray_files_and_reprocess_queues_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data);
    let env = [("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())];
    let o = photox(
        &["user", "add", "ann", "--password-stdin"],
        &env,
        Some("ann-password\n"),
    );
    assert!(o.status.success());
    let token: Value = login(&daemon, "ann", "ann-password").json().unwrap();
    let token = token["data"]["access_token"].as_str().unwrap().to_string();
    for w in [20, 21, 22] {
        upload_png(&daemon, &token, w);
    }
    let o = photox(&["verify"], &env, None);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("3 photos verified"), "{}", stdout(&o));

    let o = photox(&["reprocess", "--steps", "thumbnails"], &env, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("queued 3 photos"), "{}", stdout(&o));
    let o = photox(&["reprocess", "--steps", "polish"], &env, None);
    assert!(!o.status.success());

    let mut originals = Vec::new();
    let mut stack = vec![data.join("originals")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                originals.push(e.path());
            }
        }
    }
    originals.sort();
    let mut damaged = std::fs::read(&originals[0]).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xFF;
    std::fs::write(&originals[0], damaged).unwrap();
    std::fs::remove_file(&originals[1]).unwrap();
    std::fs::write(originals[2].with_file_name("stray.png"), b"x").unwrap();
    let o = photox(&["verify"], &env, None);
    assert_eq!(o.status.code(), Some(1));
    let report = stdout(&o);
    assert!(report.contains("checksum mismatch"), "{report}");
    assert!(report.contains("original file is missing"), "{report}");
    assert!(
        report.contains("file without a photo") && report.contains("stray.png"),
        "{report}"
    );
    assert!(
        !report.contains(dir.path().to_str().unwrap()),
        "paths are relative to the data dir"
    );
}

#[test]
fn sighup_reloads_the_configuration_and_the_reload_task_ends_with_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[auth]\nregistration = \"open\"\n").unwrap();
    let daemon = Daemon::start_with_env(
        &dir.path().join("data"),
        &[("PHOTOX_CONFIG", config.to_str().unwrap())],
    );
    let register = |name: &str| {
        reqwest::blocking::Client::new()
            .post(daemon.url("/api/v1/auth/register"))
            .json(&serde_json::json!({"username": name, "password": "correct-horse-1"}))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(register("ann"), 201);
    assert_eq!(register("bob"), 201);
    std::fs::write(&config, "[auth]\nregistration = \"closed\"\n").unwrap();
    let pid = daemon.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    daemon.wait_for_log("configuration reloaded");
    assert_eq!(register("carl"), 403, "closed by the reload");
    assert_eq!(daemon.terminate().code(), Some(0), "SIGTERM exits 0");
}

#[test]
fn import_tables_are_checked_and_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let (a, b) = (dir.path().join("photos"), dir.path().join("photos/phone"));
    std::fs::create_dir_all(&b).unwrap();
    let data = dir.path().join("data");
    let check = |toml: String| {
        std::fs::write(&file, toml).unwrap();
        photox(&["config", "check", file.to_str().unwrap()], &[], None)
    };
    let table = |path: &Path| format!("[[import]]\npath = {:?}\nowner = \"ann\"\n", path);
    let storage = format!("[storage]\ndata_dir = {:?}\n", data);

    let o = check(format!("{storage}{}{}", table(&a), table(&b)));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("import[1].path"), "{}", stderr(&o));
    assert!(stderr(&o).contains("overlaps"), "{}", stderr(&o));

    let o = check(format!("{storage}{}", table(&data.join("originals"))));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("import[0].path"), "{}", stderr(&o));

    let o = check(format!("{storage}{}exclude = [\"[\"]\n", table(&a)));
    assert!(stderr(&o).contains("import[0].exclude"), "{}", stderr(&o));

    let o = check(format!(
        "{storage}{}",
        table(&dir.path().join("not-mounted"))
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: import[0].path"),
        "{}",
        stderr(&o)
    );

    // The daemon refuses an owner that is not a user, naming the key.
    let o = photox(
        &[
            "-c",
            file.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
        None,
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("import[0].owner"), "{}", stderr(&o));
}

#[test]
fn a_folder_whose_watch_cannot_be_set_is_polled_and_still_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let folder = dir.path().join("photos");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain.png"),
        folder.join("a.png"),
    )
    .unwrap();
    let data_env = [("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())];
    let o = photox(
        &["user", "add", "ann", "--admin", "--password-stdin"],
        &data_env,
        Some("correct-horse-1\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[[import]]\npath = {folder:?}\nowner = \"ann\"\nsettle = \"0s\"\n"),
    )
    .unwrap();
    let daemon = Daemon::start_with_env(
        &data,
        &[
            ("PHOTOX_CONFIG", config.to_str().unwrap()),
            ("PHOTOX_TEST_FAIL_WATCH", "1"),
        ],
    );
    let client = reqwest::blocking::Client::new();
    let login: Value = client
        .post(daemon.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "ann", "password": "correct-horse-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["data"]["access_token"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let status: Value = client
            .get(daemon.url("/api/v1/admin/imports"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let item = &status["data"]["items"][0];
        assert_eq!(item["watch"], "poll", "{status}");
        if item["imported"] == 1 {
            assert!(
                item["reason"].as_str().unwrap().contains("watching failed"),
                "{status}"
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the polled folder was never imported");
}
