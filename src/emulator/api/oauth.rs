//! The token exchanges: `oauth.v2.access` (install and refresh), `openid.connect.token` and `.userInfo`;
//! and `apps.uninstall`, which undoes an install.

use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::objects::{enterprise_ref, team_ref};
use super::{ApiError, ApiResult, Ctx, Reply, fields};
use crate::emulator::codes::{Approval, Flow};
use crate::emulator::id_token::{self, IdTokenFlaw};
use crate::emulator::tokens::{Grant, TokenKind};
use crate::emulator::world::APP_ID;

/// The client must prove itself by HTTP Basic auth or by form fields.
fn authenticate_client(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let (client_id, secret) = match &ctx.req.basic {
        Some(basic) => (
            Some(basic.client_id.clone()),
            Some(basic.client_secret.expose_secret().to_owned()),
        ),
        None => (ctx.req.string("client_id"), ctx.req.string("client_secret")),
    };
    if client_id.as_deref() != Some(ctx.config.client_id.as_str()) {
        return Err(ApiError::code("invalid_client_id"));
    }
    let expected = ctx.config.client_secret.expose_secret().as_bytes();
    match secret {
        Some(secret) if bool::from(secret.as_bytes().ct_eq(expected)) => Ok(()),
        _ => Err(ApiError::code("bad_client_secret")),
    }
}

fn redeem_code(ctx: &mut Ctx<'_>, is_flow: fn(&Flow) -> bool) -> Result<Approval, ApiError> {
    let code = ctx.required("code", "invalid_code")?;
    let redirect_uri = ctx.req.string("redirect_uri");
    let now = ctx.state.now();
    ctx.state
        .codes
        .redeem(
            &code,
            is_flow,
            &ctx.config.client_id,
            redirect_uri.as_deref(),
            now,
        )
        .map_err(|refusal| ApiError::code(refusal.code()))
}

/// Access token plus, with rotation on, its `refresh_token` and `expires_in`.
fn issue(ctx: &mut Ctx<'_>, grant: Grant) -> Map<String, Value> {
    let mut issued = Map::new();
    if ctx.config.token_rotation {
        let lifetime = ctx.config.token_lifetime;
        let expires_at = ctx.state.now() + lifetime;
        let access = ctx.state.tokens.mint(grant.clone(), Some(expires_at));
        issued.insert("access_token".into(), Value::String(access));
        issued.insert(
            "refresh_token".into(),
            Value::String(ctx.state.tokens.mint_refresh(grant)),
        );
        issued.insert("expires_in".into(), Value::from(lifetime.as_secs()));
    } else {
        issued.insert(
            "access_token".into(),
            Value::String(ctx.state.tokens.mint(grant, None)),
        );
    }
    issued
}

