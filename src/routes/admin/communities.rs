//! Communities: the list with a create form, and one community's settings with its preview,
//! embed snippet and badge.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::extract::AdminForm;
use super::layout::{Nav, Section, notice, see_other};
use super::views::{ChannelOption, CommunityRow, Problems, channel_options};
use crate::admin::Admin;
use crate::admin::community_form::{self, CommunityForm, ParsedCommunity};
use crate::admin::names::{self, Named};
use crate::communities::{self, Problem};
use crate::db::{self, communities::Community};
use crate::domain::{ChannelId, InviteMode, Slug, TeamId};
use crate::error::AppError;
use crate::routes::pages::{Chrome, render, render_with_status};
use crate::state::AppState;

/// The installations an admin may add a community to, for the create form.
struct Choice {
    id: String,
    name: String,
    org_wide: bool,
}

#[derive(Template)]
#[template(path = "admin/communities.html")]
struct ListPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<&'static str>,
    problems: Problems,
    communities: Vec<CommunityRow>,
    installations: Vec<Choice>,
    modes: [InviteMode; 4],
    /// What the create form shows (what was typed, after a refusal).
    new: NewValues,
}

/// The create form's values; kept as typed when it is refused.
#[derive(Default)]
struct NewValues {
    installation: String,
    workspace: String,
    slug: String,
    title: String,
    invite_mode: String,
}

/// A community's settings as the edit form shows them.
struct Values {
    title: String,
    description: String,
    invite_mode: InviteMode,
    default_channels: String,
    coc_url: String,
    coc_required: bool,
    allowed_domains: String,
    denied_domains: String,
    captcha_provider: String,
    captcha_site_key: String,
    admin_channel: String,
}

impl Values {
    fn of(c: &Community) -> Self {
        Values {
            title: c.title.clone(),
            description: c.description.clone(),
            invite_mode: c.invite_mode,
            default_channels: c.default_channels.clone(),
            coc_url: c.coc_url.clone().unwrap_or_default(),
            coc_required: c.coc_required,
            allowed_domains: c.allowed_domains.clone(),
            denied_domains: c.denied_domains.clone(),
            captcha_provider: c.captcha_provider.clone().unwrap_or_default(),
            captcha_site_key: c.captcha_site_key.clone().unwrap_or_default(),
            admin_channel: (c.admin_channel.as_ref())
                .map(ChannelId::to_string)
                .unwrap_or_default(),
        }
    }

