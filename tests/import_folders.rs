//! Watched import folders (`[[import]]`, API.md §14) against the real server and real folders
//! under a temp dir: each mode end to end, settling, renames and offline files in place, an
//! unmounted folder that pauses, the admin view and rescan, configuration errors.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{fixture, sha256_hex, state_of, Session, TestServer};
use photox::config::{ImportConfig, ImportMode, WatchMode};
use serde_json::{json, Value};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Written beside and renamed in, as sync tools do: a scan never sees it half written.
    let part = path.with_extension("part");
    std::fs::write(&part, bytes).unwrap();
    std::fs::rename(part, path).unwrap();
}

fn import(path: &Path, mode: ImportMode, watch: WatchMode) -> ImportConfig {
    ImportConfig {
        path: path.to_path_buf(),
        owner: "ann".into(),
        album: None,
        album_from_folders: false,
        mode,
        watch,
        interval: photox::config::HumanDuration(Duration::from_secs(3600)),
        settle: photox::config::HumanDuration(Duration::ZERO),
        exclude: Vec::new(),
    }
}

/// A server with the admin `root` and `ann`, restarted with `imports`.
async fn server_with(imports: Vec<ImportConfig>) -> (TestServer, Session, Session) {
    let mut s = TestServer::start().await;
    s.register("root").await;
    s.register("ann").await;
    s.restart_with(|c| c.import = imports).await;
    let root = s.login_ok("root").await;
    let ann = s.login_ok("ann").await;
    (s, root, ann)
}

async fn imports(s: &TestServer, admin: &Session) -> Vec<Value> {
    let r = s.get("/admin/imports", Some(&admin.access)).await;
    r.expect(200).data()["items"].as_array().unwrap().clone()
}

