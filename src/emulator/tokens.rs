//! Access and refresh tokens the emulator issued, and what each one is allowed to do.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::random;

/// What kind of Slack token a string is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `xoxb-`: the app's bot in a workspace.
    Bot,
    /// `xoxp-`: a person who authorized the app.
    User,
    /// A pre-2020 legacy token (the only kind `users.admin.invite` accepts).
    Legacy,
}

/// Who a token acts as and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub kind: TokenKind,
    /// None for an org-wide install.
    pub team_id: Option<String>,
    pub enterprise_id: Option<String>,
    /// The bot user for bot tokens, else the person.
    pub user_id: String,
    pub bot_id: Option<String>,
    /// The person who installed or signed in.
    pub authed_user_id: String,
    pub scopes: Vec<String>,
}

impl Grant {
    /// The team id, or for org-wide installs the enterprise id.
    pub fn installed_in(&self) -> &str {
        self.team_id
            .as_deref()
            .or(self.enterprise_id.as_deref())
            .unwrap_or_default()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.kind == TokenKind::Legacy || self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Clone, Debug)]
struct AccessToken {
    grant: Grant,
    expires_at: Option<OffsetDateTime>,
    revoked: bool,
}

/// Why a token was refused, as Slack's error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    InvalidAuth,
    TokenRevoked,
    TokenExpired,
}

impl TokenRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidAuth => "invalid_auth",
            Self::TokenRevoked => "token_revoked",
            Self::TokenExpired => "token_expired",
        }
    }
}

/// Every token ever issued; revoked and expired ones stay so they can be refused precisely.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    access: HashMap<String, AccessToken>,
    /// Refresh token → the grant it renews; removed when used (single use).
    refresh: HashMap<String, Grant>,
    issued: Vec<String>,
}

impl TokenStore {
    /// Issues an access token; with `expires_at` it is a rotating `xoxe.` token.
    pub fn mint(&mut self, grant: Grant, expires_at: Option<OffsetDateTime>) -> String {
        let token = match (grant.kind, expires_at.is_some()) {
            (TokenKind::Bot, true) => format!("xoxe.xoxb-1-{}", random::alphanumeric(48)),
            (TokenKind::Bot, false) => {
                format!(
                    "xoxb-{}-{}-{}",
                    random::digits(12),
                    random::digits(13),
                    random::alphanumeric(24)
                )
            }
            (TokenKind::User | TokenKind::Legacy, true) => {
                format!("xoxe.xoxp-1-{}", random::alphanumeric(48))
            }
            (TokenKind::User | TokenKind::Legacy, false) => format!(
                "xoxp-{}-{}-{}-{}",
                random::digits(12),
                random::digits(12),
                random::digits(13),
                random::hex(16)
            ),
        };
        self.access.insert(
            token.clone(),
            AccessToken {
                grant,
                expires_at,
                revoked: false,
            },
        );
        self.issued.push(token.clone());
        token
    }

    /// Issues a single-use refresh token for the grant.
    pub fn mint_refresh(&mut self, grant: Grant) -> String {
        let token = format!("xoxe-1-{}", random::alphanumeric(64));
        self.refresh.insert(token.clone(), grant);
        self.issued.push(token.clone());
        token
    }

    /// The grant behind a usable access token.
    pub fn check(&self, token: &str, now: OffsetDateTime) -> Result<&Grant, TokenRefusal> {
        let access = self.access.get(token).ok_or(TokenRefusal::InvalidAuth)?;
        if access.revoked {
            return Err(TokenRefusal::TokenRevoked);
        }
        if access.expires_at.is_some_and(|at| at <= now) {
            return Err(TokenRefusal::TokenExpired);
        }
        Ok(&access.grant)
    }

    pub fn revoke(&mut self, token: &str) {
        if let Some(access) = self.access.get_mut(token) {
            access.revoked = true;
        }
    }

    /// Revokes every access token of an installation and forgets its refresh tokens (an uninstall).
    pub fn revoke_installation(&mut self, installed_in: &str) {
        for access in self.access.values_mut() {
            if access.grant.installed_in() == installed_in {
                access.revoked = true;
            }
        }
        self.refresh
            .retain(|_, grant| grant.installed_in() != installed_in);
    }

    /// Uses up a refresh token, handing back the grant it renews.
    pub fn redeem_refresh(&mut self, token: &str) -> Option<Grant> {
        self.refresh.remove(token)
    }

    pub fn issued(&self) -> &[String] {
        &self.issued
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn grant(kind: TokenKind) -> Grant {
        Grant {
            kind,
            team_id: Some("T1".into()),
            enterprise_id: None,
            user_id: "U1".into(),
            bot_id: None,
            authed_user_id: "U1".into(),
            scopes: vec!["chat:write".into()],
        }
    }

    #[test]
    fn tokens_carry_slack_prefixes() {
        let mut store = TokenStore::default();
        let soon = Some(OffsetDateTime::now_utc() + Duration::hours(1));
        assert!(store.mint(grant(TokenKind::Bot), None).starts_with("xoxb-"));
        assert!(
            store
                .mint(grant(TokenKind::User), None)
                .starts_with("xoxp-")
        );
        assert!(
            store
                .mint(grant(TokenKind::Bot), soon)
                .starts_with("xoxe.xoxb-1-")
        );
        assert!(
            store
                .mint_refresh(grant(TokenKind::Bot))
                .starts_with("xoxe-1-")
        );
        assert_eq!(store.issued().len(), 4);
    }

    #[test]
    fn revoked_expired_and_unknown_tokens_are_refused_with_their_codes() {
        let mut store = TokenStore::default();
        let now = OffsetDateTime::now_utc();
        let revoked = store.mint(grant(TokenKind::Bot), None);
        store.revoke(&revoked);
        let expiring = store.mint(grant(TokenKind::Bot), Some(now + Duration::seconds(10)));
        assert_eq!(
            store.check(&revoked, now).err(),
            Some(TokenRefusal::TokenRevoked)
        );
        assert!(store.check(&expiring, now).is_ok());
        assert_eq!(
            store.check(&expiring, now + Duration::seconds(10)).err(),
            Some(TokenRefusal::TokenExpired)
        );
        assert_eq!(
            store.check("xoxb-nope", now).err(),
            Some(TokenRefusal::InvalidAuth)
        );
    }

    #[test]
    fn a_refresh_token_works_once() {
        let mut store = TokenStore::default();
        let refresh = store.mint_refresh(grant(TokenKind::User));
        assert_eq!(store.redeem_refresh(&refresh), Some(grant(TokenKind::User)));
        assert_eq!(store.redeem_refresh(&refresh), None);
    }

    #[test]
    fn legacy_tokens_have_every_scope() {
        assert!(grant(TokenKind::Legacy).has_scope("admin"));
        assert!(!grant(TokenKind::User).has_scope("admin"));
    }
}
