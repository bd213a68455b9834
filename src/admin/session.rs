//! Dashboard sessions: a random 256-bit id in an HttpOnly cookie, only its SHA-256 in the
//! database, an idle and an absolute lifetime, and a per-session secret the CSRF tokens derive from.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::db::{self, Db, sessions::NewSession};
use crate::domain::{EnterpriseId, TeamId, UserId};
use crate::opaque::{random_token, token_hash};

/// A session unused this long is over.
pub const IDLE_SECS: i64 = 12 * 60 * 60;
/// A session this old is over, however busy.
pub const ABSOLUTE_SECS: i64 = 7 * 24 * 60 * 60;
/// `last_seen_at` is written at most this often, so page views stay reads.
const TOUCH_EVERY_SECS: i64 = 60;

/// What the CSRF token's HMAC covers; a versioned label keeps it from meaning anything else.
const CSRF_LABEL: &[u8] = b"lobby dashboard csrf v1";

/// The person a request's session belongs to, and the installations they may manage.
#[derive(Clone)]
pub struct Admin {
    pub user_id: UserId,
    pub name: String,
    /// Installation ids (team ids, or enterprise ids for org-wide installs).
    pub teams: Vec<TeamId>,
    /// The person's own workspace and organisation, to ask Slack about their role again.
    pub person_team_id: TeamId,
    pub person_enterprise_id: Option<EnterpriseId>,
    /// When Slack last confirmed the role (unix seconds).
    pub checked_at: i64,
    pub(crate) session_id: i64,
    csrf_token: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("user_id", &self.user_id)
            .field("teams", &self.teams)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The token every form of this session carries.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Whether a form's token is this session's, compared in constant time.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf_token.as_bytes())))
    }

    pub fn manages(&self, installation_id: &TeamId) -> bool {
        self.teams.contains(installation_id)
    }

    /// How the audit log names this person.
    pub fn actor(&self) -> &str {
        self.user_id.as_str()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// `__Host-` (https only) pins the cookie to this origin and path `/`.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-lobby_session"
    } else {
        "lobby_session"
    }
}

fn csrf_token_for(secret: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(CSRF_LABEL);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The limits a session must be within now: seen after the first, created after the second.
fn live_since(now: i64) -> (i64, i64) {
    (now - IDLE_SECS, now - ABSOLUTE_SECS)
}

/// Who signs in, and what they may manage.
pub struct SignIn<'a> {
    pub user_id: &'a UserId,
    pub name: &'a str,
    pub person_team_id: &'a TeamId,
    pub person_enterprise_id: Option<&'a EnterpriseId>,
    pub teams: &'a [TeamId],
}

