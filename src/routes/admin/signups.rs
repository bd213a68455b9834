//! `POST /admin/communities/{id}/signups`: how a community takes sign-ups — confirmed addresses,
//! the per-client limit per 30 minutes, a polite mail on denial — and the shared invite link's
//! expiry as Slack set it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::extract::AdminForm;
use super::layout::see_other;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// Slack's shared invite links last 30 days unless made permanent.
const LINK_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

/// The most sign-ups one client address may send per 30 minutes (a meetup shares one Wi-Fi).
pub const MAX_SIGNUPS_PER_30_MINUTES: i64 = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupsForm {
    confirm_addresses: Option<String>,
    deny_mail: Option<String>,
    signups_per_30_minutes: String,
    /// `keep`, `30` (days from now) or `never`.
    invite_link_expiry: String,
}

pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: AdminForm<SignupsForm>,
) -> Result<HttpResponse, AppError> {
    let admin = &form.admin;
    let community = db::communities::get(&state.db, id.into_inner())
        .await?
        .filter(|c| admin.manages(&c.installation_id))
        .ok_or(AppError::NotFound)?;
    let fields = &form.fields;
    let limit: i64 = fields
        .signups_per_30_minutes
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_SIGNUPS_PER_30_MINUTES).contains(n))
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "Sign-ups per 30 minutes must be a whole number from 1 to {MAX_SIGNUPS_PER_30_MINUTES}."
            ))
        })?;
    let expiry = match fields.invite_link_expiry.as_str() {
        "" | "keep" => None,
        "30" => Some(Some(db::now() + LINK_LIFETIME_SECS)),
        "never" => Some(None),
        _ => {
            return Err(AppError::bad_request(
                "The link expires in 30 days or never.",
            ));
        }
    };
    let mut tx = db::begin_write(&state.db).await?;
    db::communities::set_signup_rules(
        &mut *tx,
        community.id,
        fields.confirm_addresses.is_some(),
        limit,
    )
    .await?;
    db::communities::set_deny_mail(&mut *tx, community.id, fields.deny_mail.is_some()).await?;
    if let Some(expires_at) = expiry {
        db::communities::set_invite_link_expiry(&mut *tx, community.id, expires_at).await?;
    }
    db::audit::record(
        &mut *tx,
        Some(&community.installation_id),
        admin.actor(),
        "community.signups_updated",
        &community.slug,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/communities/{}?notice=saved",
        community.id
    )))
}
