//! A workspace's shared invite link, as Slack makes them: `https://join.slack.com/t/<workspace>/
//! shared_invite/<code>` (or the older `https://join.slack.com/shared_invite/<code>`). Lobby mails
//! and shows it to the public, so it must be exactly that and nothing an attacker could bend into
//! a phishing redirect or a header injection.

use std::fmt;

use url::{Host, Url};

const SLACK_HOST: &str = "join.slack.com";

#[derive(Clone, PartialEq, Eq)]
pub struct InviteLink(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteLinkError {
    #[error("The invite link has a line break or another control character in it.")]
    ControlCharacter,
    #[error("The invite link is not a URL.")]
    NotAUrl,
    #[error(
        "The invite link must be a Slack invite link: https://join.slack.com/t/your-workspace/shared_invite/…"
    )]
    NotSlack,
}

impl InviteLink {
    /// Parses a link an admin pasted (surrounding whitespace is ignored). `also` is a base URL
    /// whose links are accepted too: the demo's emulator, which stands in for join.slack.com.
    pub fn parse(raw: &str, also: Option<&Url>) -> Result<InviteLink, InviteLinkError> {
        let raw = raw.trim();
        // The URL parser silently drops tabs and line breaks; a link that had them is refused,
        // not repaired.
        if raw.chars().any(char::is_control) {
            return Err(InviteLinkError::ControlCharacter);
        }
        let mut url = Url::parse(raw).map_err(|_| InviteLinkError::NotAUrl)?;
        url.set_fragment(None);
        if let Some(base) = also
            && url.origin() == base.origin()
            && url.path().starts_with(base.path())
            && url.username().is_empty()
            && url.password().is_none()
        {
            return Ok(InviteLink(url));
        }
        let slack = url.scheme() == "https"
            && url.host() == Some(Host::Domain(SLACK_HOST))
            && url.port().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && is_invite_path(url.path());
        if !slack {
            return Err(InviteLinkError::NotSlack);
        }
        Ok(InviteLink(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// `/t/<workspace>/shared_invite/<code>` or `/shared_invite/<code>`, each segment non-empty.
fn is_invite_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ok = |s: &&str| !s.is_empty();
    match segments.as_slice() {
        ["t", workspace, "shared_invite", code] => ok(workspace) && ok(code),
        ["t", workspace, "shared_invite", code, ""] => ok(workspace) && ok(code),
        ["shared_invite", code] => ok(code),
        _ => false,
    }
}

impl fmt::Display for InviteLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The link is a secret of sorts (anyone with it can join): kept out of debug output.
impl fmt::Debug for InviteLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteLink(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_invite_links_are_accepted_and_normalized() {
        for (raw, normal) in [
            (
                " https://join.slack.com/t/demo/shared_invite/zt-1abc-XyZ ",
                "https://join.slack.com/t/demo/shared_invite/zt-1abc-XyZ",
            ),
            (
                "HTTPS://JOIN.SLACK.COM/t/demo/shared_invite/zt-1#frag",
                "https://join.slack.com/t/demo/shared_invite/zt-1",
            ),
            (
                "https://join.slack.com/shared_invite/enQtMz",
                "https://join.slack.com/shared_invite/enQtMz",
            ),
        ] {
            assert_eq!(InviteLink::parse(raw, None).unwrap().as_str(), normal);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in [
            "http://join.slack.com/t/demo/shared_invite/zt-1",
            "https://evil.test/t/demo/shared_invite/zt-1",
            "https://join.slack.com.evil.test/t/demo/shared_invite/zt-1",
            "https://user@join.slack.com/t/demo/shared_invite/zt-1",
            "https://join.slack.com:8443/t/demo/shared_invite/zt-1",
            "https://join.slack.com/t/demo/",
            "https://join.slack.com/t/demo/shared_invite/zt-1?next=https://evil.test",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert!(InviteLink::parse(raw, None).is_err(), "{raw}");
        }
        assert_eq!(
            InviteLink::parse(
                "https://join.slack.com/t/demo/shared_invite/zt-1\r\nX: y",
                None
            ),
            Err(InviteLinkError::ControlCharacter)
        );
    }

    #[test]
    fn the_demo_emulator_stands_in_for_slack() {
        let base = Url::parse("http://localhost:8080/_emulator/slack/").unwrap();
        let link = "http://localhost:8080/_emulator/slack/join/T0DEMO0001";
        assert!(InviteLink::parse(link, Some(&base)).is_ok());
        assert!(InviteLink::parse("http://localhost:8080/admin", Some(&base)).is_err());
        assert!(InviteLink::parse(link, None).is_err());
    }
}
