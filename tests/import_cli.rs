//! `photox import DIR --user NAME [--album TITLE] [--mode copy|move|in-place] [--dry-run]`
//! against real folders, with and without a daemon running beside it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::daemon::{self, Daemon};
use common::{fixture, sha256_hex, state_of};
use serde_json::Value;

const PASSWORD: &str = "correct-horse-1";

fn photox(data: &Path, args: &[&str], stdin: &str) -> Output {
    daemon::run(
        args,
        &[("PHOTOX_STORAGE__DATA_DIR", data.to_str().unwrap())],
        stdin,
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A folder as a household fills it: photos in subfolders, a duplicate, a file that is not a
/// photo, a NAS system folder and files still being written.
fn household_folder(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let photos: BTreeMap<String, Vec<u8>> = [
        (
            "2019/summer/beach.jpg",
            fixture("exif_orientation6_gps.jpg"),
        ),
        ("2019/garden.png", fixture("plain.png")),
        ("phone/DCIM/img.webp", fixture("photo.webp")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut all = photos.clone();
    all.insert("copy of garden.png".into(), fixture("plain.png"));
    all.insert("notes.txt".into(), b"not a photo".to_vec());
    all.insert(
        "@eaDir/beach.jpg/SYNOFILE_THUMB_M.jpg".into(),
        fixture("grayscale.jpg"),
    );
    all.insert("#recycle/old.jpg".into(), fixture("progressive.jpg"));
    all.insert(".hidden.jpg".into(), fixture("cmyk.jpg"));
    all.insert("half.jpg.part".into(), fixture("progressive.jpg"));
    for (rel, bytes) in &all {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    photos
}

fn new_library() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = photox(
        &data,
        &["user", "add", "ann", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = dir.path().join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    (dir, data, folder)
}

struct Api {
    client: reqwest::blocking::Client,
    daemon: Daemon,
    token: String,
}

impl Api {
    fn start(data: &Path) -> Api {
        let daemon = Daemon::start(data);
        let client = reqwest::blocking::Client::new();
        let r: Value = client
            .post(daemon.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "ann", "password": PASSWORD}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = r["data"]["access_token"].as_str().unwrap().to_string();
        Api {
            client,
            daemon,
            token,
        }
    }

    fn get(&self, path: &str) -> Value {
        self.client
            .get(self.daemon.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn bytes(&self, path: &str) -> Vec<u8> {
        let r = self
            .client
            .get(self.daemon.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().unwrap().to_vec()
    }

    /// All photos, once every one of them is processed.
    fn photos_when_ready(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let list = self.get("/api/v1/photos?per_page=200");
            let items = list["data"]["items"].as_array().unwrap().clone();
            if items.iter().all(|p| p["status"] != "processing") {
                return items;
            }
            assert!(Instant::now() < deadline, "still processing: {list}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Each photo's original filename (for an import: its path below the folder) → checksum.
fn by_origin(photos: &[Value]) -> BTreeMap<String, String> {
    photos
        .iter()
        .map(|p| {
            (
                p["origin"]["path"].as_str().unwrap_or("").to_string(),
                p["checksum"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected(photos: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    photos
        .iter()
        .map(|(k, v)| (k.clone(), sha256_hex(v)))
        .collect()
}

#[test]
fn copy_beside_a_running_daemon_stores_every_photo_once_and_touches_nothing() {
    let (_dir, data, folder) = new_library();
    let photos = household_folder(&folder);
    let untouched = state_of(&folder);
    let api = Api::start(&data);

    let dry = photox(
        &data,
        &[
            "import",
            folder.to_str().unwrap(),
            "--user",
            "ann",
            "--dry-run",
        ],
        "",
    );
    assert!(dry.status.success(), "{}", stdout(&dry));
    assert!(
        stdout(&dry).contains("would import 3, duplicates 1, skipped 1, failed 0"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(
        api.get("/api/v1/photos")["data"]["pagination"]["total_items"],
        0
    );

    let args = [
        "import",
        folder.to_str().unwrap(),
        "--user",
        "ann",
        "--album",
        "Old disk",
    ];
    let out = photox(&data, &args, "");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("imported 3, duplicates 1, skipped 1, failed 0"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        state_of(&folder),
        untouched,
        "copy never changes the folder"
    );

    // The running daemon makes thumbnails for what the command line imported.
    let stored = api.photos_when_ready();
    assert!(stored.iter().all(|p| p["status"] == "ready"), "{stored:?}");
    assert_eq!(by_origin(&stored), expected(&photos));
    for p in &stored {
        assert_eq!(p["origin"]["kind"], "import");
        assert_eq!(p["albums"][0]["title"], "Old disk");
        let original = api.bytes(p["urls"]["original"].as_str().unwrap());
        assert_eq!(sha256_hex(&original), p["checksum"]);
        api.bytes(p["urls"]["thumbnail"].as_str().unwrap());
    }
    // Again: everything is a duplicate, nothing is stored twice.
    let again = photox(&data, &args, "");
    assert!(
        stdout(&again).contains("imported 0, duplicates 4"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        api.get("/api/v1/photos")["data"]["pagination"]["total_items"],
        3
    );
}

#[test]
fn move_without_a_daemon_empties_the_folder_of_what_it_stored() {
    let (_dir, data, folder) = new_library();
    let photos = household_folder(&folder);
    let args = [
        "import",
        folder.to_str().unwrap(),
        "--user",
        "ann",
        "--mode",
        "move",
    ];
    let out = photox(&data, &args, "");
    assert!(out.status.success(), "{}", stdout(&out));
    let left: Vec<String> = common::files_under(&folder);
    // Photos and their duplicate are gone; what was not imported stays.
    for rel in photos.keys() {
        assert!(!left.contains(rel), "{rel} was moved but stays");
    }
    assert!(!left.contains(&"copy of garden.png".to_string()));
    for kept in [
        "notes.txt",
        "half.jpg.part",
        ".hidden.jpg",
        "#recycle/old.jpg",
    ] {
        assert!(
            left.contains(&kept.to_string()),
            "{kept} must stay: {left:?}"
        );
    }
    let api = Api::start(&data);
    assert_eq!(by_origin(&api.photos_when_ready()), expected(&photos));
    drop(api);
    assert!(photox(&data, &["verify"], "").status.success());
}

#[test]
fn in_place_never_changes_a_byte_or_a_time_of_the_folder() {
    let (_dir, data, folder) = new_library();
    let photos = household_folder(&folder);
    let before = state_of(&folder);
    let folder_mtime = std::fs::metadata(&folder).unwrap().modified().unwrap();
    let api = Api::start(&data);
    let args = [
        "import",
        folder.to_str().unwrap(),
        "--user",
        "ann",
        "--mode",
        "in-place",
    ];
    let out = photox(&data, &args, "");
    assert!(out.status.success(), "{}", stdout(&out));
    let stored = api.photos_when_ready();
    assert_eq!(by_origin(&stored), expected(&photos));
    assert_eq!(state_of(&folder), before);
    assert_eq!(
        std::fs::metadata(&folder).unwrap().modified().unwrap(),
        folder_mtime
    );
    assert!(
        common::files_under(&data.join("originals")).is_empty(),
        "in-place keeps no copy"
    );
    // Served from the household's folder; trash hides, purge forgets, the file stays.
    let beach = stored
        .iter()
        .find(|p| p["origin"]["path"] == "2019/summer/beach.jpg")
        .unwrap();
    let id = beach["id"].as_i64().unwrap();
    let original = api.bytes(beach["urls"]["original"].as_str().unwrap());
    assert_eq!(original, photos["2019/summer/beach.jpg"]);
    let send = |method: reqwest::Method, path: &str| {
        api.client
            .request(method, api.daemon.url(path))
            .bearer_auth(&api.token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("/api/v1/photos/{id}")),
        200
    );
    assert_eq!(
        send(
            reqwest::Method::POST,
            &format!("/api/v1/photos/{id}/restore")
        ),
        200
    );
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("/api/v1/photos/{id}")),
        200
    );
    assert_eq!(
        send(
            reqwest::Method::DELETE,
            &format!("/api/v1/photos/{id}/permanent")
        ),
        200
    );
    assert_eq!(
        state_of(&folder),
        before,
        "trash and purge never touch the folder"
    );
    drop(api);
    assert!(photox(&data, &["verify"], "").status.success());
}

#[test]
fn failures_are_reported_with_reasons_and_exit_code_1() {
    let (_dir, data, folder) = new_library();
    std::fs::write(folder.join("ok.png"), fixture("plain.png")).unwrap();
    std::fs::write(folder.join("bomb.png"), fixture("bomb_40000.png")).unwrap();
    let out = photox(
        &data,
        &["import", folder.to_str().unwrap(), "--user", "ann"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("imported 1, duplicates 0, skipped 0, failed 1"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("failed: bomb.png: image is larger than"),
        "{}",
        stdout(&out)
    );

    // Bad arguments are named.
    let missing = photox(&data, &["import", "/no/such/folder", "--user", "ann"], "");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("path does not exist"));
    let nobody = photox(
        &data,
        &["import", folder.to_str().unwrap(), "--user", "nobody"],
        "",
    );
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user named `nobody`"));
    let inside = photox(
        &data,
        &["import", data.to_str().unwrap(), "--user", "ann"],
        "",
    );
    assert!(String::from_utf8_lossy(&inside.stderr).contains("data directory"));
    let mode = photox(
        &data,
        &[
            "import",
            folder.to_str().unwrap(),
            "--user",
            "ann",
            "--mode",
            "zip",
        ],
        "",
    );
    assert!(String::from_utf8_lossy(&mode.stderr).contains("--mode must be"));
}
