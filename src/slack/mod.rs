//! Talking to Slack: the Web API client and request signatures.
pub mod client;
pub mod signature;
