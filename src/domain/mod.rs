//! Parsed types: once a value is one of these, the rest of the code trusts it.
mod email;
mod invite_link;
mod invites;
mod slack_ids;
mod slug;
pub mod text;

pub(crate) use email::is_domain_label;
pub use email::{
    Email, EmailError, MAX_LEN as EMAIL_MAX_LEN, MAX_LOCAL_LEN as EMAIL_MAX_LOCAL_LEN,
};
pub use invite_link::{InviteLink, InviteLinkError};
pub use invites::{InviteMode, InviteStatus};
pub use slack_ids::{ChannelId, EnterpriseId, TeamId, UserId};
pub use slug::{Slug, SlugError};
