-- Sharing: families, nested albums, album likes.

-- A user is in at most one family: membership is `users.family_id` (from V1), with the time of
-- joining (the longest-standing member inherits the family when the owner leaves).
CREATE TABLE families (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    invite_code TEXT    NOT NULL UNIQUE,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL
);
ALTER TABLE users ADD COLUMN family_joined_at INTEGER;
CREATE INDEX users_family ON users (family_id) WHERE family_id IS NOT NULL;

CREATE TABLE albums (
    id             INTEGER PRIMARY KEY,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Child albums move up to the parent of a deleted album (done by the service, in one
    -- transaction); SET NULL only guards against a row being left pointing nowhere.
    parent_id      INTEGER REFERENCES albums (id) ON DELETE SET NULL,
    title          TEXT    NOT NULL,
    description    TEXT,
    visibility     TEXT    NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'family', 'public')),
    cover_photo_id INTEGER REFERENCES photos (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX albums_owner ON albums (owner_id, parent_id);
CREATE INDEX albums_parent ON albums (parent_id);
CREATE INDEX albums_visibility ON albums (visibility, created_at);

-- Photos in albums. Trashed photos keep their memberships (a restore brings them back); a
-- purged photo leaves every album (ON DELETE CASCADE).
CREATE TABLE album_photos (
    album_id INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE INDEX album_photos_photo ON album_photos (photo_id);

CREATE TABLE album_likes (
    album_id   INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_likes_user ON album_likes (user_id);

-- Public feeds sort by these.
CREATE INDEX photos_public ON photos (visibility, created_at) WHERE deleted_at IS NULL;
