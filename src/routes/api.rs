//! The JSON API for other systems (a CMS registering users, CI jobs), authenticated by a
//! workspace's API key as a Bearer token.

use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::invites::Submitted;
use crate::invites::intake::{IntakeRefusal, Signup, Via, intake};
use crate::state::AppState;
use crate::{api_keys, db};

/// The team whose API key the request carries.
pub struct ApiTeam(pub crate::domain::TeamId);

pub async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<ApiTeam, AppError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| SecretString::from(k.trim().to_owned()))
        .ok_or_else(|| {
            AppError::Unauthorized("Send an API key as `Authorization: Bearer <key>`.".into())
        })?;
    let team = api_keys::authenticate(&state.db, &presented)
        .await?
        .ok_or_else(|| {
            AppError::Unauthorized("The API key is not valid, or it was revoked.".into())
        })?;
    let active = state
        .installations
        .get(&state.db, &team)
        .await?
        .is_some_and(|i| i.is_active());
    crate::middleware::record_team_id(team.as_str());
    if !active {
        return Err(AppError::Forbidden(
            "The workspace of this API key is not installed.".into(),
        ));
    }
    Ok(ApiTeam(team))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// The community's slug.
    community: String,
    email: String,
    #[serde(default)]
    name: String,
    /// The caller already verified this address itself: no confirmation mail.
    #[serde(default)]
    verified: bool,
}

/// `POST /api/v1/invites`: the join form's checks (minus the browser-only ones), answered in JSON.
pub async fn create_invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, AppError> {
    let ApiTeam(team) = authenticate(&req, &state).await?;
    let body = body.into_inner();
    // Another workspace's community is as unknown as a missing one.
    let community = db::communities::by_slug(&state.db, &body.community)
        .await?
        .filter(|c| c.installation_id == team)
        .ok_or(AppError::NotFound)?;
    let taken = intake(
        &state,
        Signup {
            community: &community,
            email: &body.email,
            name: &body.name,
            // An API client may pass on its visitor's language.
            lang: Lang::choose(
                None,
                req.headers()
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            ),
            via: Via::Api {
                verified: body.verified,
            },
        },
    )
    .await;
    let submitted = match taken {
        Ok(submitted) => submitted,
        Err(IntakeRefusal::Submit(e)) => return Err(e.into()),
        // The same sentence the join form shows for the same address.
        Err(refusal) => return Err(AppError::BadRequest(refusal.to_string())),
    };
    let (status, id) = match submitted {
        Submitted::Queued { id } => ("queued", id),
        Submitted::Pending { id } => ("pending", id),
        Submitted::Link { id, .. } => ("link_shown", id),
        Submitted::Confirming { id } => ("unconfirmed", id),
        Submitted::LinkMailed { id } => ("queued", id),
        Submitted::AlreadyOpen => {
            return Err(AppError::Conflict(
                "This address already has an open request in this community.".into(),
            ));
        }
    };
    Ok(HttpResponse::build(StatusCode::ACCEPTED)
        .json(json!({ "ok": true, "id": id, "status": status })))
}
