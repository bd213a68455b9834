//! Lobby: a self-hosted Slack app server. See DESIGN.md for the shape of it.
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod emulator;
pub mod error;
pub mod install;
pub mod middleware;
pub mod routes;
pub mod slack;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod vault;
