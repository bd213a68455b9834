//! `POST /api/v1/messages` and `POST /api/v1/files`: scripts post to their workspace's channels
//! with its API key. The key decides the workspace, so a key can only ever use its own
//! workspace's bot token.
//!
//! Slack's refusals are answered as `{"ok": false, "error": <Slack's code>, "message": …}` with a
//! fitting status (`channel_not_found` 404, `not_in_channel` 403, `ratelimited` 429 with
//! `Retry-After`…), so a script can branch on the same codes Slack documents.

use actix_multipart::{Field, Multipart};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiTeam, authenticate};
use crate::domain::TeamId;
use crate::error::AppError;
use crate::installation_tokens::{self as tokens, TokenError};
use crate::middleware::request_id;
use crate::posting::{FileUpload, Message, PostError, Poster};
use crate::state::AppState;

/// The largest file the API takes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// Text fields of the upload form: room for a 40,000-character comment in any script.
const MAX_TEXT_FIELD_BYTES: usize = 160 * 1024;

/// More parts than this is not a form a script would send.
const MAX_FORM_PARTS: usize = 16;

/// Multipart framing around the file, allowed on top of the file limit.
const FORM_OVERHEAD_BYTES: usize = 256 * 1024;

/// How long a request may wait for Slack's rate limits before answering `ratelimited`.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// A channel id, or a name with or without `#`.
    channel: String,
    text: Option<String>,
    blocks: Option<Value>,
    thread_ts: Option<String>,
}

/// `POST /api/v1/messages`: `{"channel", "text"?, "blocks"?, "thread_ts"?}` →
/// `{"ok": true, "channel", "ts"}`.
pub async fn post_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<MessageBody>,
) -> Result<HttpResponse, AppError> {
    let ApiTeam(team) = authenticate(&req, &state).await?;
    let body = body.into_inner();
    let message = Message {
        channel: body.channel,
        text: body.text,
        blocks: body.blocks,
        thread_ts: body.thread_ts,
    };
    let token = match bot_token(&state, &team).await? {
        Ok(token) => token,
        Err(e) => return Ok(refusal(&req, team.as_str(), &e)),
    };
    let posted = poster(&state, &token, team.as_str())
        .post_message(&message)
        .await;
    match posted {
        Ok(posted) => Ok(HttpResponse::Ok()
            .json(json!({ "ok": true, "channel": posted.channel, "ts": posted.ts }))),
        Err(e) => Ok(failed(&req, &state, &team, e).await),
    }
}

/// `POST /api/v1/files`: a multipart form with `file` (its filename is kept), `channel`, and
/// optionally `title`, `initial_comment` and `thread_ts` → `{"ok": true, "file": {"id", "title"},
/// "channel"}`.
pub async fn post_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    // Authenticated before a byte of the body is read.
    let ApiTeam(team) = authenticate(&req, &state).await?;
    if declared_length(&req).is_some_and(|n| n > MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES) {
        return Ok(refusal(&req, team.as_str(), &too_large()));
    }
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(e) => return Ok(refusal(&req, team.as_str(), &e)),
    };
    let token = match bot_token(&state, &team).await? {
        Ok(token) => token,
        Err(e) => return Ok(refusal(&req, team.as_str(), &e)),
    };
    let upload = FileUpload {
        channel: &form.channel,
        filename: &form.filename,
        length: form.bytes.len() as u64,
        title: form.title.as_deref(),
        initial_comment: form.initial_comment.as_deref(),
        thread_ts: form.thread_ts.as_deref(),
    };
    // The exact bytes received; `Bytes` clones share one buffer.
    let body = reqwest::Body::from(form.bytes.clone());
    let shared = poster(&state, &token, team.as_str())
        .post_file(upload, body)
        .await;
    match shared {
        Ok(file) => Ok(HttpResponse::Ok().json(json!({
            "ok": true,
            "file": { "id": file.id, "title": file.title },
        }))),
        Err(e) => Ok(failed(&req, &state, &team, e).await),
    }
}

fn poster<'a>(state: &'a AppState, token: &'a SecretString, team: &'a str) -> Poster<'a> {
    Poster {
        slack: &state.slack,
        token,
        directory: &state.channels,
        workspace: team,
        patience: PATIENCE,
    }
}

