-- Resumable uploads (tus 1.0.0, API.md §5.1). V9 is taken by another change.
-- A row per upload in progress, and per finished one until it expires, so that a client whose
-- last answer was lost still learns its photo from HEAD. The bytes of an unfinished upload are
-- in <data_dir>/uploads/<id>; `durable_offset` is only ever written after those bytes were
-- flushed to disk, so it never counts a byte a crash could lose (a longer file is cut back
-- to it).
CREATE TABLE uploads (
    -- Random, 32 hex digits: the last segment of the upload's URL.
    id             TEXT    PRIMARY KEY,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'single': becomes a photo; 'partial': a part of a later 'final' (concatenation).
    kind           TEXT    NOT NULL CHECK (kind IN ('single', 'partial', 'final')),
    -- NULL while the length is deferred (Upload-Defer-Length).
    length         INTEGER,
    durable_offset INTEGER NOT NULL DEFAULT 0,
    -- Upload-Metadata as it was sent (HEAD echoes it); checked when the upload was created.
    metadata       TEXT    NOT NULL DEFAULT '',
    -- A final upload: its Upload-Concat value as it was sent.
    concat         TEXT,
    -- Once finished: the photo it became, and whether the owner had those bytes already.
    photo_id       INTEGER,
    duplicate      INTEGER NOT NULL DEFAULT 0 CHECK (duplicate IN (0, 1)),
    created_at     INTEGER NOT NULL,
    -- Moved on by every write; past it the upload answers 404 and the expiry job removes it.
    expires_at     INTEGER NOT NULL
);
CREATE INDEX uploads_owner ON uploads (owner_id, photo_id);
CREATE INDEX uploads_expiry ON uploads (expires_at);
