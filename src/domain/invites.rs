//! How a community turns requests into Slack invitations, and where a request stands.

use std::fmt;

/// A community's way of inviting people (DESIGN.md, "Invites").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteMode {
    /// `admin.users.invite` with a user token holding `admin.users:write` (Enterprise Grid).
    AdminApi,
    /// `users.admin.invite` with a legacy token an admin pasted in.
    Legacy,
    /// Admins approve each request; approval delivers by `admin_api`/`legacy` or hands out the shared link.
    Approval,
    /// After the checks, the person is sent on to the shared invite link.
    Link,
}

impl InviteMode {
    pub const ALL: [InviteMode; 4] = [Self::AdminApi, Self::Legacy, Self::Approval, Self::Link];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdminApi => "admin_api",
            Self::Legacy => "legacy",
            Self::Approval => "approval",
            Self::Link => "link",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not an invite mode (admin_api, legacy, approval or link)")
            })
    }

    /// The mode in the words of the person choosing it (dashboard, audit log, Slack messages).
    pub fn label(self) -> &'static str {
        match self {
            Self::AdminApi => "Slack sends the invite (Enterprise Grid)",
            Self::Legacy => "Slack sends the invite (legacy token)",
            Self::Approval => "You approve each request",
            Self::Link => "Visitors get the invite link",
        }
    }
}

impl TryFrom<String> for InviteMode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl fmt::Display for InviteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where an invite request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteStatus {
    /// Waiting for an admin (approval mode, or a configuration problem to fix).
    Pending,
    /// Approved or automatic: a job will deliver it.
    Queued,
    Invited,
    AlreadyInTeam,
    AlreadyInvited,
    Joined,
    Denied,
    Failed,
    /// The person was given the shared invite link on the page (no mail configured).
    LinkShown,
    /// Waiting for the person to confirm their address through the mailed link.
    Unconfirmed,
    /// The shared invite link was mailed to the person.
    LinkSent,
}

impl InviteStatus {
    pub const ALL: [InviteStatus; 11] = [
        Self::Pending,
        Self::Queued,
        Self::Invited,
        Self::AlreadyInTeam,
        Self::AlreadyInvited,
        Self::Joined,
        Self::Denied,
        Self::Failed,
        Self::LinkShown,
        Self::Unconfirmed,
        Self::LinkSent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Invited => "invited",
            Self::AlreadyInTeam => "already_in_team",
            Self::AlreadyInvited => "already_invited",
            Self::Joined => "joined",
            Self::Denied => "denied",
            Self::Failed => "failed",
            Self::LinkShown => "link_shown",
            Self::Unconfirmed => "unconfirmed",
            Self::LinkSent => "link_sent",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an invite request status"))
    }

    /// The status in the words an organiser uses (dashboard, audit log, Slack messages).
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting for approval",
            Self::Queued => "Being sent",
            Self::Invited => "Invited",
            Self::AlreadyInTeam => "Already a member",
            Self::AlreadyInvited => "Already invited",
            Self::Joined => "Joined",
            Self::Denied => "Declined",
            Self::Failed => "Failed",
            Self::LinkShown => "Invite link shown",
            Self::Unconfirmed => "Address not confirmed yet",
            Self::LinkSent => "Invite link sent",
        }
    }

    /// Still waiting for something: at most one open request per email per community.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Queued | Self::Unconfirmed)
    }

    /// Slack already knows this person: never send again.
    pub fn reached_slack(self) -> bool {
        matches!(
            self,
            Self::Invited
                | Self::AlreadyInTeam
                | Self::AlreadyInvited
                | Self::Joined
                | Self::LinkSent
        )
    }
}

impl TryFrom<String> for InviteStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl fmt::Display for InviteStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_statuses_round_trip() {
        for mode in InviteMode::ALL {
            assert_eq!(InviteMode::parse(mode.as_str()), Ok(mode));
        }
        for status in InviteStatus::ALL {
            assert_eq!(InviteStatus::parse(status.as_str()), Ok(status));
        }
        assert!(InviteMode::parse("magic").is_err());
    }

    #[test]
    fn labels_are_words_not_codes() {
        for status in InviteStatus::ALL {
            assert!(!status.label().contains('_'), "{status}");
        }
        for mode in InviteMode::ALL {
            assert!(!mode.label().contains('_'), "{mode}");
        }
    }
}
