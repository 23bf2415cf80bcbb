-- Ids are never reused, and tokens are bound to their session.
--
-- SQLite gives a new row the highest rowid + 1, so the id of the newest user, session, photo,
-- album or family came back after it was deleted: an old signed URL or token then reached the
-- newcomer's row. AUTOINCREMENT never hands out an id again; it needs the tables rebuilt.
-- `Db::open` runs migrations with foreign keys off (so dropping a table does not cascade into
-- its children) and checks every reference afterwards.
--
-- Ids freed before this migration cannot be known, with one exception: job payloads still
-- name photos purged in the last week. The sequences start above those; tokens and file URLs
-- made before the upgrade are refused anyway (tokens need their session's secret, URLs name
-- their photo's storage key), so an id handed out once more cannot open anything old.

-- The search objects of V4 read these tables; they are dropped here and made again below.
DROP TRIGGER photo_search_insert;
DROP TRIGGER photo_search_update;
DROP TRIGGER photo_search_delete;
DROP TRIGGER photo_search_tag_insert;
DROP TRIGGER photo_search_tag_delete;
DROP TRIGGER photo_search_album_insert;
DROP TRIGGER photo_search_album_delete;
DROP TRIGGER photo_search_album_rename;
DROP TRIGGER photo_tag_names_insert;
DROP TRIGGER photo_tag_names_delete;
DROP VIEW photo_search_text;
DROP VIEW photo_search_body;

CREATE TABLE users_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email             TEXT,
    display_name      TEXT,
    bio               TEXT,
    avatar_url        TEXT,
    avatar_updated_at INTEGER,
    password_hash     TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    family_id         INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    family_joined_at  INTEGER
);
INSERT INTO users_new (id, username, email, display_name, bio, avatar_url, avatar_updated_at,
    password_hash, role, is_active, family_id, created_at, updated_at, family_joined_at)
SELECT id, username, email, display_name, bio, avatar_url, avatar_updated_at,
    password_hash, role, is_active, family_id, created_at, updated_at, family_joined_at
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_family ON users (family_id) WHERE family_id IS NOT NULL;

-- `secret`: random, carried by every token of the session and compared on every use, so a
-- token can only ever match the session it was issued for. Sessions from before this
-- migration get a fresh one: their tokens stop working and their users log in once more.
CREATE TABLE sessions_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret        TEXT    NOT NULL,
    refresh_gen   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    revoked_at    INTEGER,
    revoke_reason TEXT
);
INSERT INTO sessions_new (id, user_id, secret, refresh_gen, created_at, last_used_at, expires_at,
    user_agent, ip, revoked_at, revoke_reason)
SELECT id, user_id, lower(hex(randomblob(16))), refresh_gen, created_at, last_used_at, expires_at,
    user_agent, ip, revoked_at, revoke_reason
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE families_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    invite_code TEXT    NOT NULL UNIQUE,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL
);
INSERT INTO families_new (id, name, invite_code, owner_id, created_at)
SELECT id, name, invite_code, owner_id, created_at FROM families;
DROP TABLE families;
ALTER TABLE families_new RENAME TO families;

-- width and height are the size as displayed: EXIF orientations 5 to 8 turn the picture by a
-- quarter, so the stored sizes of those photos (read from the file's header) are swapped here.
CREATE TABLE photos_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uuid              TEXT    NOT NULL UNIQUE,
    ext               TEXT    NOT NULL,
    title             TEXT,
    description       TEXT,
    original_filename TEXT    NOT NULL,
    mime_type         TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    width             INTEGER NOT NULL,
    height            INTEGER NOT NULL,
    checksum          TEXT    NOT NULL,
    taken_at          INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER,
    visibility        TEXT    NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'family', 'public')),
    is_favorite       INTEGER NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
    status_reason     TEXT,
    camera_make       TEXT,
    camera_model      TEXT,
    lens              TEXT,
    iso               INTEGER,
    aperture          REAL,
    exposure_time     TEXT,
    focal_length      REAL,
    orientation       INTEGER,
    latitude          REAL,
    longitude         REAL,
    altitude          REAL,
    tag_names         TEXT    NOT NULL DEFAULT ''
);
INSERT INTO photos_new (id, owner_id, uuid, ext, title, description, original_filename, mime_type,
    size, width, height, checksum, taken_at, created_at, updated_at, deleted_at, visibility,
    is_favorite, status, status_reason, camera_make, camera_model, lens, iso, aperture,
    exposure_time, focal_length, orientation, latitude, longitude, altitude, tag_names)
SELECT id, owner_id, uuid, ext, title, description, original_filename, mime_type, size,
    CASE WHEN orientation BETWEEN 5 AND 8 THEN height ELSE width END,
    CASE WHEN orientation BETWEEN 5 AND 8 THEN width ELSE height END,
    checksum, taken_at, created_at, updated_at, deleted_at, visibility, is_favorite, status,
    status_reason, camera_make, camera_model, lens, iso, aperture, exposure_time, focal_length,
    orientation, latitude, longitude, altitude, tag_names
