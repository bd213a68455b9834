//! `users.admin.invite` (legacy tokens only, as today) and `admin.users.invite` (Enterprise Grid).

use serde_json::json;

use super::{ApiError, ApiResult, Ctx, Reply};
use crate::emulator::invites::{Invite, InviteApi, is_plausible_email};
use crate::emulator::tokens::{Grant, TokenKind};

pub fn legacy_invite(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller()?;
    if grant.kind != TokenKind::Legacy {
        return Err(ApiError::code("not_allowed_token_type"));
    }
    let team_id = grant
        .team_id
        .clone()
        .ok_or_else(|| ApiError::code("not_allowed_token_type"))?;
    let channel_ids = ctx.req.list("channels");
    invite(ctx, &grant, InviteApi::Legacy, team_id, channel_ids)
}

/// Slack's Admin API: a user token of an org-wide install on Enterprise Grid, made by an org admin
/// or owner, with `admin.users:write`.
pub fn admin_invite(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller()?;
    if grant.kind == TokenKind::Bot {
        return Err(ApiError::code("is_bot"));
    }
    let grant = ctx.caller_with_scope(&["admin.users:write"])?;
    let org_wide = grant.team_id.is_none() && grant.enterprise_id.is_some();
    if !org_wide {
        return Err(ApiError::code("feature_not_enabled"));
    }
    if !ctx
        .state
        .world
        .user(&grant.user_id)
        .is_some_and(|u| u.is_org_admin)
    {
        return Err(ApiError::code("failed_to_validate_caller"));
    }
    let team_id = ctx.argument("team_id")?;
    ctx.argument("email")?;
    let channel_ids = ctx.req.list("channel_ids");
    if channel_ids.is_empty() {
        return Err(ApiError::missing("channel_ids"));
    }
    if ctx.state.world.team(&team_id).is_none() || !ctx.teams_of(&grant).contains(&team_id) {
        return Err(ApiError::code("team_not_found"));
    }
    invite(ctx, &grant, InviteApi::Admin, team_id, channel_ids)
}

/// The checks both methods share, then the invitation is recorded.
fn invite(
    ctx: &mut Ctx<'_>,
    grant: &Grant,
    api: InviteApi,
    team_id: String,
    channel_ids: Vec<String>,
) -> ApiResult {
    let email = ctx.req.string("email").unwrap_or_default();
    if !is_plausible_email(&email) {
        return Err(ApiError::code("invalid_email"));
    }
    let world = &ctx.state.world;
    if world
        .user_by_email(&team_id, &email)
        .is_some_and(|u| !u.deleted)
    {
        return Err(ApiError::code("already_in_team"));
    }
    let already_invited = ctx
        .state
        .invites
        .iter()
        .any(|i| i.team_id == team_id && i.email.eq_ignore_ascii_case(&email));
    if already_invited {
        // The two methods name a repeated invitation differently.
        return Err(ApiError::code(match api {
            InviteApi::Legacy => "already_invited",
            InviteApi::Admin => "already_in_team_invited_user",
        }));
    }
    let unknown_channel = channel_ids.iter().any(|id| {
        world
            .channel(id)
            .is_none_or(|c| c.team_id != team_id || c.is_archived)
    });
    if unknown_channel {
        return Err(ApiError::code("channel_not_found"));
    }
    let at = ctx.state.now();
    ctx.state.invites.push(Invite {
        api,
        team_id,
        email,
        channel_ids,
        first_name: ctx.req.string("first_name"),
        invited_by: grant.user_id.clone(),
        at,
    });
    Ok(Reply::ok(json!({})))
}
