-- Accepted attempts per client, for limits every instance shares (used on PostgreSQL, where
-- several instances serve one deployment; one SQLite file has one server, which counts in memory).
CREATE TABLE limit_hits (
    scope   TEXT NOT NULL,
    subject TEXT NOT NULL,
    at_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX limit_hits_subject ON limit_hits (scope, subject, at_ms);
CREATE INDEX limit_hits_at ON limit_hits (at_ms);