/// Waits until no scan is queued or running (scans are jobs of kind `import_scan`).
async fn scans_settled(s: &TestServer, admin: &Session) {
    for _ in 0..600 {
        let mut busy = false;
        for state in ["pending", "running"] {
            let r = s
                .get(
                    &format!("/admin/jobs?state={state}&per_page=100"),
                    Some(&admin.access),
                )
                .await;
            let items = r.expect(200).data()["items"].as_array().unwrap().clone();
            busy |= items.iter().any(|j| {
                j["kind"] == "import_scan" && j["run_at"].as_str() <= Some(&now_rfc3339())
            });
        }
        let scanning = imports(s, admin)
            .await
            .iter()
            .any(|i| i["state"] == "scanning");
        if !busy && !scanning {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import scans never settled");
}

fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Asks for a scan of folder `id` and waits until it (and what it queued) ran.
async fn rescan(s: &TestServer, admin: &Session, id: i64) {
    s.post(
        &format!("/admin/imports/{id}/rescan"),
        Some(&admin.access),
        Value::Null,
    )
    .await
    .expect(202);
    scans_settled(s, admin).await;
}

/// Polls until `check` holds for the first import folder.
async fn wait_for(
    s: &TestServer,
    admin: &Session,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..600 {
        let items = imports(s, admin).await;
        if check(&items[0]) {
            return items[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened: {:?}", imports(s, admin).await);
}

/// The caller's photos, with the trash.
async fn photos(s: &TestServer, who: &Session) -> Vec<Value> {
    let r = s.get("/photos?per_page=100", Some(&who.access)).await;
    r.expect(200).data()["items"].as_array().unwrap().clone()
}

async fn original(s: &TestServer, who: &Session, id: i64) -> (u16, Vec<u8>, String) {
    let r = s
        .get_raw(&format!("/api/v1/photos/{id}/file"), Some(&who.access), &[])
        .await;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, bytes, text)
}

#[tokio::test]
async fn copy_mode_takes_existing_and_new_files_into_nested_albums_and_never_touches_the_folder() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    write(
        root,
        "2019/summer/beach.jpg",
        &fixture("exif_orientation6_gps.jpg"),
    );
    write(root, "garden.png", &fixture("plain.png"));
    write(root, "again.png", &fixture("plain.png"));
    write(root, "notes.txt", b"not a photo");
    write(
        root,
        "@eaDir/garden.png/SYNOFILE_THUMB_M.jpg",
        &fixture("grayscale.jpg"),
    );
    std::fs::write(root.join("half.jpg.part"), fixture("progressive.jpg")).unwrap();
    std::fs::write(root.join(".hidden.jpg"), fixture("cmyk.jpg")).unwrap();
    let before = state_of(root);
    let mut config = import(root, ImportMode::Copy, WatchMode::Auto);
    config.album = Some("Phone".into());
    config.album_from_folders = true;
    let (s, admin, ann) = server_with(vec![config]).await;

    wait_for(&s, &admin, "the first scan", |i| i["imported"] == 2).await;
    scans_settled(&s, &admin).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(status["duplicates"], 1, "{status}");
    assert_eq!(status["skipped"], 1, "{status}");
    assert_eq!(status["failed"], 0, "{status}");
    assert_eq!(status["mode"], "copy");
    assert_eq!(status["owner"], "ann");
    assert_eq!(status["state"], "idle", "{status}");
    let mine = photos(&s, &ann).await;
    assert_eq!(mine.len(), 2);
    let beach = mine
        .iter()
        .find(|p| p["original_filename"] == "beach.jpg")
        .unwrap();
    assert_eq!(beach["origin"]["kind"], "import");
    assert_eq!(beach["origin"]["path"], "2019/summer/beach.jpg");
    assert_eq!(beach["origin"]["import_id"], status["id"]);
    let (code, bytes, _) = original(&s, &ann, beach["id"].as_i64().unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(
        sha256_hex(&bytes),
        sha256_hex(&fixture("exif_orientation6_gps.jpg"))
    );
    // Phone / 2019 / summer, each the parent of the next.
    let albums = s.get("/albums?per_page=100", Some(&ann.access)).await;
    let albums = albums.expect(200).data()["items"]
        .as_array()
        .unwrap()
        .clone();
    let by_title = |t: &str| albums.iter().find(|a| a["title"] == t).unwrap().clone();
    assert_eq!(by_title("2019")["parent_id"], by_title("Phone")["id"]);
    assert_eq!(by_title("summer")["parent_id"], by_title("2019")["id"]);
    assert_eq!(beach["albums"][0]["title"], "summer", "{beach}");

    // A new file appears on its own (file-system events, or the scan they trigger).
    write(root, "2020/new.webp", &fixture("photo.webp"));
    let status = wait_for(&s, &admin, "the new file", |i| i["imported"] == 3).await;
    assert_eq!(status["files_seen"], 5, "{status}");
    let mut after = state_of(root);
    after.remove("2020/new.webp");
    assert_eq!(after, before, "copy mode never changes the folder");
}

#[tokio::test]
async fn move_mode_empties_the_folder_of_what_it_stored() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    write(root, "a.jpg", &fixture("progressive.jpg"));
    write(root, "b/c.png", &fixture("plain.png"));
    write(root, "notes.txt", b"not a photo");
    let (s, admin, ann) = server_with(vec![import(root, ImportMode::Move, WatchMode::Poll)]).await;
    wait_for(&s, &admin, "the move", |i| {
        i["skipped"] == 1 && i["last_scan_at"].is_string()
    })
    .await;
    scans_settled(&s, &admin).await;
    assert_eq!(common::files_under(root), ["notes.txt"]);
    let mine = photos(&s, &ann).await;
    let mut sums: Vec<String> = mine
        .iter()
        .map(|p| p["checksum"].as_str().unwrap().into())
        .collect();
    sums.sort();
    let mut want = vec![
        sha256_hex(&fixture("progressive.jpg")),
        sha256_hex(&fixture("plain.png")),
    ];
    want.sort();
    assert_eq!(sums, want);
    for p in &mine {
        let (code, bytes, _) = original(&s, &ann, p["id"].as_i64().unwrap()).await;
        assert_eq!(code, 200);
        assert_eq!(sha256_hex(&bytes), p["checksum"]);
    }
}

#[tokio::test]
async fn in_place_files_keep_their_photo_when_renamed_and_go_offline_when_gone() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    write(root, "a.jpg", &fixture("progressive.jpg"));
    write(root, "b.png", &fixture("plain.png"));
    write(root, "c.webp", &fixture("photo.webp"));
    write(root, "d.jpg", &fixture("grayscale.jpg"));
    let (s, admin, ann) =
        server_with(vec![import(root, ImportMode::InPlace, WatchMode::Poll)]).await;
    let status = wait_for(&s, &admin, "the first scan", |i| i["imported"] == 4).await;
    let id = status["id"].as_i64().unwrap();
    assert_eq!(status["watch"], "poll");
    scans_settled(&s, &admin).await;
    let by_name = |photos: &[Value], name: &str| {
        photos
            .iter()
            .find(|p| p["original_filename"] == name)
            .unwrap_or_else(|| panic!("{name} in {photos:?}"))
            .clone()
    };
    let mine = photos(&s, &ann).await;
    let a = by_name(&mine, "a.jpg");
    let b = by_name(&mine, "b.png");
    let a_id = a["id"].as_i64().unwrap();
    let b_id = b["id"].as_i64().unwrap();
    // Liked and tagged, so that the rename must keep them.
    s.put(
        &format!("/photos/{a_id}"),
        Some(&ann.access),
        json!({"tags": ["keep"]}),
    )
    .await
    .expect(200);
    let before = state_of(root);

    // Renamed into a subfolder: the same photo, found at its new place.
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::rename(root.join("a.jpg"), root.join("sub/a2.jpg")).unwrap();
    rescan(&s, &admin, id).await;
    let mine = photos(&s, &ann).await;
    assert_eq!(mine.len(), 4, "a rename is not a new photo: {mine:?}");
    let moved = mine.iter().find(|p| p["id"] == a_id).unwrap();
    assert_eq!(moved["origin"]["path"], "sub/a2.jpg", "{moved}");
    assert_eq!(moved["offline"], false);
    assert!(moved["tags"].to_string().contains("keep"), "{moved}");
    let (code, bytes, _) = original(&s, &ann, a_id).await;
    assert_eq!(
        (code, sha256_hex(&bytes)),
        (200, sha256_hex(&fixture("progressive.jpg")))
    );

    // Deleted: offline, still listed with its thumbnail, the original a clear 404.
    let b_bytes = std::fs::read(root.join("b.png")).unwrap();
    std::fs::remove_file(root.join("b.png")).unwrap();
    rescan(&s, &admin, id).await;
    let gone = s.get(&format!("/photos/{b_id}"), Some(&ann.access)).await;
    assert_eq!(gone.expect(200).data()["offline"], true);
    let (code, _, text) = original(&s, &ann, b_id).await;
    assert_eq!(code, 404);
    assert!(text.contains("offline"), "{text}");
    let thumb = s
        .get_raw(
            &format!("/api/v1/photos/{b_id}/file?size=thumbnail"),
            Some(&ann.access),
            &[],
        )
        .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(imports(&s, &admin).await[0]["offline"], 1);

    // Back again: online, the same photo.
    std::fs::write(root.join("b.png"), &b_bytes).unwrap();
    rescan(&s, &admin, id).await;
    let back = s.get(&format!("/photos/{b_id}"), Some(&ann.access)).await;
    assert_eq!(back.expect(200).data()["offline"], false);
    assert_eq!(photos(&s, &ann).await.len(), 4);

    // Trash hides, purge forgets: the household's file stays, byte for byte.
    s.delete(&format!("/photos/{a_id}"), Some(&ann.access))
        .await
        .expect(200);
    s.post(
        &format!("/photos/{a_id}/restore"),
        Some(&ann.access),
        Value::Null,
    )
    .await
    .expect(200);
    let mut now = state_of(root);
    let mut expected = before.clone();
    let renamed = expected.remove("a.jpg").unwrap();
    assert_eq!(
        now.remove("sub/a2.jpg").unwrap(),
        renamed,
        "Photox never writes the file"
    );
    now.remove("b.png");
    expected.remove("b.png");
    assert_eq!(
        now, expected,
        "in place never changes a byte or a time of the folder"
    );
}

#[tokio::test]
async fn an_unmounted_folder_pauses_and_nothing_goes_offline() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("disk");
    for (rel, name) in [
        ("a.jpg", "progressive.jpg"),
        ("b.png", "plain.png"),
        ("c.webp", "photo.webp"),
    ] {
        write(&root, rel, &fixture(name));
    }
    let (s, admin, ann) =
        server_with(vec![import(&root, ImportMode::InPlace, WatchMode::Poll)]).await;
    let status = wait_for(&s, &admin, "the first scan", |i| i["imported"] == 3).await;
    let id = status["id"].as_i64().unwrap();
    scans_settled(&s, &admin).await;

    // The disk goes away (its mount point renamed away): paused, nothing offline.
    let away = parent.path().join("away");
    std::fs::rename(&root, &away).unwrap();
    rescan(&s, &admin, id).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(status["state"], "paused", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("missing"),
        "{status}"
    );
    assert_eq!(status["offline"], 0);
    assert!(photos(&s, &ann).await.iter().all(|p| p["offline"] == false));

    // An empty mount point: paused too.
    std::fs::create_dir(&root).unwrap();
    rescan(&s, &admin, id).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(status["state"], "paused", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("empty"),
        "{status}"
    );
    assert_eq!(status["offline"], 0);

    // Mounted again: the next scan resumes.
    std::fs::remove_dir(&root).unwrap();
    std::fs::rename(&away, &root).unwrap();
    rescan(&s, &admin, id).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(status["state"], "idle", "{status}");
    assert_eq!(
        status["reason"], "watch = \"poll\"",
        "only why it is polled: {status}"
    );
    assert_eq!(status["imported"], 3);
    assert_eq!(photos(&s, &ann).await.len(), 3);
}

#[tokio::test]
async fn more_than_half_gone_at_once_pauses_until_an_admin_rescans() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    for (rel, name) in [
        ("a.jpg", "progressive.jpg"),
        ("b.png", "plain.png"),
        ("c.webp", "photo.webp"),
    ] {
        write(root, rel, &fixture(name));
    }
    let (s, admin, ann) =
        server_with(vec![import(root, ImportMode::InPlace, WatchMode::Events)]).await;
    wait_for(&s, &admin, "the first scan", |i| i["imported"] == 3).await;
    scans_settled(&s, &admin).await;
    assert_eq!(imports(&s, &admin).await[0]["watch"], "events");
    // Two of three go at once; the scan their events bring pauses.
    std::fs::remove_file(root.join("a.jpg")).unwrap();
    std::fs::remove_file(root.join("b.png")).unwrap();
    let status = wait_for(&s, &admin, "the pause", |i| i["state"] == "paused").await;
    assert!(
        status["reason"].as_str().unwrap().contains("2 of 3"),
        "{status}"
    );
    assert!(photos(&s, &ann).await.iter().all(|p| p["offline"] == false));
    // The admin's rescan takes the loss as meant.
    rescan(&s, &admin, status["id"].as_i64().unwrap()).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(status["state"], "idle", "{status}");
    assert_eq!(status["offline"], 2, "{status}");
}