/// `oauth.v2.access`: exchanges an install code, or (`grant_type=refresh_token`) a refresh token.
pub fn v2_access(ctx: &mut Ctx<'_>) -> ApiResult {
    authenticate_client(ctx)?;
    if ctx.req.string("grant_type").as_deref() == Some("refresh_token") {
        return refresh(ctx);
    }
    let approval = redeem_code(ctx, |flow| *flow == Flow::Install)?;
    let installed_in = approval
        .team_id
        .clone()
        .or(approval.enterprise_id.clone())
        .unwrap_or_default();
    let world = &ctx.state.world;
    let mut body = fields(json!({
        "app_id": APP_ID,
        "team": team_ref(world, approval.team_id.as_deref()),
        "enterprise": enterprise_ref(world, approval.enterprise_id.as_deref()),
        "is_enterprise_install": approval.team_id.is_none(),
    }));

    if !approval.scopes.is_empty() {
        let bot = ctx.state.world.ensure_app_bot(&installed_in);
        let grant = Grant {
            kind: TokenKind::Bot,
            team_id: approval.team_id.clone(),
            enterprise_id: approval.enterprise_id.clone(),
            user_id: bot.user_id.clone(),
            bot_id: Some(bot.bot_id),
            authed_user_id: approval.user_id.clone(),
            scopes: approval.scopes.clone(),
        };
        body.extend(issue(ctx, grant));
        body.insert("token_type".into(), json!("bot"));
        body.insert("scope".into(), json!(approval.scopes.join(",")));
        body.insert("bot_user_id".into(), json!(bot.user_id));
    }
    let mut authed_user = Map::new();
    authed_user.insert("id".into(), json!(approval.user_id));
    if !approval.user_scopes.is_empty() {
        let grant = Grant {
            kind: TokenKind::User,
            team_id: approval.team_id.clone(),
            enterprise_id: approval.enterprise_id.clone(),
            user_id: approval.user_id.clone(),
            bot_id: None,
            authed_user_id: approval.user_id.clone(),
            scopes: approval.user_scopes.clone(),
        };
        authed_user.insert("scope".into(), json!(approval.user_scopes.join(",")));
        authed_user.extend(issue(ctx, grant));
        authed_user.insert("token_type".into(), json!("user"));
    }
    body.insert("authed_user".into(), Value::Object(authed_user));
    Ok(Reply::ok(Value::Object(body)))
}

/// A refresh token renews the grant it was issued with, once; the answer carries a new refresh token.
fn refresh(ctx: &mut Ctx<'_>) -> ApiResult {
    let refresh_token = ctx.required("refresh_token", "invalid_refresh_token")?;
    let grant = ctx
        .state
        .tokens
        .redeem_refresh(&refresh_token)
        .ok_or_else(|| ApiError::code("invalid_refresh_token"))?;
    let world = &ctx.state.world;
    let mut body = fields(json!({
        "app_id": APP_ID,
        "authed_user": { "id": grant.authed_user_id },
        "scope": grant.scopes.join(","),
        "team": team_ref(world, grant.team_id.as_deref()),
        "enterprise": enterprise_ref(world, grant.enterprise_id.as_deref()),
        "is_enterprise_install": grant.team_id.is_none(),
    }));
    match grant.kind {
        TokenKind::Bot => {
            body.insert("token_type".into(), json!("bot"));
            body.insert("bot_user_id".into(), json!(grant.user_id));
        }
        TokenKind::User | TokenKind::Legacy => {
            body.insert("token_type".into(), json!("user"));
        }
    }
    let lifetime = ctx.config.token_lifetime;
    let expires_at = ctx.state.now() + lifetime;
    body.insert(
        "access_token".into(),
        json!(ctx.state.tokens.mint(grant.clone(), Some(expires_at))),
    );
    body.insert(
        "refresh_token".into(),
        json!(ctx.state.tokens.mint_refresh(grant)),
    );
    body.insert("expires_in".into(), json!(lifetime.as_secs()));
    Ok(Reply::ok(Value::Object(body)))
}

/// `openid.connect.token`: a Sign in with Slack code becomes a user token and a signed `id_token`.
pub fn openid_token(ctx: &mut Ctx<'_>) -> ApiResult {
    authenticate_client(ctx)?;
    let approval = redeem_code(ctx, |flow| matches!(flow, Flow::OpenId { .. }))?;
    let nonce = match &approval.flow {
        Flow::OpenId { nonce } => nonce.clone(),
        Flow::Install => None,
    };
    let grant = Grant {
        kind: TokenKind::User,
        team_id: approval.team_id.clone(),
        enterprise_id: approval.enterprise_id.clone(),
        user_id: approval.user_id.clone(),
        bot_id: None,
        authed_user_id: approval.user_id.clone(),
        scopes: approval.scopes.clone(),
    };
    let claims = identity_claims(ctx, &grant);
    let flaw = ctx.state.id_token_flaw.take();
    let now = ctx.state.now();
    let id_token =
        id_token::sign(&id_token_claims(ctx, claims, nonce, now, flaw), flaw).map_err(|e| {
            tracing::error!(error = %e, "the emulator could not sign an id_token");
            ApiError::code("internal_error")
        })?;
    let mut body = issue(ctx, grant);
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("id_token".into(), json!(id_token));
    Ok(Reply::ok(Value::Object(body)))
}

