//! The emulator's home page: its world at a glance, and a form to send the app a slash command.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::html::render;
use super::{Emulator, SlashCommand};

const RECENT_MESSAGES: usize = 15;
const RECENT_CALLS: usize = 25;
/// The named people of each workspace come first; hundreds of filler members would drown them.
const PEOPLE_PER_TEAM: usize = 8;
/// How much of the app's answer the page shows.
const ANSWER_PREVIEW_CHARS: usize = 300;

#[derive(Template)]
#[template(path = "emulator/index.html")]
struct IndexPage {
    app_url: Option<String>,
    teams: Vec<TeamRow>,
    messages: Vec<MessageRow>,
    calls: Vec<CallRow>,
    people: Vec<SelectOption>,
    channels: Vec<SelectOption>,
    last_outcome: Option<String>,
    action: String,
}

struct TeamRow {
    id: String,
    name: String,
    domain: String,
    people: usize,
    channels: Vec<ChannelRow>,
}

struct ChannelRow {
    id: String,
    name: String,
    notes: String,
    messages: usize,
}

struct MessageRow {
    channel: String,
    author: String,
    text: String,
}

struct CallRow {
    method: String,
    status: u16,
    error: String,
}

/// A `<select>` option.
struct SelectOption {
    value: String,
    label: String,
}

pub(crate) async fn show(emulator: web::Data<Emulator>) -> HttpResponse {
    let (world, calls, last_outcome) = {
        let state = emulator.lock();
        let calls: Vec<CallRow> = state
            .calls
            .iter()
            .rev()
            .take(RECENT_CALLS)
            .map(|c| CallRow {
                method: c.method.clone(),
                status: c.status,
                error: c.error.clone().unwrap_or_default(),
            })
            .collect();
        (state.world.clone(), calls, state.last_send_outcome.clone())
    };
    let teams = world
        .teams
        .iter()
        .map(|team| TeamRow {
            id: team.id.clone(),
            name: team.name.clone(),
            domain: team.domain.clone(),
            people: world
                .users
                .iter()
                .filter(|u| u.team_id == team.id && u.is_active_person())
                .count(),
            channels: world
                .channels
                .iter()
                .filter(|c| c.team_id == team.id)
                .map(|c| {
                    let notes = [
                        (c.is_private, "private"),
                        (c.is_archived, "archived"),
                        (c.is_general, "general"),
                    ]
                    .into_iter()
                    .filter_map(|(on, note)| on.then_some(note))
                    .collect::<Vec<_>>()
                    .join(", ");
                    ChannelRow {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        notes,
                        messages: c.messages.len(),
                    }
                })
                .collect(),
        })
        .collect();
    let mut messages: Vec<(String, MessageRow)> = world
        .channels
        .iter()
        .flat_map(|c| {
            c.messages.iter().map(|m| {
                let text = m["text"].as_str().unwrap_or_default().to_owned();
                let author = m["user"]
                    .as_str()
                    .and_then(|id| world.user(id))
                    .map(|u| u.name.clone());
                let row = MessageRow {
                    channel: c.name.clone(),
                    author: author.unwrap_or_else(|| "app".into()),
                    text,
                };
                (m["ts"].as_str().unwrap_or_default().to_owned(), row)
            })
        })
        .collect();
    messages.sort_by(|a, b| b.0.cmp(&a.0));
    let people = world
        .teams
        .iter()
        .flat_map(|team| {
            world
                .users
                .iter()
                .filter(|u| u.team_id == team.id && u.is_active_person())
                .take(PEOPLE_PER_TEAM)
                .map(|u| SelectOption {
                    value: u.id.clone(),
                    label: format!("{} — {}", u.name, team.name),
                })
        })
        .collect();
    let channels = world
        .channels
        .iter()
        .filter_map(|c| {
            let team = world.team(&c.team_id)?;
            Some(SelectOption {
                value: c.id.clone(),
                label: format!("#{} — {}", c.name, team.name),
            })
        })
        .collect();
    let page = IndexPage {
        app_url: emulator.app_url().map(String::from),
        teams,
        messages: messages
            .into_iter()
            .take(RECENT_MESSAGES)
            .map(|(_, row)| row)
            .collect(),
        calls,
        people,
        channels,
        last_outcome,
        action: emulator.base_url().to_string(),
    };
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct CommandForm {
    user: String,
    channel: String,
    command: String,
    #[serde(default)]
    text: String,
}

/// Sends the command as the chosen person, remembers what the app said, and goes back to the page.
pub(crate) async fn send_command(
    emulator: web::Data<Emulator>,
    form: web::Form<CommandForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let team_id = {
        let world = &emulator.lock().world;
        let user_team = world.user(&form.user).map(|u| u.team_id.clone());
        user_team.filter(|team| {
            world
                .channel(&form.channel)
                .is_some_and(|c| &c.team_id == team)
        })
    };
    let command = if form.command.starts_with('/') {
        form.command.clone()
    } else {
        format!("/{}", form.command)
    };
    let outcome = match team_id {
        None => "The person and the channel must be in the same workspace.".to_owned(),
        Some(team_id) => {
            let cmd = SlashCommand::new(&team_id, &form.channel, &form.user, &command, &form.text);
            match emulator.send_slash_command(cmd).await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    format!("{command} → HTTP {}: {}", status.as_u16(), preview(&body))
                }
                Err(err) => format!("{command} was not delivered: {err}"),
            }
        }
    };
    emulator.lock().last_send_outcome = Some(outcome);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, emulator.base_url().as_str()))
        .finish()
}

/// The app's answer in a line: the `text` of a JSON message, else the start of the body.
fn preview(body: &str) -> String {
    let text = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["text"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    text.chars().take(ANSWER_PREVIEW_CHARS).collect()
}
