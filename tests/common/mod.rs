//! Test harness: each test starts its own real server on 127.0.0.1:0 with a temporary data dir,
//! waits for `/health`, and stops it on drop.
#![allow(dead_code)]

pub mod daemon;
pub mod tus;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use photox::app::{App, AppState};
use photox::config::{Config, Overrides};
use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct-horse-1";

/// What a test does to the state before the server starts (and again at each restart), such
/// as registering its own job kinds.
pub type Setup = Arc<dyn Fn(&AppState) + Send + Sync>;

pub struct TestServer {
    /// The server's state, for tests that drive a feature directly (e.g. a scheduled purge).
    pub state: AppState,
    pub addr: SocketAddr,
    pub base: String,
    pub dir: TempDir,
    pub client: reqwest::Client,
    config: Config,
    setup: Setup,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A running `App::serve`: its state, address, the sender that stops it and its task.
struct Launched {
    state: AppState,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn launch(config: &Config, setup: &Setup) -> Launched {
    let state = AppState::open(config.clone(), None, Overrides::default()).unwrap();
    setup(&state);
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(App::new(state.clone()).serve(acceptor, async move {
        let _ = stopped.await;
    }));
    Launched {
        state,
        addr,
        stop,
        served,
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and, for errors, the envelope of API.md §1.1.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 && status != 304 {
            assert_eq!(
                self.body["code"], status,
                "code must equal the status: {}",
                self.text
            );
            assert!(self.body["message"].is_string(), "{}", self.text);
            assert!(self.body["error"]["type"].is_string(), "{}", self.text);
        }
        self
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub username: String,
    pub access: String,
    pub refresh: String,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    /// Starts with defaults changed by `edit`. The login limit is raised so that tests can log
    /// in freely; tests of the limit set it back.
    pub async fn with_config(edit: impl FnOnce(&mut Config)) -> Self {
        Self::with_setup(edit, |_| {}).await
    }

    /// Starts with defaults changed by `edit`; `setup` runs on the state before the server
    /// starts, and again at each `restart` (tests register their own job kinds there).
    pub async fn with_setup(
        edit: impl FnOnce(&mut Config),
        setup: impl Fn(&AppState) + Send + Sync + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.storage.data_dir = dir.path().join("data");
        config.server.listen = "127.0.0.1:0".into();
        config.limits.login_per_minute = 10_000;
        edit(&mut config);
        // PHOTOX_TEST_LOG=debug shows the daemon's log while debugging a test.
        if let Ok(level) = std::env::var("PHOTOX_TEST_LOG") {
            static LOG: std::sync::Once = std::sync::Once::new();
            LOG.call_once(|| {
                let level = level.parse().unwrap_or(log::LevelFilter::Debug);
                photox::logging::init(&config.log, level);
            });
        }
        let setup: Setup = Arc::new(setup);
        let launched = launch(&config, &setup).await;
        let server = TestServer {
            state: launched.state,
            addr: launched.addr,
            base: format!("http://{}", launched.addr),
            dir,
            client: reqwest::Client::new(),
            config,
            setup,
            stop: Some(launched.stop),
            served: Some(launched.served),
        };
        server.wait_healthy().await;
        server
    }

    /// Stops the server as SIGTERM does and waits until `App::serve` has returned (requests
    /// drained, background tasks ended); returns what it returned.
    pub async fn shut_down(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.served.take() {
            Some(served) => served.await.expect("App::serve panicked"),
            None => Ok(()),
        }
    }

    /// Stops the server and starts it again on the same data dir, configuration and setup.
    pub async fn restart(&mut self) {
        self.shut_down().await.unwrap();
        let launched = launch(&self.config, &self.setup).await;
        self.state = launched.state;
        self.addr = launched.addr;
        self.base = format!("http://{}", launched.addr);
        self.stop = Some(launched.stop);
        self.served = Some(launched.served);
        // Connections to the old server are gone.
        self.client = reqwest::Client::new();
        self.wait_healthy().await;
    }

    /// Stops the server, changes its configuration and starts it again on the same data dir.
    pub async fn restart_with(&mut self, edit: impl FnOnce(&mut Config)) {
        edit(&mut self.config);
        self.restart().await;
    }

    async fn wait_healthy(&self) {
        for _ in 0..500 {
            if let Ok(r) = self
                .client
                .get(format!("{}/health", self.base))
                .send()
                .await
            {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::task::yield_now().await;
        }
        panic!("server did not become healthy");
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/')
            && !path.starts_with("/api")
            && path != "/"
            && !path.starts_with("/health")
        {
            format!("{}/api/v1{path}", self.base)
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.expect("request failed");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.client.get(self.url(path)), token))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.client.delete(self.url(path)), token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Self::with_token(
            self.client.post(self.url(path)).json(&body),
            token,
        ))
        .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Self::with_token(
            self.client.put(self.url(path)).json(&body),
            token,
        ))
        .await
    }

