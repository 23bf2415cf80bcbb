-- Watched import folders (API.md §14). Each file ever seen below a root, with what became of
-- it, so a scan compares path, size and modification time with what is known and reads no
-- file it has seen unchanged. `state`:
--   pending    seen, not yet taken (still settling)
--   imported   a photo holds it (`photo_id`)
--   duplicate  the owner already had these bytes (`photo_id` is that photo)
--   skipped    not a photo format Photox stores
--   failed     a supported file that could not be ingested (`reason`); retried when it changes
--   missing    gone from the folder since the last scan
CREATE TABLE import_files (
    root_id     INTEGER NOT NULL REFERENCES import_roots (id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    -- When this size and mtime were first seen (the settle clock starts then).
    seen_at     INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN
                    ('pending', 'imported', 'duplicate', 'skipped', 'failed', 'missing')),
    photo_id    INTEGER REFERENCES photos (id) ON DELETE SET NULL,
    reason      TEXT,
    PRIMARY KEY (root_id, path)
) WITHOUT ROWID;
CREATE INDEX import_files_photo ON import_files (photo_id) WHERE photo_id IS NOT NULL;

-- The last scan of each root: when it ended, and why it was paused if it was.
ALTER TABLE import_roots ADD COLUMN last_scan_at INTEGER;
ALTER TABLE import_roots ADD COLUMN paused_reason TEXT;