#[tokio::test]
async fn a_file_written_in_pieces_is_imported_once_whole() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    let mut config = import(root, ImportMode::Copy, WatchMode::Events);
    config.settle = photox::config::HumanDuration(Duration::from_secs(2));
    let (s, admin, ann) = server_with(vec![config]).await;
    wait_for(&s, &admin, "the first scan", |i| {
        i["last_scan_at"].is_string()
    })
    .await;
    let whole = fixture("progressive.jpg");
    let path = root.join("slow.jpg");
    let pieces: Vec<&[u8]> = whole.chunks(whole.len() / 3 + 1).collect();
    use std::io::Write;
    let mut file = std::fs::File::create(&path).unwrap();
    for (i, piece) in pieces.iter().enumerate() {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        let written = pieces[..=i].iter().map(|p| p.len()).sum::<usize>();
        // Seen (settling) at this size before the next piece comes.
        wait_for(&s, &admin, "the piece to be seen", |i| i["pending"] == 1).await;
        let seen = imports(&s, &admin).await[0].clone();
        assert_eq!(seen["imported"], 0, "taken after {written} bytes: {seen}");
    }
    drop(file);
    let status = wait_for(&s, &admin, "the import", |i| i["imported"] == 1).await;
    assert_eq!(status["failed"], 0, "{status}");
    let mine = photos(&s, &ann).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["checksum"], sha256_hex(&whole));
}

