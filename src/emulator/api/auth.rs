//! `api.test`, `auth.test`, `auth.revoke` and `auth.teams.list`.

use serde_json::{Value, json};

use super::pages::page;
use super::{ApiError, ApiResult, Ctx, Reply, bot_id};

/// Echoes its arguments; `error=x` makes it fail with `x`, as on Slack.
pub fn api_test(ctx: &mut Ctx<'_>) -> ApiResult {
    if let Some(error) = ctx.req.string("error") {
        return Err(ApiError::Code(error));
    }
    Ok(Reply::ok(
        json!({ "args": Value::Object(ctx.req.params.clone()) }),
    ))
}

/// Who the token is, with the granted scopes in `x-oauth-scopes`.
pub fn test(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller()?;
    let world = &ctx.state.world;
    let user_name = world
        .user(&grant.user_id)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let (home_id, home_name, domain) =
        match (grant.team_id.as_deref(), grant.enterprise_id.as_deref()) {
            (Some(team_id), _) => {
                let team = world.team(team_id);
                (
                    team_id,
                    team.map(|t| t.name.clone()),
                    team.map(|t| t.domain.clone()),
                )
            }
            (None, Some(enterprise_id)) => {
                let enterprise = world.enterprise(enterprise_id);
                (
                    enterprise_id,
                    enterprise.map(|e| e.name.clone()),
                    enterprise.map(|e| e.domain.clone()),
                )
            }
            (None, None) => ("", None, None),
        };
    let mut body = json!({
        "url": format!("https://{}.slack.com/", domain.unwrap_or_default()),
        "team": home_name.unwrap_or_default(),
        "user": user_name,
        "team_id": home_id,
        "user_id": grant.user_id,
        "is_enterprise_install": grant.team_id.is_none(),
    });
    if let Some(fields) = body.as_object_mut() {
        if let Some(bot_id) = bot_id(&grant) {
            fields.insert("bot_id".into(), Value::String(bot_id.to_owned()));
        }
        if let Some(enterprise_id) = &grant.enterprise_id {
            fields.insert("enterprise_id".into(), Value::String(enterprise_id.clone()));
        }
    }
    Ok(Reply::ok(body).with_scopes_header(&grant.scopes))
}

/// Kills the calling token; with `test=true` only says it would.
pub fn revoke(ctx: &mut Ctx<'_>) -> ApiResult {
    ctx.caller()?;
    if ctx.req.flag("test") {
        return Ok(Reply::ok(json!({ "revoked": false })));
    }
    if let Some(token) = ctx.req.token.as_deref() {
        ctx.state.tokens.revoke(token);
    }
    Ok(Reply::ok(json!({ "revoked": true })))
}

/// The workspaces a token reaches: every workspace of the organisation for an org-wide install,
/// else the token's own.
pub fn teams_list(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller()?;
    let with_icon = ctx.req.flag("include_icon");
    let world = &ctx.state.world;
    let teams: Vec<Value> = ctx
        .teams_of(&grant)
        .iter()
        .filter_map(|id| world.team(id))
        .map(|team| {
            let mut entry = json!({ "id": team.id, "name": team.name });
            if let (true, Some(fields)) = (with_icon, entry.as_object_mut()) {
                fields.insert("icon".into(), json!({ "image_88": team.icon_url(88) }));
            }
            entry
        })
        .collect();
    let (teams, next_cursor) = page(ctx.req, teams, "teams")?;
    Ok(Reply::ok(json!({
        "teams": teams,
        "response_metadata": { "next_cursor": next_cursor },
    })))
}