/// Starts a new session, ending the one the browser presented (if any) in the same transaction,
/// so a session id planted before sign-in is worth nothing after it. Returns the session id, for
/// the cookie (which lives [`ABSOLUTE_SECS`]).
pub async fn start(
    db: &Db,
    previous: Option<&str>,
    who: &SignIn<'_>,
) -> Result<String, SessionError> {
    let token = random_token(32).map_err(|_| SessionError::Random)?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|_| SessionError::Random)?;
    let (idle_since, created_since) = live_since(db::now());
    let mut tx = db::begin_write(db).await?;
    if let Some(previous) = previous {
        db::sessions::delete(&mut *tx, &token_hash(previous)).await?;
    }
    db::sessions::delete_expired(&mut *tx, idle_since, created_since).await?;
    db::sessions::create(
        &mut tx,
        &NewSession {
            token_hash: &token_hash(&token),
            user_id: who.user_id,
            user_name: who.name,
            csrf_secret: &secret,
            person_team_id: who.person_team_id,
            person_enterprise_id: who.person_enterprise_id,
            installations: who.teams,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The admin behind a session cookie, while the session is live.
pub async fn resolve(db: &Db, cookie_value: &str) -> Result<Option<Admin>, sqlx::Error> {
    let now = db::now();
    let (idle_since, created_since) = live_since(now);
    let Some(session) =
        db::sessions::find_live(db, &token_hash(cookie_value), idle_since, created_since).await?
    else {
        return Ok(None);
    };
    if now - session.last_seen_at >= TOUCH_EVERY_SECS {
        db::sessions::touch(db, session.id, now).await?;
    }
    Ok(Some(Admin {
        teams: session.installation_ids(),
        csrf_token: csrf_token_for(&session.csrf_secret),
        user_id: session.user_id,
        name: session.user_name,
        person_team_id: session.person_team_id,
        person_enterprise_id: session.person_enterprise_id,
        checked_at: session.checked_at,
        session_id: session.id,
    }))
}

/// Ends the session with that cookie (logout); false when it was already gone.
pub async fn end(db: &Db, cookie_value: &str) -> Result<bool, sqlx::Error> {
    db::sessions::delete(db, &token_hash(cookie_value)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(secret: &[u8]) -> Admin {
        Admin {
            user_id: UserId::parse("U0ADA").unwrap(),
            name: "Ada".into(),
            teams: vec![TeamId::parse("T0ONE").unwrap()],
            person_team_id: TeamId::parse("T0ONE").unwrap(),
            person_enterprise_id: None,
            checked_at: 0,
            session_id: 1,
            csrf_token: csrf_token_for(secret),
        }
    }

    #[test]
    fn csrf_tokens_differ_per_session_secret() {
        let a = admin(&[1; 32]);
        let b = admin(&[2; 32]);
        assert_ne!(a.csrf_token(), b.csrf_token());
        assert!(a.csrf_matches(Some(a.csrf_token())));
        assert!(!a.csrf_matches(Some(b.csrf_token())));
        assert!(!a.csrf_matches(Some("")));
        assert!(!a.csrf_matches(None));
    }

    #[test]
    fn debug_output_leaves_out_the_csrf_token() {
        let a = admin(&[1; 32]);
        assert!(!format!("{a:?}").contains(a.csrf_token()));
    }

    #[test]
    fn https_session_cookies_are_host_only() {
        assert_eq!(cookie_name(true), "__Host-lobby_session");
        assert_eq!(cookie_name(false), "lobby_session");
    }

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = db::connect(&url).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn a_session_opens_until_it_is_ended_and_a_new_one_replaces_the_old() {
        let (_dir, db) = db().await;
        let (user, team) = (
            UserId::parse("U0ADA").unwrap(),
            TeamId::parse("T0ONE").unwrap(),
        );
        let who = SignIn {
            user_id: &user,
            name: "Ada",
            person_team_id: &team,
            person_enterprise_id: None,
            teams: &[],
        };
        let first = start(&db, None, &who).await.unwrap();
        let admin = resolve(&db, &first).await.unwrap().expect("live");
        assert_eq!(admin.user_id, user);
        assert!(admin.teams.is_empty());

        let second = start(&db, Some(&first), &who).await.unwrap();
        assert_ne!(&first, &second);
        assert!(resolve(&db, &first).await.unwrap().is_none());
        assert!(end(&db, &second).await.unwrap());
        assert!(resolve(&db, &second).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn idle_and_old_sessions_no_longer_open() {
        let (_dir, db) = db().await;
        let (user, team) = (
            UserId::parse("U0ADA").unwrap(),
            TeamId::parse("T0ONE").unwrap(),
        );
        let who = SignIn {
            user_id: &user,
            name: "Ada",
            person_team_id: &team,
            person_enterprise_id: None,
            teams: &[],
        };
        let idle = start(&db, None, &who).await.unwrap();
        let old = start(&db, None, &who).await.unwrap();
        let now = db::now();
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now - IDLE_SECS - 1)
            .bind(token_hash(&idle))
            .execute(db.as_sqlite().unwrap())
            .await
            .unwrap();
        sqlx::query("UPDATE sessions SET created_at = $1 WHERE token_hash = $2")
            .bind(now - ABSOLUTE_SECS - 1)
            .bind(token_hash(&old))
            .execute(db.as_sqlite().unwrap())
            .await
            .unwrap();
        assert!(resolve(&db, &idle).await.unwrap().is_none());
        assert!(resolve(&db, &old).await.unwrap().is_none());
    }
}
