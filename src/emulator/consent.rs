//! The consent pages: `oauth/v2/authorize` (Add to Slack) and `openid/connect/authorize` (Sign in with Slack).
//!
//! GET shows who is asking for what; the page's forms POST back here, and Allow/Cancel redirect to the app.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use url::Url;

use super::codes::{Approval, Flow};
use super::html::{bad_request, render};
use super::scopes;
use super::{Emulator, World};

/// Query of the GET and fields of the POST (the page repeats the query in hidden fields).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConsentParams {
    client_id: Option<String>,
    scope: Option<String>,
    user_scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    team: Option<String>,
    nonce: Option<String>,
    response_type: Option<String>,
    /// POST only: the chosen workspace or organization, the person, and `allow` or `cancel`.
    workspace: Option<String>,
    user: Option<String>,
    decision: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Install,
    OpenId,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Self::Install => "oauth/v2/authorize",
            Self::OpenId => "openid/connect/authorize",
        }
    }

    /// Where the app's callback is when authorize names none (the Request URLs in Lobby's manifest).
    fn default_callback(self) -> &'static str {
        match self {
            Self::Install => "slack/oauth_redirect",
            Self::OpenId => "admin/oauth_redirect",
        }
    }
}

/// A request that passed the checks: what is asked, and where to send the answer.
struct Checked {
    redirect: Url,
    scopes: Vec<String>,
    user_scopes: Vec<String>,
}

/// Why a consent request cannot be shown, for the 400 page.
struct Refusal {
    title: &'static str,
    message: &'static str,
}

impl Refusal {
    fn page(&self) -> HttpResponse {
        bad_request(self.title, self.message)
    }
}

fn check(emulator: &Emulator, kind: Kind, params: &ConsentParams) -> Result<Checked, Refusal> {
    if params.client_id.as_deref() != Some(emulator.config().client_id.as_str()) {
        return Err(Refusal {
            title: "Unknown app",
            message: "This link has an invalid client_id, so no app can be installed.",
        });
    }
    let scopes = scopes::split(params.scope.as_deref());
    let user_scopes = scopes::split(params.user_scope.as_deref());
    match kind {
        Kind::Install if scopes.is_empty() && user_scopes.is_empty() => {
            return Err(Refusal {
                title: "Invalid scopes",
                message: "The app asked for no permissions (scope or user_scope).",
            });
        }
        Kind::OpenId if params.response_type.as_deref() != Some("code") => {
            return Err(Refusal {
                title: "Invalid request",
                message: "Sign in with Slack needs response_type=code.",
            });
        }
        Kind::OpenId if !scopes.iter().any(|s| s == "openid") => {
            return Err(Refusal {
                title: "Invalid scopes",
                message: "Sign in with Slack needs the openid scope.",
            });
        }
        _ => {}
    }
    let registered = registered_redirects(emulator);
    let redirect = match params.redirect_uri.as_deref() {
        Some(given) => Url::parse(given)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or(Refusal {
                title: "Invalid redirect_uri",
                message: "The redirect_uri is not an http(s) URL.",
            })?,
        None => registered
            .iter()
            .find(|url| url.path().ends_with(kind.default_callback()))
            .cloned()
            .ok_or(Refusal {
                title: "Missing redirect_uri",
                message: "No redirect_uri was given and no app URL is set.",
            })?,
    };
    // Slack sends the browser back only to a Redirect URL registered in the app's settings (or a
    // path below one); anything else would make the consent page an open redirect.
    if !registered.iter().any(|r| is_under(&redirect, r)) {
        return Err(Refusal {
            title: "redirect_uri did not match any configured URIs",
            message: "The redirect_uri is not one of the Redirect URLs registered for this app.",
        });
    }
    Ok(Checked {
        redirect,
        scopes,
        user_scopes,
    })
}

/// The app's registered Redirect URLs: its two callbacks under each app URL.
fn registered_redirects(emulator: &Emulator) -> Vec<Url> {
    emulator
        .app_urls()
        .iter()
        .flat_map(|app| {
            [Kind::Install, Kind::OpenId]
                .into_iter()
                .filter_map(|kind| app.join(kind.default_callback()).ok())
        })
        .collect()
}