/// `openid.connect.userInfo`: who signed in, with the claims the granted scopes allow.
pub fn openid_user_info(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller_with_scope(&["openid"])?;
    Ok(Reply::ok(Value::Object(identity_claims(ctx, &grant))))
}

/// The identity claims shared by `userInfo` and the `id_token`; email and profile only with their scopes.
fn identity_claims(ctx: &Ctx<'_>, grant: &Grant) -> Map<String, Value> {
    let world = &ctx.state.world;
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(grant.user_id));
    claims.insert("https://slack.com/user_id".into(), json!(grant.user_id));
    claims.insert("https://slack.com/team_id".into(), json!(grant.team_id));
    // Grid users also carry their organisation.
    if let Some(enterprise) = grant
        .team_id
        .as_deref()
        .and_then(|id| world.team(id))
        .and_then(|t| t.enterprise_id.as_deref())
        .and_then(|id| world.enterprise(id))
    {
        claims.insert(
            "https://slack.com/enterprise_id".into(),
            json!(enterprise.id),
        );
        claims.insert(
            "https://slack.com/enterprise_name".into(),
            json!(enterprise.name),
        );
    }
    let user = world.user(&grant.user_id);
    if let (true, Some(email)) = (
        grant.has_scope("email"),
        user.and_then(|u| u.email.as_ref()),
    ) {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(true));
        claims.insert("date_email_verified".into(), json!(1_600_000_000));
    }
    if let (true, Some(user)) = (grant.has_scope("profile"), user) {
        claims.insert("name".into(), json!(user.real_name));
        claims.insert("picture".into(), json!(user.image_url(512)));
        claims.insert("given_name".into(), json!(user.real_name));
        claims.insert("family_name".into(), json!(""));
        claims.insert("locale".into(), json!("en-US"));
        if let Some(team) = grant.team_id.as_deref().and_then(|id| world.team(id)) {
            claims.insert("https://slack.com/team_name".into(), json!(team.name));
            claims.insert("https://slack.com/team_domain".into(), json!(team.domain));
            claims.insert(
                "https://slack.com/team_image_230".into(),
                json!(team.icon_url(230)),
            );
        }
        claims.insert(
            "https://slack.com/user_image_192".into(),
            json!(user.image_url(192)),
        );
    }
    claims
}

fn id_token_claims(
    ctx: &Ctx<'_>,
    mut claims: Map<String, Value>,
    nonce: Option<String>,
    now: OffsetDateTime,
    flaw: Option<IdTokenFlaw>,
) -> Map<String, Value> {
    let iat = match flaw {
        Some(IdTokenFlaw::Expired) => now.unix_timestamp() - 2 * 3600,
        _ => now.unix_timestamp(),
    };
    let issuer = match flaw {
        Some(IdTokenFlaw::WrongIssuer) => "https://slack.example.net",
        _ => id_token::ISSUER,
    };
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(ctx.config.client_id));
    claims.insert("iat".into(), json!(iat));
    claims.insert("auth_time".into(), json!(iat));
    claims.insert("exp".into(), json!(iat + 3600));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims
}

/// `apps.uninstall`: the app's credentials and a token of the installation; every token of that
/// installation stops working, as when an admin removes the app.
pub fn apps_uninstall(ctx: &mut Ctx<'_>) -> ApiResult {
    let grant = ctx.caller()?;
    authenticate_client(ctx)?;
    let installed_in = grant.installed_in().to_owned();
    ctx.state.tokens.revoke_installation(&installed_in);
    Ok(Reply::ok(json!({})))
}