#[tokio::test]
async fn the_admin_view_is_for_admins_and_unknown_folders_are_404() {
    let folder = tempfile::tempdir().unwrap();
    let (s, admin, ann) = server_with(vec![import(
        folder.path(),
        ImportMode::Copy,
        WatchMode::Poll,
    )])
    .await;
    s.get("/admin/imports", Some(&ann.access)).await.expect(403);
    s.post("/admin/imports/1/rescan", Some(&ann.access), Value::Null)
        .await
        .expect(403);
    s.post(
        "/admin/imports/999/rescan",
        Some(&admin.access),
        Value::Null,
    )
    .await
    .expect(404);
    s.get("/admin/imports", None).await.expect(401);
}

#[tokio::test]
async fn a_missing_folder_does_not_stop_the_daemon_and_says_why() {
    let parent = tempfile::tempdir().unwrap();
    let missing: PathBuf = parent.path().join("not-mounted");
    let (s, admin, _) =
        server_with(vec![import(&missing, ImportMode::Copy, WatchMode::Auto)]).await;
    let status = wait_for(&s, &admin, "the first scan", |i| i["state"] == "paused").await;
    assert!(
        status["reason"].as_str().unwrap().contains("missing"),
        "{status}"
    );
    assert_eq!(s.get("/health", None).await.status, 200);
}

