-- The audit log of one workspace, newest first.
CREATE INDEX audit_log_team_id ON audit_log (team_id, id);
-- Slack retries an event it thinks was not acknowledged: each event_id has one effect.
CREATE TABLE events_seen (
    event_id TEXT PRIMARY KEY NOT NULL,
    team_id  TEXT,
    seen_at  BIGINT NOT NULL
);
CREATE INDEX events_seen_at ON events_seen (seen_at);
