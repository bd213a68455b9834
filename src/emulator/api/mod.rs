//! The Web API under `api/{method}`: authentication, fault injection, recording, and the method table.

mod auth;
mod chat;
mod directory;
mod files;
mod invites;
mod oauth;
mod objects;
mod pages;
pub(crate) mod request;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};
use url::Url;

use super::Emulator;
use super::config::EmulatorConfig;
use super::faults::Fault;
use super::record::RecordedCall;
use super::state::State;
use super::tokens::{Grant, TokenKind};
use request::ApiRequest;

/// A successful answer's fields (besides `ok`), and the scopes header auth.test sends.
pub(crate) struct Reply {
    body: Map<String, Value>,
    oauth_scopes: Option<String>,
}

impl Reply {
    /// `{"ok": true, ...fields}`; `fields` must be a JSON object.
    pub fn ok(fields: Value) -> Self {
        let mut body = Map::new();
        body.insert("ok".into(), Value::Bool(true));
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        Self {
            body,
            oauth_scopes: None,
        }
    }

    /// Adds warnings to Slack's `warning` and `response_metadata.warnings`, beside any the method
    /// gave and any `next_cursor`.
    pub fn with_warnings(mut self, warnings: &[&str]) -> Self {
        if warnings.is_empty() {
            return self;
        }
        let metadata = self
            .body
            .entry("response_metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let mut all = Vec::new();
        if let Value::Object(metadata) = metadata {
            if let Some(Value::Array(given)) = metadata.get("warnings") {
                all.extend(given.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            all.extend(warnings.iter().map(|w| (*w).to_owned()));
            metadata.insert("warnings".into(), serde_json::json!(all));
        }
        self.body
            .insert("warning".into(), Value::String(all.join(",")));
        self
    }

    pub fn with_scopes_header(mut self, scopes: &[String]) -> Self {
        self.oauth_scopes = Some(scopes.join(","));
        self
    }
}

/// An application error: HTTP 200 with `ok: false`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ApiError {
    Code(String),
    MissingScope {
        needed: String,
        provided: String,
    },
    /// `invalid_arguments`, with Slack's `[ERROR] ...` lines in `response_metadata.messages`.
    InvalidArguments(Vec<String>),
    /// A method Slack does not have: the one error Slack answers with HTTP 404.
    UnknownMethod,
}

impl ApiError {
    pub fn code(code: &str) -> Self {
        Self::Code(code.to_owned())
    }

    /// `invalid_arguments` for a required argument that is missing, worded as Slack words it.
    pub fn missing(name: &str) -> Self {
        Self::InvalidArguments(vec![format!("[ERROR] missing required field: {name}")])
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::UnknownMethod => StatusCode::NOT_FOUND,
            _ => StatusCode::OK,
        }
    }

    fn body(&self) -> (String, Map<String, Value>) {
        let mut body = Map::new();
        body.insert("ok".into(), Value::Bool(false));
        let code = match self {
            Self::Code(code) => code.clone(),
            Self::MissingScope { needed, provided } => {
                body.insert("needed".into(), Value::String(needed.clone()));
                body.insert("provided".into(), Value::String(provided.clone()));
                "missing_scope".to_owned()
            }
            Self::InvalidArguments(messages) => {
                body.insert(
                    "response_metadata".into(),
                    serde_json::json!({ "messages": messages }),
                );
                "invalid_arguments".to_owned()
            }
            Self::UnknownMethod => "unknown_method".to_owned(),
        };
        body.insert("error".into(), Value::String(code.clone()));
        (code, body)
    }
}

/// The fields of a `json!({...})` literal.
pub(crate) fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

pub(crate) type ApiResult = Result<Reply, ApiError>;

/// What a method handler can see and change.
pub(crate) struct Ctx<'a> {
    pub state: &'a mut State,
    pub req: &'a ApiRequest,
    pub config: &'a EmulatorConfig,
    pub base_url: &'a Url,
}

impl Ctx<'_> {
    /// The grant behind the call's token, or why it is refused.
    pub fn caller(&self) -> Result<Grant, ApiError> {
        let token = self
            .req
            .token
            .as_deref()
            .ok_or_else(|| ApiError::code("not_authed"))?;
        let grant = self
            .state
            .tokens
            .check(token, self.state.now())
            .map_err(|refusal| ApiError::code(refusal.code()))?;
        if self
            .state
            .world
            .user(&grant.authed_user_id)
            .is_some_and(|u| u.deleted)
        {
            return Err(ApiError::code("account_inactive"));
        }
        Ok(grant.clone())
    }

    /// The caller, who must hold at least one of `scopes` (the first is reported as needed).
    pub fn caller_with_scope(&self, scopes: &[&str]) -> Result<Grant, ApiError> {
        let grant = self.caller()?;
        if scopes.is_empty() || scopes.iter().any(|scope| grant.has_scope(scope)) {
            Ok(grant)
        } else {
            Err(ApiError::MissingScope {
                needed: scopes.first().map(|s| (*s).to_owned()).unwrap_or_default(),
                provided: grant.scopes.join(","),
            })
        }
    }

    /// The workspaces the caller's token reaches (one team, or every team of an org install).
    pub fn teams_of(&self, grant: &Grant) -> Vec<String> {
        self.state.world.teams_covered_by(grant.installed_in())
    }

    /// A required string parameter, or `error`.
    pub fn required(&self, name: &str, error: &str) -> Result<String, ApiError> {
        self.req.string(name).ok_or_else(|| ApiError::code(error))
    }

    /// A required string parameter, or `invalid_arguments` naming it (Slack's newer methods).
    pub fn argument(&self, name: &str) -> Result<String, ApiError> {
        self.req.string(name).ok_or_else(|| ApiError::missing(name))
    }
}

