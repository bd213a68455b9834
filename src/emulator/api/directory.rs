//! Reading the workspace: `team.info`, `users.*` and `conversations.*`.

use serde_json::{Value, json};

use super::pages::page;
use super::{ApiError, ApiResult, Ctx, Reply, objects};
use crate::emulator::tokens::Grant;

pub fn team_info(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["team:read"])?;
    let teams = ctx.teams_of(&grant);
    let team_id = ctx
        .req
        .string("team")
        .or_else(|| grant.team_id.clone())
        .unwrap_or_default();
    if !teams.contains(&team_id) {
        return Err(ApiError::code("team_not_found"));
    }
    let world = &ctx.state.world;
    let team = world
        .team(&team_id)
        .ok_or_else(|| ApiError::code("team_not_found"))?;
    Ok(Reply::ok(json!({ "team": objects::team(world, team) })))
}

fn sees_emails(grant: &Grant) -> bool {
    grant.has_scope("users:read.email")
}

pub fn users_info(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["users:read"])?;
    let user_id = ctx.required("user", "user_not_found")?;
    let teams = ctx.teams_of(&grant);
    let user = ctx
        .state
        .world
        .user(&user_id)
        .filter(|u| teams.contains(&u.team_id) || u.team_id == grant.installed_in())
        .ok_or_else(|| ApiError::code("user_not_found"))?;
    let enterprise_id = ctx
        .state
        .world
        .team(&user.team_id)
        .and_then(|t| t.enterprise_id.as_deref());
    Ok(Reply::ok(
        json!({ "user": objects::user(user, sees_emails(&grant), enterprise_id) }),
    ))
}

/// The one workspace a listing is about: the token's, or for org installs the `team_id` parameter.
fn listed_team(ctx: &Ctx<'_>, grant: &Grant) -> Result<String, ApiError> {
    let teams = ctx.teams_of(grant);
    match (ctx.req.string("team_id"), &grant.team_id) {
        (Some(team_id), _) if teams.contains(&team_id) => Ok(team_id),
        (Some(_), _) => Err(ApiError::code("team_access_not_granted")),
        (None, Some(team_id)) => Ok(team_id.clone()),
        (None, None) => Err(ApiError::code("missing_argument")),
    }
}

pub fn users_list(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["users:read"])?;
    let team_id = listed_team(ctx, &grant)?;
    let with_email = sees_emails(&grant);
    let members: Vec<Value> = ctx
        .state
        .world
        .users
        .iter()
        .filter(|u| u.team_id == team_id)
        .map(|u| {
            let enterprise_id = ctx
                .state
                .world
                .team(&u.team_id)
                .and_then(|t| t.enterprise_id.as_deref());
            objects::user(u, with_email, enterprise_id)
        })
        .collect();
    let (members, next_cursor) = page(ctx.req, members, "users")?;
    Ok(Reply::ok(json!({
        "members": members,
        "cache_ts": ctx.state.now().unix_timestamp(),
        "response_metadata": { "next_cursor": next_cursor },
    })))
}

pub fn conversations_list(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["channels:read", "groups:read", "im:read", "mpim:read"])?;
    let team_id = listed_team(ctx, &grant)?;
    let mut types = ctx.req.list("types");
    if types.is_empty() {
        types.push("public_channel".into());
    }
    let public = types.iter().any(|t| t == "public_channel");
    let private = types.iter().any(|t| t == "private_channel");
    let exclude_archived = ctx.req.flag("exclude_archived");
    let viewer = grant.user_id.as_str();
    let channels: Vec<Value> = ctx
        .state
        .world
        .channels
        .iter()
        .filter(|c| c.team_id == team_id)
        .filter(|c| {
            if c.is_private {
                private && c.has_member(viewer)
            } else {
                public
            }
        })
        .filter(|c| !(exclude_archived && c.is_archived))
        .map(|c| objects::channel(c, viewer))
        .collect();
    let (channels, next_cursor) = page(ctx.req, channels, "channels")?;
    Ok(Reply::ok(
        json!({ "channels": channels, "response_metadata": { "next_cursor": next_cursor } }),
    ))
}

/// The scopes that let a token read channels of some type (Slack names the first as needed).
const CHANNEL_READ_SCOPES: [&str; 4] = ["channels:read", "groups:read", "im:read", "mpim:read"];

/// A channel the caller may read: public ones in its workspaces, private ones it is a member of.
/// Slack answers `channel_not_found` for a private channel the caller is not in, so it cannot
/// tell one from a channel that does not exist.
fn readable_channel<'w>(
    ctx: &'w Ctx<'_>,
    grant: &Grant,
) -> Result<&'w crate::emulator::world::Channel, ApiError> {
    let channel_id = ctx.required("channel", "channel_not_found")?;
    let teams = ctx.teams_of(grant);
    ctx.state
        .world
        .find_channel(&teams, &channel_id)
        .filter(|c| c.id == channel_id)
        .filter(|c| !c.is_private || c.has_member(&grant.user_id))
        .ok_or_else(|| ApiError::code("channel_not_found"))
}

pub fn conversations_info(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&CHANNEL_READ_SCOPES)?;
    let channel = readable_channel(ctx, &grant)?;
    Ok(Reply::ok(
        json!({ "channel": objects::channel(channel, &grant.user_id) }),
    ))
}

pub fn conversations_members(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&CHANNEL_READ_SCOPES)?;
    let members = readable_channel(ctx, &grant)?.members.clone();
    let (members, next_cursor) = page(ctx.req, members, "members")?;
    Ok(Reply::ok(json!({
        "members": members,
        "response_metadata": { "next_cursor": next_cursor },
    })))
}

pub fn users_lookup_by_email(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["users:read.email"])?;
    let email = ctx.argument("email")?;
    let world = &ctx.state.world;
    let user = ctx
        .teams_of(&grant)
        .iter()
        .find_map(|team| world.user_by_email(team, &email))
        .ok_or_else(|| ApiError::code("users_not_found"))?;
    let enterprise_id = world
        .team(&user.team_id)
        .and_then(|t| t.enterprise_id.as_deref());
    Ok(Reply::ok(
        json!({ "user": objects::user(user, true, enterprise_id) }),
    ))
}

pub fn conversations_join(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["channels:join", "channels:write"])?;
    let channel_id = ctx.required("channel", "channel_not_found")?;
    let teams = ctx.teams_of(&grant);
    let channel = ctx
        .state
        .world
        .find_channel(&teams, &channel_id)
        .filter(|c| c.id == channel_id)
        .ok_or_else(|| ApiError::code("channel_not_found"))?;
    if channel.is_archived {
        return Err(ApiError::code("is_archived"));
    }
    if channel.is_private {
        return Err(ApiError::code("method_not_supported_for_channel_type"));
    }
    let already = channel.has_member(&grant.user_id);
    ctx.state.world.join_channel(&channel_id, &grant.user_id);
    let channel = ctx
        .state
        .world
        .channel(&channel_id)
        .map(|c| objects::channel(c, &grant.user_id));
    let reply = Reply::ok(json!({ "channel": channel }));
    Ok(if already {
        reply.with_warnings(&["already_in_channel"])
    } else {
        reply
    })
}