    /// Any method with a JSON body (e.g. DELETE with `{photo_ids}`).
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Resp {
        self.send(Self::with_token(
            self.client.request(method, self.url(path)).json(&body),
            token,
        ))
        .await
    }

    /// An admin (`root`, the first user) and three plain users: ann and bob in one family
    /// (ann owns it), eve outside it.
    pub async fn household(&self) -> (Session, Session, Session, Session) {
        let root = self.register("root").await;
        let ann = self.register("ann").await;
        let bob = self.register("bob").await;
        let eve = self.register("eve").await;
        self.same_family(&ann, &bob).await;
        (root, ann, bob, eve)
    }

    /// `owner` creates a family and `member` joins it.
    pub async fn same_family(&self, owner: &Session, member: &Session) {
        let r = self
            .post("/family", Some(&owner.access), json!({"name": "Home"}))
            .await;
        r.expect(201);
        let code = r.data()["invite_code"].as_str().unwrap().to_string();
        self.post(
            "/family/join",
            Some(&member.access),
            json!({"invite_code": code}),
        )
        .await
        .expect(200);
    }

    pub async fn register(&self, username: &str) -> Session {
        let r = self
            .post(
                "/auth/register",
                None,
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        r.expect(201);
        session_from(&r)
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn login_ok(&self, username: &str) -> Session {
        let r = self.login(username, PASSWORD).await;
        r.expect(200);
        session_from(&r)
    }
}

pub fn session_from(r: &Resp) -> Session {
    let d = r.data();
    Session {
        id: d["user"]["id"].as_i64().unwrap(),
        username: d["user"]["username"].as_str().unwrap().to_string(),
        access: d["access_token"].as_str().unwrap().to_string(),
        refresh: d["refresh_token"].as_str().unwrap().to_string(),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A real PNG of the given size.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A real JPEG of the given size.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 199) as u8])
    });
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One part of a multipart upload: a file (part name, file name, bytes) or a text field.
pub enum Part {
    File(&'static str, &'static str, Vec<u8>),
    Text(&'static str, String),
}

impl TestServer {
    pub async fn upload_parts(&self, path: &str, token: &str, parts: Vec<Part>) -> Resp {
        let mut form = reqwest::multipart::Form::new();
        for part in parts {
            form = match part {
                Part::File(name, filename, bytes) => form.part(
                    name,
                    reqwest::multipart::Part::bytes(bytes).file_name(filename),
                ),
                Part::Text(name, value) => form.text(name, value),
            };
        }
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .multipart(form),
        )
        .await
    }

    /// Uploads one file and returns the photo JSON.
    pub async fn upload(&self, token: &str, filename: &'static str, bytes: Vec<u8>) -> Value {
        let r = self
            .upload_parts("/photos", token, vec![Part::File("file", filename, bytes)])
            .await;
        r.expect(201);
        r.data()["uploaded"][0].clone()
    }

    /// Polls the photo's status until processing is over (background jobs; bounded).
    pub async fn wait_processed(&self, token: &str, id: i64) -> Value {
        for _ in 0..600 {
            let r = self.get(&format!("/photos/{id}/status"), Some(token)).await;
            r.expect(200);
            if r.data()["status"] != "processing" {
                return r.data().clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("photo {id} still processing after 30 s");
    }

    /// GET of an absolute path (like a Photo's urls) without the /api/v1 prefix logic.
    pub async fn get_raw(
        &self,
        path_and_query: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path_and_query}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }
}

/// The bytes of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every file below `root`: relative path → (bytes, modification time), to show that a folder
/// was not changed.
pub fn state_of(
    root: &std::path::Path,
) -> std::collections::BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    files_under(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            (rel, (std::fs::read(&path).unwrap(), modified))
        })
        .collect()
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Files under `<data_dir>/tmp` that are not the running daemon's own bookkeeping (the lock of
/// its work dir, a health probe): what an interrupted write left behind.
pub fn tmp_leftovers(data_dir: &std::path::Path) -> Vec<String> {
    files_under(&data_dir.join("tmp"))
        .into_iter()
        .filter(|n| n != ".health" && !(n.starts_with("work-") && n.ends_with("/.lock")))
        .collect()
}
