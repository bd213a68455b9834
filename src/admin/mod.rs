//! The admin dashboard's logic, apart from HTTP: sessions and their CSRF tokens, Sign in with
//! Slack, the settings form of a community, removing an installation, the funnel chart, names for
//! Slack ids and what needs an admin's attention.

pub mod attention;
pub mod community_form;
pub mod display;
pub mod funnel_chart;
pub mod id_token;
pub mod login;
pub mod names;
pub mod removal;
pub mod roles;
pub mod session;

pub use session::Admin;