#[tokio::test]
async fn a_file_that_cannot_be_stored_is_reported_once_and_tried_again_when_it_changes() {
    use std::os::unix::ffi::OsStrExt;
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    write(root, "empty.jpg", b"");
    write(root, "huge.png", &fixture("bomb_40000.png"));
    write(root, "ok.png", &fixture("plain.png"));
    // A name that is not UTF-8 is left out and does not stop the scan.
    std::fs::write(
        root.join(std::ffi::OsStr::from_bytes(b"bad\xff.jpg")),
        fixture("grayscale.jpg"),
    )
    .unwrap();
    let (s, admin, ann) = server_with(vec![import(root, ImportMode::Copy, WatchMode::Poll)]).await;
    let status = wait_for(&s, &admin, "the first scan", |i| {
        i["last_scan_at"].is_string()
    })
    .await;
    let id = status["id"].as_i64().unwrap();
    scans_settled(&s, &admin).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(
        (status["imported"].clone(), status["failed"].clone()),
        (json!(1), json!(1)),
        "{status}"
    );
    assert_eq!(
        status["skipped"], 1,
        "the empty file is not a photo: {status}"
    );
    // Unchanged, it is not tried again.
    rescan(&s, &admin, id).await;
    let again = imports(&s, &admin).await[0].clone();
    assert_eq!(again["failed"], 1, "{again}");
    assert_eq!(photos(&s, &ann).await.len(), 1);
    // Changed into a photo, it is taken.
    write(root, "huge.png", &fixture("progressive.jpg"));
    rescan(&s, &admin, id).await;
    let fixed = imports(&s, &admin).await[0].clone();
    assert_eq!(
        (fixed["imported"].clone(), fixed["failed"].clone()),
        (json!(2), json!(0)),
        "{fixed}"
    );
    assert_eq!(photos(&s, &ann).await.len(), 2);
}

#[tokio::test]
async fn ten_thousand_files_in_one_folder_are_scanned_and_rescanned_without_reading_them() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    for i in 0..10_000 {
        std::fs::write(root.join(format!("note{i:05}.txt")), b"x").unwrap();
    }
    write(root, "photo.png", &fixture("plain.png"));
    let (s, admin, ann) = server_with(vec![import(root, ImportMode::Copy, WatchMode::Poll)]).await;
    wait_for(&s, &admin, "the first scan", |i| {
        i["last_scan_at"].is_string()
    })
    .await;
    scans_settled(&s, &admin).await;
    let status = imports(&s, &admin).await[0].clone();
    assert_eq!(
        (status["imported"].clone(), status["skipped"].clone()),
        (json!(1), json!(10_000)),
        "{status}"
    );
    // Unchanged: nothing new, nothing failed, and the photo is there once.
    rescan(&s, &admin, status["id"].as_i64().unwrap()).await;
    let again = imports(&s, &admin).await[0].clone();
    assert_eq!(
        (
            again["imported"].clone(),
            again["failed"].clone(),
            again["state"].clone()
        ),
        (json!(1), json!(0), json!("idle")),
        "{again}"
    );
    assert_eq!(photos(&s, &ann).await.len(), 1);
}
