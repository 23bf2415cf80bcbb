//! A household upgrades the package over a library it cares about: the data dir a released
//! build left (tests/fixtures/upgrade/, made by make_datadir.sh with that build) is opened by
//! this one, which migrates it in place. Every photo, album, like and login must still work,
//! and `photox verify` must pass. Keep this test (and add a data dir of each release that
//! changes the schema) for every later migration.

mod common;

use std::path::Path;
use std::process::Command;

use common::{daemon::BIN, Session, TestServer};
use serde_json::Value;

/// Data dirs of earlier releases, oldest first: (directory under tests/fixtures/upgrade, what
/// made it).
const RELEASES: &[&str] = &["v4-e94ff7f"];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn upgraded(release: &str) -> TestServer {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upgrade")
        .join(release);
    assert!(fixture.join("photox.db").is_file(), "{}", fixture.display());
    TestServer::with_config(|c| copy_dir(&fixture, &c.storage.data_dir)).await
}

/// The caller's photos by title, trash included.
async fn photos_by_title(s: &TestServer, who: &Session) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in ["/photos?per_page=200", "/photos/trash?per_page=200"] {
        let r = s.get(path, Some(&who.access)).await;
        for p in r.expect(200).data()["items"].as_array().unwrap() {
            out.push((p["title"].as_str().unwrap_or("").to_string(), p.clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn find<'a>(photos: &'a [(String, Value)], title: &str) -> &'a Value {
    &photos
        .iter()
        .find(|(t, _)| t == title)
        .unwrap_or_else(|| panic!("no photo titled {title}"))
        .1
}

#[tokio::test]
async fn a_data_dir_of_an_earlier_release_upgrades_in_place() {
    for release in RELEASES {
        check_release(release).await;
    }
}

async fn check_release(release: &str) {
    let s = upgraded(release).await;
    // Logins: every remaining account with its password; the deleted one stays gone.
    let alice = s.login_ok("alice").await;
    let bob = s.login_ok("bob").await;
    let carol = s.login_ok("carol").await;
    s.login("dave", common::PASSWORD).await.expect(401);
    let me = s.get("/auth/me", Some(&alice.access)).await;
    assert_eq!(me.expect(200).data()["role"], "admin", "{release}");

    // Photos, each with its file, thumbnail and metadata.
    let mine = photos_by_title(&s, &alice).await;
    let titles: Vec<&str> = mine.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["Discarded", "Garden", "Portrait"], "{release}");
    let portrait = find(&mine, "Portrait");
    assert_eq!(
        (portrait["width"].as_i64(), portrait["height"].as_i64()),
        (Some(400), Some(600)),
        "{release}: the sideways-stored phone photo now has its displayed size"
    );
    assert_eq!(portrait["exif"]["orientation"], 6);
    assert_eq!(portrait["is_favorite"], true);
    let mut tags: Vec<&str> = portrait["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["source"] == "manual")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["birthday", "grandma"]);
    assert_eq!(portrait["albums"][0]["title"], "Beach");
    assert!(find(&mine, "Discarded")["deleted_at"].is_string());
    for (title, photo) in &mine {
        for size in ["original", "thumbnail"] {
            let url = photo["urls"][size].as_str().unwrap();
            let r = s.get_raw(url, None, &[]).await;
            assert_eq!(r.status(), 200, "{release}: {title} {size}");
            if size == "original" {
                let bytes = r.bytes().await.unwrap();
                assert_eq!(common::sha256_hex(&bytes), photo["checksum"], "{title}");
            }
        }
    }
    // Where each original lives was recorded by the migration: the trashed one is restored
    // from trash/ and then served from originals/, every photo came from an upload.
    assert!(
        mine.iter().all(|(_, p)| p["origin"]["kind"] == "upload"),
        "{release}"
    );
    let discarded = find(&mine, "Discarded")["id"].as_i64().unwrap();
    let restored = s
        .post(
            &format!("/photos/{discarded}/restore"),
            Some(&alice.access),
            Value::Null,
        )
        .await;
    let restored = restored.expect(200).data().clone();
    let r = s
        .get_raw(restored["urls"]["original"].as_str().unwrap(), None, &[])
        .await;
    assert_eq!(r.status(), 200, "{release}: restored original");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(common::sha256_hex(&bytes), restored["checksum"]);
    let garden = find(&mine, "Garden");
    assert_eq!(garden["like_count"], 2, "{release}: likes kept");

    // Family and albums: Bob sees the family album tree and his family photo; Carol sees
    // neither, only the public album.
    let family = s.get("/family", Some(&bob.access)).await;
    assert_eq!(family.expect(200).data()["name"], "Home");
    let albums = s.get("/albums?scope=family", Some(&bob.access)).await;
    let titles: Vec<&str> = albums.expect(200).data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Holidays") && titles.contains(&"Beach"),
        "{titles:?}"
    );
    let all = s.get("/albums?per_page=200", Some(&alice.access)).await;
    let all = all.expect(200).data()["items"].as_array().unwrap().clone();
    let by_title = |t: &str| all.iter().find(|a| a["title"] == t).unwrap().clone();
    assert_eq!(by_title("Beach")["parent_id"], by_title("Holidays")["id"]);
    let public = by_title("For everyone");
    assert_eq!(public["like_count"], 1);
    let anonymous = s.get(&format!("/albums/{}", public["id"]), None).await;
    let cover = anonymous.expect(200).data()["cover_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.get_raw(&cover, None, &[]).await.status(), 200);
    let holidays = by_title("Holidays")["id"].as_i64().unwrap();
    s.get(&format!("/albums/{holidays}"), Some(&carol.access))
        .await
        .expect(404);
    let secret = photos_by_title(&s, &carol).await;
    let secret_id = find(&secret, "Secret")["id"].as_i64().unwrap();
    s.get(&format!("/photos/{secret_id}"), Some(&bob.access))
        .await
        .expect(404);
    let bobs = photos_by_title(&s, &bob).await;
    let kitchen = find(&bobs, "Kitchen")["id"].as_i64().unwrap();
    s.get(&format!("/photos/{kitchen}"), Some(&alice.access))
        .await
        .expect(200);

    // Search still finds titles and tags.
    let r = s.get("/search/photos?q=grandma", Some(&alice.access)).await;
    assert_eq!(r.expect(200).data()["pagination"]["total_items"], 1);

    // New rows get ids above every old one.
    let max_id = mine
        .iter()
        .map(|(_, p)| p["id"].as_i64().unwrap())
        .max()
        .unwrap();
    let new = s
        .upload(&alice.access, "new.jpg", common::jpeg(50, 40))
        .await;
    assert!(new["id"].as_i64().unwrap() > max_id);

    // The whole library checks out against its checksums.
    let out = Command::new(BIN)
        .arg("verify")
        .env("PHOTOX_STORAGE__DATA_DIR", s.data_dir())
        .env("PHOTOX_LOG__TARGET", "stderr")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{release}: verify failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
