-- Jobs of every kind (V7 is taken by another change). Each kind is declared in code by the
-- feature that registers it: its handler, retry policy, priority and unique key. A job row
-- keeps what the queue needs in SQL: its priority (the claim order) and, where only one may
-- be pending or running, its unique key. The retry policy is the kind's, so `max_attempts`
-- per row goes.
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN unique_key TEXT;
ALTER TABLE jobs DROP COLUMN max_attempts;
-- Thumbnails and EXIF before tags, as before (Priority::HIGH and Priority::NORMAL in code).
UPDATE jobs SET priority = CASE kind WHEN 'tags' THEN 50 ELSE 100 END;
-- Payloads are per kind; the kind is in its own column.
UPDATE jobs SET payload = json_remove(payload, '$.kind') WHERE json_valid(payload);

DROP INDEX jobs_ready;
CREATE INDEX jobs_claim ON jobs (state, priority DESC, run_at);
CREATE UNIQUE INDEX jobs_unique ON jobs (kind, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'running');

-- When each scheduled task last fired, so a restart neither repeats it early nor skips one
-- that fell due while the daemon was down.
CREATE TABLE job_schedules (
    name        TEXT    PRIMARY KEY,
    last_run_at INTEGER NOT NULL
);

-- Whether a step holds its photo back: a pending step keeps the photo `processing` and a
-- failed one makes it `failed` only when it counts (a mirror copy does not).
ALTER TABLE photo_steps ADD COLUMN counts_toward_status INTEGER NOT NULL DEFAULT 1
    CHECK (counts_toward_status IN (0, 1));
