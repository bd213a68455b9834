-- Slack retries an event it thinks was not acknowledged: each event_id has one effect.
CREATE TABLE events_seen (
    event_id TEXT PRIMARY KEY NOT NULL,
    team_id  TEXT,
    seen_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX events_seen_at ON events_seen (seen_at);
