//! Lobby: a self-hosted Slack app server.
pub mod emulator;
pub mod slack;
pub mod vault;