/// Slack's rule: the same origin, and the registered path or a path below it.
fn is_under(candidate: &Url, registered: &Url) -> bool {
    let base = registered.path().trim_end_matches('/');
    candidate.origin() == registered.origin()
        && (candidate.path() == registered.path()
            || candidate
                .path()
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/')))
}

#[derive(Template)]
#[template(path = "emulator/consent.html")]
struct ConsentPage {
    app_name: String,
    heading: String,
    action: String,
    workspaces: Vec<Choice>,
    people: Vec<Choice>,
    scope_lines: Vec<ScopeLine>,
    user_scope_lines: Vec<ScopeLine>,
    hidden: Vec<(&'static str, String)>,
    error: Option<String>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct ScopeLine {
    scope: String,
    words: String,
}

fn scope_lines(scopes: &[String]) -> Vec<ScopeLine> {
    scopes
        .iter()
        .map(|scope| ScopeLine {
            scope: scope.clone(),
            words: scopes::describe(scope),
        })
        .collect()
}

fn workspace_choices(world: &World, kind: Kind, preselect: Option<&str>) -> Vec<Choice> {
    let teams = world
        .teams
        .iter()
        .map(|t| (t.id.clone(), format!("{} ({}.slack.com)", t.name, t.domain)));
    let orgs = world
        .enterprises
        .iter()
        .filter(|_| kind == Kind::Install)
        .map(|e| {
            (
                e.id.clone(),
                format!("{} — the entire organization", e.name),
            )
        });
    teams
        .chain(orgs)
        .map(|(value, label)| Choice {
            selected: Some(value.as_str()) == preselect,
            value,
            label,
        })
        .collect()
}

fn people_choices(world: &World, selected: Option<&str>) -> Vec<Choice> {
    // The first few people of each workspace are plenty to pick from (the demo team has hundreds).
    const PER_TEAM: usize = 8;
    world
        .teams
        .iter()
        .flat_map(|team| {
            world
                .users
                .iter()
                .filter(|u| u.team_id == team.id && u.is_active_person())
                .take(PER_TEAM)
                .map(|u| {
                    let role = if u.is_primary_owner {
                        ", primary owner"
                    } else if u.is_admin {
                        ", admin"
                    } else {
                        ""
                    };
                    Choice {
                        value: u.id.clone(),
                        label: format!("{} — {}{role}", u.name, team.name),
                        selected: Some(u.id.as_str()) == selected,
                    }
                })
        })
        .collect()
}

fn page(
    emulator: &Emulator,
    kind: Kind,
    params: &ConsentParams,
    checked: &Checked,
    error: Option<String>,
) -> HttpResponse {
    let world = emulator.world();
    let preselect = params.workspace.as_deref().or(params.team.as_deref());
    let app_name = emulator.config().app_name.clone();
    let heading = match kind {
        Kind::Install => format!("{app_name} is requesting permission to access a Slack workspace"),
        Kind::OpenId => format!("Sign in to {app_name} with Slack"),
    };
    let hidden = [
        ("client_id", &params.client_id),
        ("scope", &params.scope),
        ("user_scope", &params.user_scope),
        ("redirect_uri", &params.redirect_uri),
        ("state", &params.state),
        ("team", &params.team),
        ("nonce", &params.nonce),
        ("response_type", &params.response_type),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
    .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = ConsentPage {
        app_name,
        heading,
        action: emulator.url(kind.path()).into(),
        workspaces: workspace_choices(&world, kind, preselect),
        people: people_choices(&world, params.user.as_deref()),
        scope_lines: scope_lines(&checked.scopes),
        user_scope_lines: scope_lines(&checked.user_scopes),
        hidden,
        error,
    };
    render(&page, status)
}

fn show(emulator: &Emulator, kind: Kind, params: &ConsentParams) -> HttpResponse {
    match check(emulator, kind, params) {
        Ok(checked) => page(emulator, kind, params, &checked, None),
        Err(refusal) => refusal.page(),
    }
}

/// The team and enterprise a choice installs into, if `user_id` belongs there.
fn placement(
    world: &World,
    workspace: &str,
    user_id: &str,
) -> Option<(Option<String>, Option<String>)> {
    let user = world.user(user_id).filter(|u| u.is_active_person())?;
    let user_team = world.team(&user.team_id)?;
    if let Some(team) = world.team(workspace) {
        return (user.team_id == team.id)
            .then(|| (Some(team.id.clone()), team.enterprise_id.clone()));
    }
    let enterprise = world.enterprise(workspace)?;
    (user_team.enterprise_id.as_deref() == Some(enterprise.id.as_str()))
        .then(|| (None, Some(enterprise.id.clone())))
}

/// Slack grants `admin.*` scopes only to an install on a whole Enterprise Grid organisation, made
/// by one of its admins or owners; anywhere else the install fails (`invalid_scope`).
fn admin_scopes_allowed(
    world: &World,
    checked: &Checked,
    team_id: Option<&str>,
    user_id: &str,
) -> Result<(), String> {
    let asks_admin = checked
        .scopes
        .iter()
        .chain(&checked.user_scopes)
        .any(|s| scopes::is_admin(s));
    let org_admin = world.user(user_id).is_some_and(|u| u.is_org_admin);
    if !asks_admin || (team_id.is_none() && org_admin) {
        return Ok(());
    }
    Err(if team_id.is_some() {
        "invalid_scope: admin scopes can only be granted to an app installed on an entire \
         Enterprise Grid organization, not on a single workspace."
            .to_owned()
    } else {
        "invalid_scope: only an Org Admin or Owner can install an app that asks for admin scopes."
            .to_owned()
    })
}

fn decide(emulator: &Emulator, kind: Kind, params: &ConsentParams) -> HttpResponse {
    let checked = match check(emulator, kind, params) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.page(),
    };
    let state = params.state.as_deref();
    if params.decision.as_deref() != Some("allow") {
        return redirect(
            checked.redirect,
            &[("error", Some("access_denied")), ("state", state)],
        );
    }
    let workspace = params.workspace.as_deref().unwrap_or_default();
    let user_id = params.user.as_deref().unwrap_or_default();
    let world = emulator.world();
    let Some((team_id, enterprise_id)) = placement(&world, workspace, user_id) else {
        let error = "Pick a workspace and a person who belongs to it.".to_owned();
        return page(emulator, kind, params, &checked, Some(error));
    };
    if let Err(error) = admin_scopes_allowed(&world, &checked, team_id.as_deref(), user_id) {
        return page(emulator, kind, params, &checked, Some(error));
    }
    let approval = Approval {
        flow: match kind {
            Kind::Install => Flow::Install,
            Kind::OpenId => Flow::OpenId {
                nonce: params.nonce.clone(),
            },
        },
        client_id: emulator.config().client_id.clone(),
        redirect_uri: params.redirect_uri.clone(),
        team_id,
        enterprise_id,
        user_id: user_id.to_owned(),
        scopes: checked.scopes,
        user_scopes: checked.user_scopes,
    };
    let code = {
        let mut state = emulator.lock();
        let now = state.now();
        state.codes.issue(approval, now)
    };
    redirect(
        checked.redirect,
        &[("code", Some(code.as_str())), ("state", state)],
    )
}

/// 302 to `url` with the pairs that have values added to its query.
fn redirect(mut url: Url, pairs: &[(&str, Option<&str>)]) -> HttpResponse {
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .finish()
}

pub(crate) async fn install_page(
    emulator: web::Data<Emulator>,
    params: web::Query<ConsentParams>,
) -> HttpResponse {
    show(&emulator, Kind::Install, &params)
}

pub(crate) async fn install_decision(
    emulator: web::Data<Emulator>,
    form: web::Form<ConsentParams>,
) -> HttpResponse {
    decide(&emulator, Kind::Install, &form)
}

pub(crate) async fn openid_page(
    emulator: web::Data<Emulator>,
    params: web::Query<ConsentParams>,
) -> HttpResponse {
    show(&emulator, Kind::OpenId, &params)
}

pub(crate) async fn openid_decision(
    emulator: web::Data<Emulator>,
    form: web::Form<ConsentParams>,
) -> HttpResponse {
    decide(&emulator, Kind::OpenId, &form)
}
