-- Accounts and sessions.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
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
    updated_at        INTEGER NOT NULL
);

-- One row per login. Access tokens carry the session id; refresh tokens carry the id and the
-- generation, which each refresh increments (rotation). A revoked session ends both at once.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_gen   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    revoked_at    INTEGER,
    revoke_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
