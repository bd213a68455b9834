//! What the emulator saw: every Web API call, and every post to a response URL.

use std::fmt;

use serde_json::{Map, Value};
use time::OffsetDateTime;

/// One Web API call as Slack received it, and how it was answered.
#[derive(Clone)]
pub struct RecordedCall {
    pub method: String,
    /// Form fields, JSON body fields and query parameters, merged.
    pub params: Map<String, Value>,
    /// The bearer token, or the form `token` field.
    pub token: Option<String>,
    /// The client id from HTTP Basic auth, if the call used it.
    pub basic_client_id: Option<String>,
    pub status: u16,
    /// Slack's error code when the answer was `ok: false`.
    pub error: Option<String>,
    pub at: OffsetDateTime,
}

impl RecordedCall {
    /// A string parameter, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }
}

// Tokens and parameters (which can hold secrets and codes) stay out of logs: show only their names.
impl fmt::Debug for RecordedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedCall")
            .field("method", &self.method)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("basic_client_id", &self.basic_client_id)
            .field("status", &self.status)
            .field("error", &self.error)
            .field("at", &self.at)
            .finish()
    }
}

/// A JSON body an app posted to a response URL.
#[derive(Clone, Debug)]
pub struct ResponseUrlPost {
    /// The response URL's id (the last path segment).
    pub url_id: String,
    /// The channel the slash command or interaction came from.
    pub channel_id: Option<String>,
    pub body: Value,
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token_and_parameter_values() {
        let mut params = Map::new();
        params.insert("client_secret".into(), Value::String("hunter2".into()));
        let call = RecordedCall {
            method: "oauth.v2.access".into(),
            params,
            token: Some("xoxb-secret".into()),
            basic_client_id: None,
            status: 200,
            error: None,
            at: OffsetDateTime::UNIX_EPOCH,
        };
        let shown = format!("{call:?}");
        assert!(shown.contains("client_secret"));
        assert!(!shown.contains("hunter2") && !shown.contains("xoxb-secret"));
    }
}
