//! Reading a Web API call the way Slack does: form, JSON or query parameters, and the token.

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::emulator::multipart;

/// Client credentials sent with HTTP Basic auth.
pub(crate) struct BasicCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// One Web API call's inputs.
pub(crate) struct ApiRequest {
    /// Query, form and JSON parameters merged (body wins); the `token` parameter is moved to `token`.
    pub params: Map<String, Value>,
    pub token: Option<String>,
    pub basic: Option<BasicCredentials>,
    /// Set when the body could not be read, as Slack's error code.
    pub malformed: Option<&'static str>,
    /// Slack's warnings about how the call was made (e.g. `missing_charset`), sent back on success.
    pub warnings: Vec<&'static str>,
}

impl ApiRequest {
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Self {
        let mut params = Map::new();
        let mut malformed = None;
        let mut warnings = Vec::new();
        merge_form(&mut params, req.query_string().as_bytes());
        let raw_content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_start();
        // Media types are case-insensitive; a multipart boundary is not, so it is read from the raw value.
        let content_type = raw_content_type.to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            // Slack takes an empty JSON body as no arguments: SDKs send argument-less calls that way.
            if !body.iter().all(u8::is_ascii_whitespace) {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(fields)) => params.extend(fields),
                    _ => malformed = Some("invalid_json"),
                }
            }
            if !content_type.contains("charset") {
                warnings.push("missing_charset");
            }
        } else if content_type.starts_with("multipart/form-data") {
            match multipart::fields(raw_content_type, body) {
                Some(fields) => params.extend(
                    fields
                        .into_iter()
                        .map(|(name, value)| (name, Value::String(value))),
                ),
                None => malformed = Some("invalid_form_data"),
            }
        } else if body.is_empty() {
            // Nothing to read: a GET, or a POST whose arguments are all in the query string.
        } else if content_type.is_empty() {
            malformed = Some("missing_post_type");
        } else if !(content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.starts_with("text/plain"))
        {
            malformed = Some("invalid_post_type");
        } else if !merge_form(&mut params, body) {
            malformed = Some("invalid_form_data");
        }

        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let bearer = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        let basic = authorization
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(decode_basic);
        let form_token = match params.remove("token") {
            Some(Value::String(token)) if !token.is_empty() => Some(token),
            _ => None,
        };
        Self {
            params,
            token: bearer.or(form_token),
            basic,
            malformed,
            warnings,
        }
    }

    /// A non-empty parameter as text (numbers and booleans included, as Slack coerces them).
    pub fn string(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A list parameter: a comma-separated string, a JSON array of strings, or a JSON array sent
    /// as form text (the Node SDK sends arrays that way).
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.params.get(name) {
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                serde_json::from_str::<Vec<String>>(s).unwrap_or_default()
            }
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A boolean parameter (`true`, `1`, or JSON true).
    pub fn flag(&self, name: &str) -> bool {
        match self.params.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        }
    }

    /// A parameter that may be JSON text (form) or already JSON (JSON body), e.g. `blocks` or `files`.
    pub fn json(&self, name: &str) -> Option<Value> {
        match self.params.get(name)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    }
}

/// Adds urlencoded pairs; false if the bytes are not urlencoded text.
fn merge_form(params: &mut Map<String, Value>, bytes: &[u8]) -> bool {
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) {
        Ok(pairs) => {
            params.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
            true
        }
        Err(_) => false,
    }
}

fn decode_basic(encoded: &str) -> Option<BasicCredentials> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (client_id, client_secret) = decoded.split_once(':')?;
    Some(BasicCredentials {
        client_id: client_id.to_owned(),
        client_secret: SecretString::from(client_secret),
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_form_call_yields_its_fields_and_form_token() {
        let req = TestRequest::post()
            .uri("/api/chat.postMessage?as_user=true")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let call = ApiRequest::parse(&req, b"token=xoxb-1&channel=C1&text=hi+there");
        assert_eq!(call.token.as_deref(), Some("xoxb-1"));
        assert_eq!(call.string("text").as_deref(), Some("hi there"));
        assert!(call.flag("as_user"));
        assert!(!call.params.contains_key("token"));
    }

    #[test]
    fn a_json_call_uses_the_bearer_token_and_keeps_json_values() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
            .insert_header((header::AUTHORIZATION, "Bearer xoxp-2"))
            .to_http_request();
        let call = ApiRequest::parse(&req, br#"{"channel_ids":["C1","C2"],"limit":5}"#);
        assert_eq!(call.token.as_deref(), Some("xoxp-2"));
        assert_eq!(call.list("channel_ids"), vec!["C1", "C2"]);
        assert_eq!(call.string("limit").as_deref(), Some("5"));
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let form = ApiRequest::parse(&req, b"channel_ids=%5B%22C1%22%2C%22C2%22%5D");
        assert_eq!(form.list("channel_ids"), vec!["C1", "C2"]);
    }

    #[test]
    fn broken_json_is_reported_not_panicked_on() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request();
        assert_eq!(
            ApiRequest::parse(&req, b"{nope").malformed,
            Some("invalid_json")
        );
    }

    #[test]
    fn an_empty_json_body_means_no_arguments() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json;charset=utf-8"))
            .insert_header((header::AUTHORIZATION, "Bearer xoxb-3"))
            .to_http_request();
        let call = ApiRequest::parse(&req, b"");
        assert_eq!(call.malformed, None);
        assert!(call.params.is_empty() && call.warnings.is_empty());
        assert_eq!(call.token.as_deref(), Some("xoxb-3"));
    }

    #[test]
    fn json_without_a_charset_is_taken_with_slacks_warning() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request();
        let call = ApiRequest::parse(&req, br#"{"channel":"C1"}"#);
        assert_eq!(call.string("channel").as_deref(), Some("C1"));
        assert_eq!(call.warnings, vec!["missing_charset"]);
    }

    #[test]
    fn a_multipart_form_yields_its_text_fields() {
        let req = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "multipart/form-data; boundary=AbC"))
            .to_http_request();
        let body = b"--AbC\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nxoxb-4\r\n\
--AbC\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC1\r\n--AbC--\r\n";
        let call = ApiRequest::parse(&req, body);
        assert_eq!(call.malformed, None);
        assert_eq!(call.token.as_deref(), Some("xoxb-4"));
        assert_eq!(call.string("channel").as_deref(), Some("C1"));
    }

    #[test]
    fn a_body_slack_cannot_read_is_named_as_slack_names_it() {
        let bare = TestRequest::post().to_http_request();
        assert_eq!(
            ApiRequest::parse(&bare, b"a=1").malformed,
            Some("missing_post_type")
        );
        let xml = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/xml"))
            .to_http_request();
        assert_eq!(
            ApiRequest::parse(&xml, b"<a/>").malformed,
            Some("invalid_post_type")
        );
        let query_only = TestRequest::post()
            .uri("/api/users.info?user=U1")
            .to_http_request();
        let call = ApiRequest::parse(&query_only, b"");
        assert_eq!(call.malformed, None);
        assert_eq!(call.string("user").as_deref(), Some("U1"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let req = TestRequest::post()
            .insert_header((
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode("id:s3cret")),
            ))
            .to_http_request();
        let basic = ApiRequest::parse(&req, b"")
            .basic
            .expect("basic credentials");
        assert_eq!(basic.client_id, "id");
        assert_eq!(basic.client_secret.expose_secret(), "s3cret");
    }
}
