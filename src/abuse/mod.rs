//! Abuse control for the public join form: who the client is, how often it may try, which
//! email domains are welcome, whether a person (not a script) filled in the form, and captcha.
pub mod captcha;
pub mod client_ip;
pub mod disposable;
pub mod domains;
pub mod form_token;
pub mod join_limits;
pub mod rate_limit;
pub mod shared_limits;

pub use client_ip::client_ip_of;
pub use form_token::{FormToken, FormTokenError};
pub use join_limits::JoinLimits;
pub use rate_limit::RateLimiter;
