//! Invitations the emulator accepted, kept so tests can see who was invited where.

use time::OffsetDateTime;

/// Which API delivered an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteApi {
    /// `users.admin.invite` with a legacy token.
    Legacy,
    /// `admin.users.invite` (Enterprise Grid).
    Admin,
}

#[derive(Clone, Debug)]
pub struct Invite {
    pub api: InviteApi,
    pub team_id: String,
    pub email: String,
    pub channel_ids: Vec<String>,
    pub first_name: Option<String>,
    /// The person whose token sent it.
    pub invited_by: String,
    pub at: OffsetDateTime,
}

/// Good enough to tell an address from garbage, like Slack's `invalid_email`.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_emails_pass_and_garbage_does_not() {
        assert!(is_plausible_email("ada@demo-community.test"));
        for bad in [
            "",
            "ada",
            "@x.test",
            "ada@",
            "ada@localhost",
            "a b@x.test",
            "a@b@x.test",
            "ada@x.",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}