    /// What the admin typed, to show again beside an error (sealed fields are never echoed).
    fn entered(form: &CommunityForm, fallback: InviteMode) -> Self {
        Values {
            title: form.title.clone(),
            description: form.description.clone(),
            invite_mode: InviteMode::parse(&form.invite_mode).unwrap_or(fallback),
            default_channels: form.default_channels.clone(),
            coc_url: form.coc_url.clone(),
            coc_required: form.coc_required.is_some(),
            allowed_domains: form.allowed_domains.clone(),
            denied_domains: form.denied_domains.clone(),
            captcha_provider: form.captcha_provider.clone(),
            captcha_site_key: form.captcha_site_key.clone(),
            admin_channel: form.admin_channel.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/community.html")]
struct EditPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<&'static str>,
    problems: Problems,
    community: Community,
    /// The workspace the community invites to, by name.
    workspace: Named,
    values: Values,
    modes: [InviteMode; 4],
    /// The workspace's public channels to pick from; `None` when Slack could not list them
    /// (the form then takes ids as text).
    channel_options: Option<Vec<ChannelOption>>,
    admin_channel_options: Option<Vec<ChannelOption>>,
    join_url: String,
    embed_snippet: String,
    badge_markdown: String,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// The create form: where, the address, and the first settings.
#[derive(Debug, Deserialize)]
pub struct NewCommunity {
    installation: String,
    slug: String,
    #[serde(default)]
    workspace: String,
    #[serde(flatten)]
    settings: CommunityForm,
}

async fn choices(state: &AppState, admin: &Admin) -> Result<Vec<Choice>, AppError> {
    let mut out = Vec::new();
    for team in &admin.teams {
        if let Some(i) = db::installations::get(&state.db, team).await? {
            out.push(Choice {
                name: if i.team_name.is_empty() {
                    i.id.to_string()
                } else {
                    i.team_name
                },
                id: i.id.to_string(),
                org_wide: i.is_enterprise_install,
            });
        }
    }
    Ok(out)
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    admin: &Admin,
    notice_code: Option<&str>,
    problems: Vec<Problem>,
    new: NewValues,
) -> Result<ListPage, AppError> {
    let mut communities = Vec::new();
    for team in &admin.teams {
        communities.extend(CommunityRow::load_for(state, team).await?);
    }
    Ok(ListPage {
        chrome: Chrome::for_request(req),
        nav: Nav::new(admin, Section::Communities),
        notice: notice(notice_code),
        problems: Problems(problems),
        communities,
        installations: choices(state, admin).await?,
        modes: InviteMode::ALL,
        new,
    })
}

/// `GET /admin/communities`
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let new = NewValues {
        invite_mode: InviteMode::Approval.as_str().to_owned(),
        ..NewValues::default()
    };
    render(
        &list_page(
            &req,
            &state,
            &admin,
            query.notice.as_deref(),
            Vec::new(),
            new,
        )
        .await?,
    )
}

/// `POST /admin/communities`: creates a community in one of the admin's installations.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: AdminForm<NewCommunity>,
) -> Result<HttpResponse, AppError> {
    let admin = &form.admin;
    let new = &form.fields;
    // An id that does not parse is no installation this admin manages.
    let installation_id = TeamId::parse(&new.installation).map_err(|_| AppError::NotFound)?;
    if !admin.manages(&installation_id) {
        return Err(AppError::NotFound);
    }
    let installation = db::installations::get(&state.db, &installation_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (req, state) = (&req, &state);
    let typed = || NewValues {
        installation: new.installation.clone(),
        workspace: new.workspace.clone(),
        slug: new.slug.clone(),
        title: new.settings.title.clone(),
        invite_mode: new.settings.invite_mode.clone(),
    };
    let refuse = |problems: Vec<Problem>| async move {
        let page = list_page(req, state, admin, None, problems, typed()).await?;
        render_with_status(StatusCode::BAD_REQUEST, &page)
    };
    // Every problem at once: the address, the workspace and the settings are checked together.
    let mut problems = Vec::new();
    let slug = Slug::parse(new.slug.trim())
        .map_err(|e| problems.push(Problem::new("slug", format!("The address: {e}"))))
        .ok();
    let team_id = communities::target_workspace(state, &installation, Some(&new.workspace))
        .await
        .map_err(|e| problems.push(Problem::new("workspace", e.to_string())))
        .ok();
    let parsed = community_form::parse(&new.settings, None, state.demo_slack())
        .map_err(|found| problems.extend(found))
        .ok();
    if let Some(slug) = &slug
        && db::communities::slug_taken(&state.db, slug.as_str()).await?
    {
        problems.push(Problem::new(
            "slug",
            format!("The address /join/{} is taken.", slug.as_str()),
        ));
    }
    let (Some(slug), Some(team_id), Some(parsed), true) =
        (slug, team_id, parsed, problems.is_empty())
    else {
        return refuse(problems).await;
    };
    let mut tx = db::begin_write(&state.db).await?;
    // Checked again inside the write: someone may have taken it meanwhile.
    if db::communities::slug_taken(&mut *tx, slug.as_str()).await? {
        drop(tx);
        let taken = format!("The address /join/{} is taken.", slug.as_str());
        return refuse(vec![Problem::new("slug", taken)]).await;
    }
    let id = db::communities::create(
        &mut *tx,
        slug.as_str(),
        &installation.id,
        &team_id,
        &parsed.settings,
    )
    .await?;
    store_secrets(&mut tx, state, id, &parsed).await?;
    db::audit::record(
        &mut *tx,
        Some(&installation.id),
        admin.actor(),
        "community.created",
        slug.as_str(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/communities/{id}?notice=created"
    )))
}

async fn store_secrets(
    tx: &mut db::WriteTx,
    state: &AppState,
    id: i64,
    parsed: &ParsedCommunity,
) -> Result<(), sqlx::Error> {
    for (which, change) in &parsed.secrets {
        db::communities::set_secret(&mut **tx, &state.keyring, id, *which, change).await?;
    }
    Ok(())
}

/// The community with that id, if it belongs to one of the admin's installations.
async fn scoped(state: &AppState, admin: &Admin, id: i64) -> Result<Community, AppError> {
    db::communities::get(&state.db, id)
        .await?
        .filter(|c| admin.manages(&c.installation_id))
        .ok_or(AppError::NotFound)
}

async fn edit_page(
    req: &HttpRequest,
    state: &AppState,
    admin: &Admin,
    community: Community,
    values: Values,
    notice_code: Option<&str>,
    problems: Vec<Problem>,
) -> EditPage {
    let listed = names::channels(state, &community.installation_id).await;
    let chosen: Vec<&str> = values
        .default_channels
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let default_options = listed.as_deref().map(|l| channel_options(l, &chosen));
    let admin_channel_options = listed
        .as_deref()
        .map(|l| channel_options(l, &[values.admin_channel.trim()]));
    let workspace = Named::new(
        community.team_id.as_str(),
        names::workspace(state, &community.installation_id, &community.team_id).await,
    );
    let join_url = state
        .settings
        .url(&format!("/join/{}", community.slug))
        .to_string();
    let embed_url = format!("{join_url}/embed");
    let badge_url = format!("{join_url}/badge.svg");
    EditPage {
        chrome: Chrome::for_request(req),
        nav: Nav::new(admin, Section::Communities),
        notice: notice(notice_code),
        problems: Problems(problems),
        workspace,
        channel_options: default_options,
        admin_channel_options,
        embed_snippet: format!(
            "<iframe src=\"{embed_url}\" title=\"Join {title} on Slack\" width=\"400\" height=\"420\" style=\"border:0\"></iframe>",
            title = html_attribute(&community.title)
        ),
        badge_markdown: format!("[![Slack]({badge_url})]({join_url})"),
        join_url,
        community,
        values,
        modes: InviteMode::ALL,
    }
}

/// Escapes text for a double-quoted HTML attribute of the snippet other sites paste.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `GET /admin/communities/{id}`
pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let community = scoped(&state, &admin, id.into_inner()).await?;
    let values = Values::of(&community);
    render(
        &edit_page(
            &req,
            &state,
            &admin,
            community,
            values,
            query.notice.as_deref(),
            Vec::new(),
        )
        .await,
    )
}

