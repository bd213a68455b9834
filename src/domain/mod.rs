//! Parsed types: once a value is one of these, the rest of the code trusts it.
mod slack_ids;

pub use slack_ids::{TeamId, UserId};
