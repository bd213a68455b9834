//! Talking to Slack: the Web API client, OAuth, request signatures, mrkdwn and the app manifest.
pub mod client;
pub mod manifest;
pub mod methods;
pub mod mrkdwn;
pub mod oauth_client;
pub mod openid_keys;
pub mod payloads;
pub mod replay;
pub mod signature;
