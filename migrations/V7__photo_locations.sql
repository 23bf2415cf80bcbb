-- Where an original lives is recorded with its row, instead of being computed from the row:
-- `file_kind` 'managed' (Photox's copy under originals/), 'trash' (Photox's copy under trash/)
-- or 'import' (the household's own file in an import root, referenced in place), and
-- `file_path`, relative to originals/, trash/ or the import root. Where a photo came from is
-- recorded too (`origin_*`, API.md §5 and §14).

-- Folders photos are imported from (`[[import]]` roots and `photox import DIR`). A root keeps
-- its id as long as its path is unchanged.
CREATE TABLE import_roots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    path       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

ALTER TABLE photos ADD COLUMN file_kind TEXT NOT NULL DEFAULT 'managed'
    CHECK (file_kind IN ('managed', 'trash', 'import'));
ALTER TABLE photos ADD COLUMN file_path TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN import_root_id INTEGER REFERENCES import_roots (id);
ALTER TABLE photos ADD COLUMN origin_kind TEXT NOT NULL DEFAULT 'upload'
    CHECK (origin_kind IN ('upload', 'import'));
ALTER TABLE photos ADD COLUMN origin_import_id INTEGER REFERENCES import_roots (id);
-- Relative to the import root as the file was found (imports only).
ALTER TABLE photos ADD COLUMN origin_path TEXT;
-- An in-place original that is missing from its folder (API.md §14).
ALTER TABLE photos ADD COLUMN offline INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1));

-- Every photo so far was uploaded and is Photox's own copy, in originals/ by upload date or,
-- when trashed, in trash/.
UPDATE photos SET
    file_kind = CASE WHEN deleted_at IS NULL THEN 'managed' ELSE 'trash' END,
    file_path = CASE WHEN deleted_at IS NULL
        THEN owner_id || '/' || strftime('%Y/%m/%d', created_at, 'unixepoch') || '/' || uuid || '.' || ext
        ELSE owner_id || '/' || uuid || '.' || ext END;

CREATE INDEX photos_import_file ON photos (import_root_id, file_path) WHERE import_root_id IS NOT NULL;
CREATE INDEX photos_origin ON photos (origin_import_id, origin_path) WHERE origin_import_id IS NOT NULL;