FROM photos;
DROP TABLE photos;
ALTER TABLE photos_new RENAME TO photos;
CREATE UNIQUE INDEX photos_owner_checksum ON photos (owner_id, checksum);
CREATE INDEX photos_owner_listing ON photos (owner_id, deleted_at, coalesce(taken_at, created_at));
CREATE INDEX photos_trash ON photos (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX photos_public ON photos (visibility, created_at) WHERE deleted_at IS NULL;
CREATE INDEX photos_camera ON photos (camera_model COLLATE NOCASE) WHERE camera_model IS NOT NULL;

CREATE TABLE albums_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id      INTEGER REFERENCES albums (id) ON DELETE SET NULL,
    title          TEXT    NOT NULL,
    description    TEXT,
    visibility     TEXT    NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'family', 'public')),
    cover_photo_id INTEGER REFERENCES photos (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
INSERT INTO albums_new (id, owner_id, parent_id, title, description, visibility, cover_photo_id,
    created_at, updated_at)
SELECT id, owner_id, parent_id, title, description, visibility, cover_photo_id, created_at,
    updated_at
FROM albums;
DROP TABLE albums;
ALTER TABLE albums_new RENAME TO albums;
CREATE INDEX albums_owner ON albums (owner_id, parent_id);
CREATE INDEX albums_parent ON albums (parent_id);
CREATE INDEX albums_visibility ON albums (visibility, created_at);

-- Photos purged within the last week are still named by their finished jobs.
UPDATE sqlite_sequence SET seq = max(seq, (
    SELECT coalesce(max(CAST(json_extract(payload, '$.photo_id') AS INTEGER)), 0) FROM jobs))
WHERE name = 'photos';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'photos', coalesce(max(CAST(json_extract(payload, '$.photo_id') AS INTEGER)), 0) FROM jobs
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'photos');

-- The search objects of V4, unchanged.
CREATE VIEW photo_search_body (id, body) AS
SELECT p.id, coalesce(p.title, '') || ' ' || coalesce(p.description, '') || ' ' ||
    p.original_filename || ' ' || coalesce(p.camera_make, '') || ' ' ||
    coalesce(p.camera_model, '') || ' ' || coalesce(p.lens, '') || ' ' ||
    coalesce((SELECT group_concat(t.name, ' ') FROM photo_tags t WHERE t.photo_id = p.id), '')
    || ' ' ||
    coalesce((SELECT group_concat(a.title, ' ') FROM album_photos ap JOIN albums a
              ON a.id = ap.album_id WHERE ap.photo_id = p.id), '')
FROM photos p;

CREATE VIEW photo_search_text (id, body, grams) AS
SELECT id, body, photox_grams(body) FROM photo_search_body;

CREATE TRIGGER photo_search_insert AFTER INSERT ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = new.id;
END;

CREATE TRIGGER photo_search_update AFTER UPDATE OF title, description, original_filename, camera_make,
    camera_model, lens ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = new.id;
END;

CREATE TRIGGER photo_search_delete AFTER DELETE ON photos BEGIN
    DELETE FROM photo_search WHERE rowid = old.id;
END;

CREATE TRIGGER photo_search_tag_insert AFTER INSERT ON photo_tags BEGIN
    DELETE FROM photo_search WHERE rowid = new.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = new.photo_id;
END;

CREATE TRIGGER photo_search_tag_delete AFTER DELETE ON photo_tags BEGIN
    DELETE FROM photo_search WHERE rowid = old.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = old.photo_id;
END;

CREATE TRIGGER photo_search_album_insert AFTER INSERT ON album_photos BEGIN
    DELETE FROM photo_search WHERE rowid = new.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = new.photo_id;
END;

CREATE TRIGGER photo_search_album_delete AFTER DELETE ON album_photos BEGIN
    DELETE FROM photo_search WHERE rowid = old.photo_id;
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text WHERE id = old.photo_id;
END;

CREATE TRIGGER photo_search_album_rename AFTER UPDATE OF title ON albums BEGIN
    DELETE FROM photo_search WHERE rowid IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text
    WHERE id IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
END;

CREATE TRIGGER photo_tag_names_insert AFTER INSERT ON photo_tags BEGIN
    UPDATE photos SET tag_names = coalesce(
        (SELECT group_concat(name, char(31)) FROM photo_tags WHERE photo_id = new.photo_id), '')
    WHERE id = new.photo_id;
END;
CREATE TRIGGER photo_tag_names_delete AFTER DELETE ON photo_tags BEGIN
    UPDATE photos SET tag_names = coalesce(
        (SELECT group_concat(name, char(31)) FROM photo_tags WHERE photo_id = old.photo_id), '')
    WHERE id = old.photo_id;
END;
