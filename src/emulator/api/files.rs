//! Steps one and three of the external upload: `files.getUploadURLExternal` and `files.completeUploadExternal`.

use serde_json::{Value, json};

use super::chat::{new_message, postable_channel};
use super::{ApiError, ApiResult, Ctx, Reply};
use crate::emulator::random;
use crate::emulator::uploads::Upload;

pub fn get_upload_url(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["files:write"])?;
    let filename = ctx.required("filename", "invalid_arguments")?;
    let declared_length = ctx
        .req
        .string("length")
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| ApiError::code("invalid_arguments"))?;
    let file_id = format!("F0FILE{:05}", ctx.state.next_serial());
    let upload_key = random::alphanumeric(32);
    let upload_url = ctx
        .base_url
        .join(&format!("upload/v1/{upload_key}"))
        .map_err(|_| ApiError::code("internal_error"))?;
    ctx.state.uploads.push(Upload {
        file_id: file_id.clone(),
        filename,
        declared_length,
        bytes: None,
        title: None,
        channel_id: None,
        initial_comment: None,
        completed: false,
        uploaded_by: grant.user_id,
        upload_key,
    });
    Ok(Reply::ok(
        json!({ "upload_url": upload_url.as_str(), "file_id": file_id }),
    ))
}

pub fn complete_upload(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["files:write"])?;
    let requested: Vec<(String, Option<String>)> = ctx
        .req
        .json("files")
        .and_then(|files| files.as_array().cloned())
        .filter(|files| !files.is_empty())
        .ok_or_else(|| ApiError::code("invalid_arguments"))?
        .iter()
        .map(|f| {
            let id = f["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::code("invalid_arguments"))?;
            Ok((id, f["title"].as_str().map(str::to_owned)))
        })
        .collect::<Result<_, ApiError>>()?;
    let ready = |id: &str| {
        ctx.state.uploads.iter().any(|u| {
            u.file_id == id && u.bytes.is_some() && !u.completed && u.uploaded_by == grant.user_id
        })
    };
    if !requested.iter().all(|(id, _)| ready(id)) {
        return Err(ApiError::code("file_not_found"));
    }
    let channel_id = match ctx
        .req
        .string("channel_id")
        .or_else(|| ctx.req.list("channels").into_iter().next())
    {
        Some(channel) => Some(postable_channel(ctx, &grant, &channel)?),
        None => None,
    };
    let initial_comment = ctx.req.string("initial_comment");
    let now = ctx.state.now().unix_timestamp();

    let mut files = Vec::new();
    for (id, title) in requested {
        if let Some(upload) = ctx.state.uploads.iter_mut().find(|u| u.file_id == id) {
            upload.title = Some(title.unwrap_or_else(|| upload.filename.clone()));
            upload.channel_id = channel_id.clone();
            upload.initial_comment = initial_comment.clone();
            upload.completed = true;
            files.push(file_object(upload, now));
        }
    }
    if let Some(channel_id) = &channel_id {
        let mut message = new_message(ctx, &grant, initial_comment.as_deref().unwrap_or_default());
        message.insert("files".into(), Value::Array(files.clone()));
        message.insert("upload".into(), json!(true));
        if let Some(thread_ts) = ctx.req.string("thread_ts") {
            message.insert("thread_ts".into(), json!(thread_ts));
        }
        if let Some(channel) = ctx.state.world.channel_mut(channel_id) {
            channel.messages.push(Value::Object(message));
        }
    }
    Ok(Reply::ok(json!({ "files": files })))
}

fn file_object(upload: &Upload, created: i64) -> Value {
    json!({
        "id": upload.file_id,
        "created": created,
        "timestamp": created,
        "name": upload.filename,
        "title": upload.title,
        "mimetype": mimetype(&upload.filename),
        "user": upload.uploaded_by,
        "size": upload.bytes.as_ref().map_or(0, Vec::len),
        "is_external": false,
        "channels": upload.channel_id.iter().collect::<Vec<_>>(),
    })
}

fn mimetype(filename: &str) -> &'static str {
    match filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .as_deref()
    {
        Some("txt" | "log") => "text/plain",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}