type Method = fn(&mut Ctx<'_>) -> ApiResult;

fn method(name: &str) -> Option<Method> {
    Some(match name {
        "api.test" => auth::api_test,
        "auth.test" => auth::test,
        "auth.revoke" => auth::revoke,
        "oauth.v2.access" => oauth::v2_access,
        "openid.connect.token" => oauth::openid_token,
        "openid.connect.userInfo" => oauth::openid_user_info,
        "team.info" => directory::team_info,
        "users.info" => directory::users_info,
        "users.list" => directory::users_list,
        "conversations.list" => directory::conversations_list,
        "users.lookupByEmail" => directory::users_lookup_by_email,
        "conversations.info" => directory::conversations_info,
        "conversations.members" => directory::conversations_members,
        "conversations.join" => directory::conversations_join,
        "chat.postMessage" => chat::post_message,
        "chat.postEphemeral" => chat::post_ephemeral,
        "chat.update" => chat::update,
        "auth.teams.list" => auth::teams_list,
        "apps.uninstall" => oauth::apps_uninstall,
        "users.admin.invite" => invites::legacy_invite,
        "admin.users.invite" => invites::admin_invite,
        "files.getUploadURLExternal" => files::get_upload_url,
        "files.completeUploadExternal" => files::complete_upload,
        _ => return None,
    })
}

/// How a call was answered, before it becomes an HTTP response.
struct Outcome {
    status: StatusCode,
    body: Option<Map<String, Value>>,
    error: Option<String>,
    retry_after: Option<u64>,
    oauth_scopes: Option<String>,
}

impl Outcome {
    fn from_result(result: ApiResult) -> Self {
        match result {
            Ok(reply) => Self {
                status: StatusCode::OK,
                body: Some(reply.body),
                error: None,
                retry_after: None,
                oauth_scopes: reply.oauth_scopes,
            },
            Err(err) => {
                let (code, body) = err.body();
                Self {
                    status: err.status(),
                    body: Some(body),
                    error: Some(code),
                    retry_after: None,
                    oauth_scopes: None,
                }
            }
        }
    }

    fn from_fault(fault: Fault) -> Option<Self> {
        match fault {
            Fault::RateLimited { retry_after_secs } => {
                let (code, body) = ApiError::code("ratelimited").body();
                Some(Self {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    body: Some(body),
                    error: Some(code),
                    retry_after: Some(retry_after_secs),
                    oauth_scopes: None,
                })
            }
            Fault::Status(status) => Some(Self {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body: None,
                error: None,
                retry_after: None,
                oauth_scopes: None,
            }),
            Fault::Error(code) => Some(Self::from_result(Err(ApiError::Code(code)))),
            Fault::Slow(_) | Fault::Held(_) => None,
        }
    }

    fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        if let Some(scopes) = self.oauth_scopes {
            response.insert_header(("x-oauth-scopes", scopes));
        }
        match self.body {
            Some(body) => response.json(body),
            None => response.body(self.status.canonical_reason().unwrap_or("error")),
        }
    }
}

/// `GET|POST api/{method}`.
pub(crate) async fn handle(
    emulator: web::Data<Emulator>,
    method_name: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let method_name = method_name.into_inner();
    let request = ApiRequest::parse(&req, &body);
    let fault = emulator.lock().faults.take(&method_name);
    match &fault {
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::Held(gate)) => gate.pass().await,
        _ => {}
    }
    let faulted = fault.and_then(Outcome::from_fault);

    let mut state = emulator.lock();
    let outcome = faulted.unwrap_or_else(|| {
        let result = match (method(&method_name), request.malformed) {
            (None, _) => Err(ApiError::UnknownMethod),
            (Some(_), Some(code)) => Err(ApiError::code(code)),
            (Some(run), None) => {
                let mut ctx = Ctx {
                    state: &mut state,
                    req: &request,
                    config: emulator.config(),
                    base_url: emulator.base_url(),
                };
                run(&mut ctx)
            }
        };
        Outcome::from_result(result.map(|reply| reply.with_warnings(&request.warnings)))
    });
    let at = state.now();
    state.record_call(RecordedCall {
        method: method_name,
        params: request.params,
        token: request.token,
        basic_client_id: request.basic.map(|b| b.client_id),
        status: outcome.status.as_u16(),
        error: outcome.error.clone(),
        at,
    });
    drop(state);
    outcome.into_response()
}

/// The answer for a bot or user token's `bot_id`, which only bot tokens have.
fn bot_id(grant: &Grant) -> Option<&str> {
    match grant.kind {
        TokenKind::Bot => grant.bot_id.as_deref(),
        TokenKind::User | TokenKind::Legacy => None,
    }
}

#[cfg(test)]
mod tests;
