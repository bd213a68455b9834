-- When each periodic round (housekeeping, member counts) last ran, on whichever instance: with
-- several instances on one database, one of them runs each round.
CREATE TABLE periodic_rounds (
    name    TEXT PRIMARY KEY NOT NULL,
    last_at INTEGER NOT NULL
) STRICT;
