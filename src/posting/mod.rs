//! Posting messages and files to a workspace's channels, for the API and `lobby post`.
//!
//! A channel is named by id or by name; names are resolved with `conversations.list` and cached
//! briefly ([`ChannelDirectory`]). The bot joins a public channel it is not in before posting. Rate
//! limits are waited out when Slack's `Retry-After` fits the caller's patience, and passed on
//! otherwise. Every failure is a [`PostError`] with Slack's code and a sentence for a person.

mod channels;
mod error;
mod poster;

pub use channels::{ChannelDirectory, is_channel_id};
pub use error::PostError;
pub use poster::{FileUpload, Message, Poster, UPLOAD_TIMEOUT};