/// The workspace's bot token; a Slack refusal while refreshing it is a post error.
async fn bot_token(
    state: &AppState,
    team: &TeamId,
) -> Result<Result<SecretString, PostError>, AppError> {
    match tokens::bot_token(state, team).await {
        Ok(token) => Ok(Ok(token)),
        Err(TokenError::NotInstalled(_)) => Err(AppError::Forbidden(
            "The workspace of this API key is not installed.".into(),
        )),
        Err(TokenError::Refresh(e)) => Ok(Err(PostError::Slack(e))),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// A failed post: a dead token retires the installation; the caller gets the JSON refusal.
async fn failed(
    req: &HttpRequest,
    state: &AppState,
    team: &TeamId,
    error: PostError,
) -> HttpResponse {
    if let Some(slack) = error.slack_error() {
        tokens::note_failure(state, team, slack).await;
    }
    refusal(req, team.as_str(), &error)
}

/// The JSON error answer, in the shape of every other API error, with Slack's code.
fn refusal(req: &HttpRequest, team: &str, error: &PostError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    tracing::info!(team_id = %team, code = error.code(), status = status.as_u16(), "post refused");
    let mut res = HttpResponse::build(status);
    if let Some(wait) = error.retry_after() {
        res.insert_header((RETRY_AFTER, wait.as_secs().max(1).to_string()));
    }
    res.json(json!({
        "ok": false,
        "error": error.code(),
        "message": error.message(),
        "request_id": request_id(req).map(|id| id.to_string()).unwrap_or_default(),
    }))
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large() -> PostError {
    PostError::invalid(
        "file_too_large",
        format!(
            "The file is larger than {} MiB.",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ),
    )
}

/// The upload form, read whole: the file in memory within [`MAX_UPLOAD_BYTES`].
struct FileForm {
    channel: String,
    filename: String,
    bytes: Bytes,
    title: Option<String>,
    initial_comment: Option<String>,
    thread_ts: Option<String>,
}

async fn read_form(mut multipart: Multipart) -> Result<FileForm, PostError> {
    let mut channel = None;
    let mut file: Option<(String, Bytes)> = None;
    let mut title = None;
    let mut initial_comment = None;
    let mut thread_ts = None;
    let mut parts = 0;
    while let Some(field) = multipart.next().await {
        let field = field.map_err(unreadable)?;
        parts += 1;
        if parts > MAX_FORM_PARTS {
            return Err(PostError::invalid(
                "invalid_form",
                "The form has too many parts.",
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let filename = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(clean_filename)
                    .unwrap_or_else(|| "file".to_owned());
                let bytes = read_field(field, MAX_UPLOAD_BYTES, too_large).await?;
                file = Some((filename, bytes));
            }
            "channel" => channel = Some(read_text(field, &name).await?),
            "title" => title = Some(read_text(field, &name).await?),
            "initial_comment" | "comment" => initial_comment = Some(read_text(field, &name).await?),
            "thread_ts" => thread_ts = Some(read_text(field, &name).await?),
            other => {
                return Err(PostError::invalid(
                    "invalid_form",
                    format!(
                        "Unknown form field {:?}; send file, channel, title, initial_comment, thread_ts.",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    let (filename, bytes) =
        file.ok_or_else(|| PostError::invalid("no_file", "Send the file in a part named `file`."))?;
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(FileForm {
        channel: non_empty(channel).ok_or_else(|| {
            PostError::invalid(
                "channel_not_found",
                "Name a channel in the `channel` field.",
            )
        })?,
        filename,
        bytes,
        title: non_empty(title),
        initial_comment: non_empty(initial_comment),
        thread_ts: non_empty(thread_ts),
    })
}

async fn read_field(
    mut field: Field,
    limit: usize,
    too_long: impl Fn() -> PostError,
) -> Result<Bytes, PostError> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_long());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

async fn read_text(field: Field, name: &str) -> Result<String, PostError> {
    let too_long =
        || PostError::invalid("invalid_form", format!("The `{name}` field is too long."));
    let bytes = read_field(field, MAX_TEXT_FIELD_BYTES, too_long).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        PostError::invalid("invalid_form", format!("The `{name}` field is not UTF-8."))
    })
}

fn unreadable(e: actix_multipart::MultipartError) -> PostError {
    PostError::invalid(
        "invalid_form",
        format!("The multipart form could not be read: {e}."),
    )
}

/// The last path component, without control characters, at most 255 characters.
fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    match cleaned.trim() {
        "" | "." | ".." => "file".to_owned(),
        name => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_directories_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\runs\\run7.csv"), "run7.csv");
        assert_eq!(clean_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_filename(".."), "file");
        assert_eq!(clean_filename(""), "file");
        assert_eq!(clean_filename(&"x".repeat(300)).len(), 255);
    }
}
