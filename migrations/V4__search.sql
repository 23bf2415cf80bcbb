-- Full-text search over photos: one FTS5 row per photo (rowid = photo id) whose text is the
-- title, description, original filename, camera, lens, tags and the titles of its albums. The
-- trigram tokenizer finds any substring of three or more characters in any script (Chinese has
-- no spaces between words), case-insensitively. Words of one or two characters go through
-- `grams`: `photox_grams(body)` (a function of the daemon, src/db/grams.rs) lists every
-- non-ASCII character and pair as `|x|`, itself a trigram phrase. Triggers keep both in step.

CREATE VIRTUAL TABLE photo_search USING fts5(body, grams, tokenize = 'trigram');

-- The searchable text of each photo.
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

-- A photo's tags or album memberships changed.
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

-- A renamed album re-indexes its photos.
CREATE TRIGGER photo_search_album_rename AFTER UPDATE OF title ON albums BEGIN
    DELETE FROM photo_search WHERE rowid IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
    INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text
    WHERE id IN (SELECT photo_id FROM album_photos WHERE album_id = new.id);
END;

-- Photos stored before this migration.
INSERT INTO photo_search (rowid, body, grams) SELECT id, body, grams FROM photo_search_text;

-- The tag names of each photo in its own row (joined by char(31)), so that the tag facet of a
-- search reads them with the row it visits anyway instead of probing photo_tags per match.
ALTER TABLE photos ADD COLUMN tag_names TEXT NOT NULL DEFAULT '';
UPDATE photos SET tag_names = coalesce(
    (SELECT group_concat(name, char(31)) FROM photo_tags WHERE photo_id = photos.id), '');
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

-- Filters of the search.
CREATE INDEX photos_camera ON photos (camera_model COLLATE NOCASE) WHERE camera_model IS NOT NULL;
CREATE INDEX photo_tags_name_nocase ON photo_tags (name COLLATE NOCASE, photo_id);
