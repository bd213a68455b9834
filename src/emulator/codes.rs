//! Authorization codes handed out by the consent pages: single use, ten minutes, bound to what was asked.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::random;

/// How long a code can be exchanged, like Slack.
pub const CODE_TTL: Duration = Duration::minutes(10);

/// Which flow issued a code; a code only works at its own flow's exchange method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    Install,
    OpenId { nonce: Option<String> },
}

/// What a person approved on a consent page.
#[derive(Clone, Debug)]
pub struct Approval {
    pub flow: Flow,
    pub client_id: String,
    /// Exactly as given at authorize; None when authorize had none.
    pub redirect_uri: Option<String>,
    /// None for an org-wide install.
    pub team_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub user_scopes: Vec<String>,
}

#[derive(Debug)]
struct Issued {
    approval: Approval,
    expires_at: OffsetDateTime,
}

/// Why a code exchange was refused, as Slack's error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    InvalidCode,
    BadRedirectUri,
}

impl CodeRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidCode => "invalid_code",
            Self::BadRedirectUri => "bad_redirect_uri",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct CodeStore {
    codes: HashMap<String, Issued>,
}

impl CodeStore {
    pub fn issue(&mut self, approval: Approval, now: OffsetDateTime) -> String {
        let code = format!(
            "{}.{}.{}",
            random::digits(10),
            random::digits(13),
            random::hex(32)
        );
        self.codes.insert(
            code.clone(),
            Issued {
                approval,
                expires_at: now + CODE_TTL,
            },
        );
        code
    }

    /// Makes a code unusable as if its ten minutes had passed.
    pub fn expire(&mut self, code: &str, now: OffsetDateTime) {
        if let Some(issued) = self.codes.get_mut(code) {
            issued.expires_at = now;
        }
    }

    /// Exchanges a code: it must exist, be unexpired, come from `flow`'s page for `client_id`, and be presented
    /// with the redirect URI given at authorize. Only a successful exchange uses it up.
    pub fn redeem(
        &mut self,
        code: &str,
        is_flow: impl Fn(&Flow) -> bool,
        client_id: &str,
        redirect_uri: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Approval, CodeRefusal> {
        let issued = self.codes.get(code).ok_or(CodeRefusal::InvalidCode)?;
        if issued.expires_at <= now
            || !is_flow(&issued.approval.flow)
            || issued.approval.client_id != client_id
        {
            return Err(CodeRefusal::InvalidCode);
        }
        if let Some(expected) = issued.approval.redirect_uri.as_deref()
            && redirect_uri != Some(expected)
        {
            return Err(CodeRefusal::BadRedirectUri);
        }
        self.codes
            .remove(code)
            .map(|issued| issued.approval)
            .ok_or(CodeRefusal::InvalidCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(redirect_uri: Option<&str>) -> Approval {
        Approval {
            flow: Flow::Install,
            client_id: "client".into(),
            redirect_uri: redirect_uri.map(Into::into),
            team_id: Some("T1".into()),
            enterprise_id: None,
            user_id: "U1".into(),
            scopes: vec![],
            user_scopes: vec![],
        }
    }

    fn is_install(flow: &Flow) -> bool {
        *flow == Flow::Install
    }

    #[test]
    fn a_code_is_single_use() {
        let mut store = CodeStore::default();
        let now = OffsetDateTime::now_utc();
        let code = store.issue(approval(None), now);
        assert!(store.redeem(&code, is_install, "client", None, now).is_ok());
        assert_eq!(
            store.redeem(&code, is_install, "client", None, now).err(),
            Some(CodeRefusal::InvalidCode)
        );
    }

    #[test]
    fn a_code_expires_after_ten_minutes() {
        let mut store = CodeStore::default();
        let now = OffsetDateTime::now_utc();
        let code = store.issue(approval(None), now);
        let later = now + CODE_TTL;
        assert_eq!(
            store.redeem(&code, is_install, "client", None, later).err(),
            Some(CodeRefusal::InvalidCode)
        );
    }

    #[test]
    fn the_redirect_uri_must_repeat_the_one_given_at_authorize() {
        let mut store = CodeStore::default();
        let now = OffsetDateTime::now_utc();
        let code = store.issue(approval(Some("https://app.test/cb")), now);
        let refused = store.redeem(
            &code,
            is_install,
            "client",
            Some("https://evil.test/cb"),
            now,
        );
        assert_eq!(refused.err(), Some(CodeRefusal::BadRedirectUri));
        let missing = store.redeem(&code, is_install, "client", None, now);
        assert_eq!(missing.err(), Some(CodeRefusal::BadRedirectUri));
        assert!(
            store
                .redeem(
                    &code,
                    is_install,
                    "client",
                    Some("https://app.test/cb"),
                    now
                )
                .is_ok()
        );
    }

    #[test]
    fn a_code_works_only_for_its_flow_and_client() {
        let mut store = CodeStore::default();
        let now = OffsetDateTime::now_utc();
        let code = store.issue(approval(None), now);
        let openid = |flow: &Flow| matches!(flow, Flow::OpenId { .. });
        assert_eq!(
            store.redeem(&code, openid, "client", None, now).err(),
            Some(CodeRefusal::InvalidCode)
        );
        assert_eq!(
            store.redeem(&code, is_install, "other", None, now).err(),
            Some(CodeRefusal::InvalidCode)
        );
    }
}
