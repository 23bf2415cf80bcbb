-- Photo library: photos, their processing steps, tags and likes, and the durable job queue.

CREATE TABLE photos (
    id                INTEGER PRIMARY KEY,
    owner_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- File name stem on disk: originals/<owner>/<YYYY>/<MM>/<DD>/<uuid>.<ext>, trash/<owner>/<uuid>.<ext>
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
    altitude          REAL
);
-- One copy of a file per owner: a second upload of the same bytes is a duplicate.
CREATE UNIQUE INDEX photos_owner_checksum ON photos (owner_id, checksum);
CREATE INDEX photos_owner_listing ON photos (owner_id, deleted_at, coalesce(taken_at, created_at));
CREATE INDEX photos_trash ON photos (deleted_at) WHERE deleted_at IS NOT NULL;

-- What happened to each photo after upload: stored, exif, thumbnails, tags (and mirror later).
CREATE TABLE photo_steps (
    photo_id   INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    error      TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (photo_id, name)
);

CREATE TABLE photo_tags (
    photo_id   INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('ai', 'manual')),
    confidence REAL    NOT NULL DEFAULT 1.0,
    PRIMARY KEY (photo_id, source, name)
);
CREATE INDEX photo_tags_name ON photo_tags (name);

CREATE TABLE photo_likes (
    photo_id   INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (photo_id, user_id)
);

-- Durable background work. A worker claims a pending job (state 'running', heartbeat); a job whose
-- heartbeat stops (crash, kill -9) goes back to 'pending'.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at       INTEGER NOT NULL,
    heartbeat_at INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at);