/// `POST /admin/communities/{id}/channels`: reads the workspace's channels from Slack again.
pub async fn refresh_channels(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: AdminForm<serde::de::IgnoredAny>,
) -> Result<HttpResponse, AppError> {
    let community = scoped(&state, &form.admin, id.into_inner()).await?;
    names::warm_channels(
        state.clone().into_inner(),
        community.installation_id.clone(),
    );
    Ok(see_other(&format!(
        "/admin/communities/{}?notice=channels#default_channels",
        community.id
    )))
}

/// `POST /admin/communities/{id}`: saves every setting, sealed ones included.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    mut form: AdminForm<CommunityForm>,
) -> Result<HttpResponse, AppError> {
    let chosen: Vec<String> = form.all("channel").map(str::to_owned).collect();
    form.fields
        .take_chosen_channels(chosen.iter().map(String::as_str));
    let admin = &form.admin;
    let community = scoped(&state, admin, id.into_inner()).await?;
    let parsed = match community_form::parse(&form.fields, Some(&community), state.demo_slack()) {
        Ok(parsed) => parsed,
        Err(problems) => {
            let values = Values::entered(&form.fields, community.invite_mode);
            let page = edit_page(&req, &state, admin, community, values, None, problems).await;
            return render_with_status(StatusCode::BAD_REQUEST, &page);
        }
    };
    let mut tx = db::begin_write(&state.db).await?;
    db::communities::update(&mut *tx, community.id, &parsed.settings).await?;
    store_secrets(&mut tx, &state, community.id, &parsed).await?;
    // A new shared link starts a new count of uses: who replaced it, and when, is on record.
    let link_changed = parsed.secrets.iter().any(|(which, change)| {
        matches!(which, db::communities::CommunitySecret::InviteLink)
            && !matches!(change, db::communities::SecretChange::Keep)
    });
    if link_changed {
        db::audit::record(
            &mut *tx,
            Some(&community.installation_id),
            admin.actor(),
            "community.invite_link_replaced",
            &community.slug,
        )
        .await?;
    }
    db::audit::record(
        &mut *tx,
        Some(&community.installation_id),
        admin.actor(),
        "community.updated",
        &community.slug,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/communities/{}?notice=saved",
        community.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_cannot_break_out_of_the_snippet_attribute() {
        assert_eq!(
            html_attribute(r#"A "B" <C> & D"#),
            "A &quot;B&quot; &lt;C&gt; &amp; D"
        );
    }
}
