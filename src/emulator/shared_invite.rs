//! Shared invite links: `join/{team_id}` is the emulator's `https://join.slack.com/t/…` link.
//! Opening it shows a sign-up page; sending it makes the person a member of the workspace and
//! sends the app a signed `team_join` event, as Slack does when someone joins through a link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::html::{bad_request, render};
use super::invites::is_plausible_email;
use super::{Emulator, User};

#[derive(Template)]
#[template(path = "emulator/shared_invite.html")]
struct JoinPage {
    team_name: String,
    team_id: String,
    /// Set once the person joined.
    joined: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct JoinForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

fn team_name(emulator: &Emulator, team_id: &str) -> Option<String> {
    emulator.lock().world.team(team_id).map(|t| t.name.clone())
}

/// `GET join/{team_id}`
pub(crate) async fn page(emulator: web::Data<Emulator>, team: web::Path<String>) -> HttpResponse {
    let team_id = team.into_inner();
    let Some(team_name) = team_name(&emulator, &team_id) else {
        return bad_request("This invite link is invalid", "No such workspace.");
    };
    render(
        &JoinPage {
            team_name,
            team_id,
            joined: None,
        },
        StatusCode::OK,
    )
}

/// `POST join/{team_id}`: the person joins; the app hears `team_join`.
pub(crate) async fn join(
    emulator: web::Data<Emulator>,
    team: web::Path<String>,
    form: web::Form<JoinForm>,
) -> HttpResponse {
    let team_id = team.into_inner();
    let Some(team_name) = team_name(&emulator, &team_id) else {
        return bad_request("This invite link is invalid", "No such workspace.");
    };
    let email = form.email.trim().to_owned();
    if !is_plausible_email(&email) {
        return bad_request(
            "That is not an email address",
            "Go back and check the address.",
        );
    }
    let user = {
        let mut state = emulator.lock();
        if state.world.user_by_email(&team_id, &email).is_some() {
            return bad_request(
                "Already a member",
                "This address already belongs to a member.",
            );
        }
        let n = state.next_serial();
        let name = Some(form.name.trim())
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| email.split('@').next().unwrap_or("member").to_owned());
        let user = User::member(&format!("U0JOIN{n:04}"), &team_id, &name, &email);
        state.world.users.push(user.clone());
        user
    };
    let event = json!({
        "type": "team_join",
        "user": {
            "id": user.id,
            "team_id": team_id,
            "name": user.name,
            "real_name": user.real_name,
            "profile": { "email": email, "real_name": user.real_name },
        },
    });
    if let Err(e) = emulator.send_event(&team_id, event).await {
        tracing::warn!(error = %e, "the emulator could not send team_join to the app");
    }
    render(
        &JoinPage {
            team_name,
            team_id,
            joined: Some(user.real_name),
        },
        StatusCode::OK,
    )
}
