//! `chat.postMessage`, `chat.postEphemeral` and `chat.update`.

use serde_json::{Map, Value, json};

use super::{ApiError, ApiResult, Ctx, Reply, bot_id};
use crate::emulator::tokens::Grant;
use crate::emulator::world::APP_ID;

/// Slack truncates at 40,000 characters and refuses longer texts.
pub const MAX_TEXT_CHARS: usize = 40_000;

/// The id of a channel the caller may post in, found by id or name.
pub(super) fn postable_channel(
    ctx: &Ctx<'_>,
    grant: &Grant,
    id_or_name: &str,
) -> Result<String, ApiError> {
    let teams = ctx.teams_of(grant);
    let channel = ctx
        .state
        .world
        .find_channel(&teams, id_or_name)
        .ok_or_else(|| ApiError::code("channel_not_found"))?;
    if channel.is_archived {
        return Err(ApiError::code("is_archived"));
    }
    // Only members post, except that `chat:write.public` opens public channels to an app; Slack
    // hides private channels from non-members entirely, except to say they are not in them.
    let may_post = channel.has_member(&grant.user_id)
        || (!channel.is_private && grant.has_scope("chat:write.public"));
    if !may_post {
        return Err(ApiError::code("not_in_channel"));
    }
    Ok(channel.id.clone())
}

/// The message as Slack stores it: author fields depend on whether a bot or a person posted.
pub(super) fn new_message(ctx: &mut Ctx<'_>, grant: &Grant, text: &str) -> Map<String, Value> {
    let ts = ctx.state.next_message_ts();
    let mut message = Map::new();
    message.insert("type".into(), json!("message"));
    message.insert("text".into(), json!(text));
    message.insert("user".into(), json!(grant.user_id));
    message.insert("ts".into(), json!(ts));
    message.insert(
        "team".into(),
        json!(grant.team_id.as_deref().unwrap_or(grant.installed_in())),
    );
    if let Some(bot_id) = bot_id(grant) {
        message.insert("bot_id".into(), json!(bot_id));
        message.insert("app_id".into(), json!(APP_ID));
    }
    message
}

/// Text, blocks and attachments; at least one is needed and the text has a length limit.
fn content(ctx: &Ctx<'_>) -> Result<(String, Option<Value>, Option<Value>), ApiError> {
    let text = ctx.req.string("text").unwrap_or_default();
    let blocks = ctx
        .req
        .json("blocks")
        .filter(|b| b.as_array().is_some_and(|a| !a.is_empty()));
    let attachments = ctx
        .req
        .json("attachments")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()));
    if text.trim().is_empty() && blocks.is_none() && attachments.is_none() {
        return Err(ApiError::code("no_text"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::code("msg_too_long"));
    }
    Ok((text, blocks, attachments))
}

pub fn post_message(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["chat:write", "chat:write:bot", "chat:write:user"])?;
    let requested = ctx.required("channel", "channel_not_found")?;
    let channel_id = postable_channel(ctx, &grant, &requested)?;
    let (text, blocks, attachments) = content(ctx)?;
    let thread_ts = ctx.req.string("thread_ts");

    let mut message = new_message(ctx, &grant, &text);
    if let Some(blocks) = blocks {
        message.insert("blocks".into(), blocks);
    }
    if let Some(attachments) = attachments {
        message.insert("attachments".into(), attachments);
    }
    if let Some(thread_ts) = thread_ts {
        message.insert("thread_ts".into(), json!(thread_ts));
    }
    let ts = message.get("ts").cloned().unwrap_or(Value::Null);
    let message = Value::Object(message);
    if let Some(channel) = ctx.state.world.channel_mut(&channel_id) {
        channel.messages.push(message.clone());
    }
    Ok(Reply::ok(
        json!({ "channel": channel_id, "ts": ts, "message": message }),
    ))
}

/// A message only `user` sees, until they reload; Slack keeps no copy in the channel's history.
pub fn post_ephemeral(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["chat:write", "chat:write:bot", "chat:write:user"])?;
    let requested = ctx.required("channel", "channel_not_found")?;
    let user_id = ctx.required("user", "user_not_found")?;
    let channel_id = postable_channel(ctx, &grant, &requested)?;
    content(ctx)?;
    let world = &ctx.state.world;
    if world.user(&user_id).is_none_or(|u| u.deleted) {
        return Err(ApiError::code("user_not_found"));
    }
    if !world
        .channel(&channel_id)
        .is_some_and(|c| c.has_member(&user_id))
    {
        return Err(ApiError::code("user_not_in_channel"));
    }
    let message_ts = ctx.state.next_message_ts();
    Ok(Reply::ok(json!({ "message_ts": message_ts })))
}

pub fn update(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["chat:write", "chat:write:bot", "chat:write:user"])?;
    let requested = ctx.required("channel", "channel_not_found")?;
    let ts = ctx.required("ts", "message_not_found")?;
    let channel_id = postable_channel(ctx, &grant, &requested)?;
    let (text, blocks, _) = content(ctx)?;
    let edited_ts = ctx.state.next_message_ts();
    let channel = ctx
        .state
        .world
        .channel_mut(&channel_id)
        .ok_or_else(|| ApiError::code("channel_not_found"))?;
    let message = channel
        .messages
        .iter_mut()
        .find(|m| m["ts"] == ts.as_str())
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::code("message_not_found"))?;
    if message.get("user").and_then(Value::as_str) != Some(grant.user_id.as_str()) {
        return Err(ApiError::code("cant_update_message"));
    }
    message.insert("text".into(), json!(text));
    if let Some(blocks) = blocks {
        message.insert("blocks".into(), blocks);
    }
    message.insert(
        "edited".into(),
        json!({ "user": grant.user_id, "ts": edited_ts }),
    );
    let message = Value::Object(message.clone());
    Ok(Reply::ok(
        json!({ "channel": channel_id, "ts": ts, "text": text, "message": message }),
    ))
}
