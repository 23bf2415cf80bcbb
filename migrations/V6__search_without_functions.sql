-- The search index is kept by plain SQL, so that any SQLite client (the sqlite3 shell during a
-- repair, a restore tool) can write the database and search stays right.
--
-- The triggers of V4 computed the `grams` column (characters and pairs of non-ASCII words, for
-- words too short for the trigram index) with `photox_grams()`, a function only the daemon
-- has: any other client failed on every write to photos, tags or albums. Now the triggers keep
-- `body` up to date and list the photo in `search_stale`; the daemon fills in `grams` for the
-- listed photos before it searches (and at start), and takes them off the list.

CREATE TABLE search_stale (
    photo_id INTEGER PRIMARY KEY
);

DROP TRIGGER photo_search_insert;
DROP TRIGGER photo_search_update;
DROP TRIGGER photo_search_delete;
DROP TRIGGER photo_search_tag_insert;
DROP TRIGGER photo_search_tag_delete;
DROP TRIGGER photo_search_album_insert;
DROP TRIGGER photo_search_album_delete;
DROP TRIGGER photo_search_album_rename;
DROP VIEW photo_search_text;

CREATE TRIGGER photo_search_insert AFTER INSERT ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = new.id;
    INSERT OR IGNORE INTO search_stale (photo_id) VALUES (new.id);
END;

CREATE TRIGGER photo_search_update AFTER UPDATE OF title, description, original_filename, camera_make,
    camera_model, lens ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = new.id;
    INSERT OR IGNORE INTO search_stale (photo_id) VALUES (new.id);
END;

CREATE TRIGGER photo_search_delete AFTER DELETE ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = old.id;
    DELETE FROM search_stale WHERE photo_id = old.id;
END;

CREATE TRIGGER photo_search_tag_insert AFTER INSERT ON photo_tags BEGIN
    DELETE FROM photo_search WHERE rowid = new.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = new.photo_id;
    INSERT OR IGNORE INTO search_stale (photo_id) VALUES (new.photo_id);
END;

CREATE TRIGGER photo_search_tag_delete AFTER DELETE ON photo_tags BEGIN
    DELETE FROM photo_search WHERE rowid = old.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = old.photo_id;
    INSERT OR IGNORE INTO search_stale (photo_id) SELECT id FROM photos WHERE id = old.photo_id;
END;

CREATE TRIGGER photo_search_album_insert AFTER INSERT ON album_photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = new.photo_id;
    INSERT OR IGNORE INTO search_stale (photo_id) VALUES (new.photo_id);
END;

CREATE TRIGGER photo_search_album_delete AFTER DELETE ON album_photos BEGIN
    DELETE FROM photo_search WHERE rowid = old.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body WHERE id = old.photo_id;
    INSERT OR IGNORE INTO search_stale (photo_id) SELECT id FROM photos WHERE id = old.photo_id;
END;

CREATE TRIGGER photo_search_album_rename AFTER UPDATE OF title ON albums BEGIN
    DELETE FROM photo_search WHERE rowid IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, '' FROM photo_search_body
    WHERE id IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
    INSERT OR IGNORE INTO search_stale (photo_id) SELECT photo_id FROM album_photos WHERE album_id = new.id;
END;
