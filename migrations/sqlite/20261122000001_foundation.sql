-- Foundation: key canaries, workspace installations, OAuth states and the audit log.
-- Times are Unix seconds (UTC). Columns holding secrets hold sealed strings (v1:<key id>:<base64>), never plaintext.

-- One sealed known value per master key id, so a wrong key is refused at start.
CREATE TABLE vault_canaries (
    key_id     TEXT PRIMARY KEY NOT NULL,
    sealed     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One row per workspace (or per Enterprise Grid org for org-wide installs), upserted on reinstall.
CREATE TABLE installations (
    id                    TEXT PRIMARY KEY NOT NULL,      -- team id, or enterprise id for org-wide installs
    team_id               TEXT,
    team_name             TEXT NOT NULL DEFAULT '',
    team_domain           TEXT,
    team_icon             TEXT,
    enterprise_id         TEXT,
    enterprise_name       TEXT,
    is_enterprise_install INTEGER NOT NULL DEFAULT 0,
    app_id                TEXT,
    bot_user_id           TEXT,
    bot_id                TEXT,
    bot_scopes            TEXT NOT NULL DEFAULT '',
    bot_token             TEXT,                           -- sealed
    bot_refresh_token     TEXT,                           -- sealed
    bot_token_expires_at  INTEGER,
    installer_user_id     TEXT NOT NULL,
    user_scopes           TEXT NOT NULL DEFAULT '',
    user_token            TEXT,                           -- sealed
    user_refresh_token    TEXT,                           -- sealed
    user_token_expires_at INTEGER,
    status                TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'uninstalled')),
    status_reason         TEXT,
    installed_at          INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

-- OAuth states for the install and login flows: only a hash is kept; consumed by one DELETE ... RETURNING.
CREATE TABLE oauth_states (
    state_hash   BLOB PRIMARY KEY NOT NULL,               -- SHA-256 of the state sent to Slack
    flow         TEXT NOT NULL CHECK (flow IN ('install', 'login')),
    browser_hash BLOB NOT NULL,                           -- SHA-256 of the browser-binding cookie
    nonce        TEXT,                                    -- OpenID Connect nonce (login flow)
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    team_id TEXT,
    actor   TEXT NOT NULL,                                -- a Slack user id, 'slack' or 'system'
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_team_at ON audit_log (team_id, at);
