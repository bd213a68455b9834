//! `GET /admin`: per workspace, what needs attention (each with its fix), the installation's
//! health, its communities, the 30-day funnel and the latest activity.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::layout::{Nav, Section};
use super::views::{AuditRow, CommunityRow, InstallationView};
use crate::admin::Admin;
use crate::admin::attention::{self, Attention, CommunityState};
use crate::admin::funnel_chart::{self, FunnelChart};
use crate::db;
use crate::error::AppError;
use crate::routes::pages::{Chrome, render};
use crate::state::AppState;

const RECENT: i64 = 8;

struct Workspace {
    installation: InstallationView,
    /// What stops invites from flowing; the workspace is healthy only when this is empty.
    attention: Vec<Attention>,
    communities: Vec<CommunityRow>,
    chart: FunnelChart,
    recent: Vec<AuditRow>,
    /// Who reinstalled the app last and what changed (members may reinstall apps).
    last_reinstall: Option<AuditRow>,
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    nav: Nav,
    workspaces: Vec<Workspace>,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    let start = funnel_chart::window_start(db::now());
    let mut workspaces = Vec::with_capacity(admin.teams.len());
    for team in &admin.teams {
        let Some(installation) = db::installations::get(&state.db, team).await? else {
            continue;
        };
        let communities = CommunityRow::load_for(&state, team).await?;
        let mut failed = Vec::with_capacity(communities.len());
        for row in &communities {
            let counts = db::admin_requests::status_counts(&state.db, &[row.community.id]).await?;
            failed.push(
                counts
                    .iter()
                    .find(|(status, _)| status == "failed")
                    .map_or(0, |(_, n)| *n),
            );
        }
        let states: Vec<CommunityState<'_>> = communities
            .iter()
            .zip(failed)
            .map(|(row, failed)| CommunityState {
                community: &row.community,
                failed,
            })
            .collect();
        let attention =
            attention::for_workspace(&installation, &states, state.mailer.is_some(), db::now());
        drop(states);
        let days = db::admin_requests::funnel(&state.db, team, start).await?;
        let recent = db::admin_audit::recent(&state.db, team, RECENT).await?;
        let last_reinstall = db::admin_audit::latest(&state.db, team, "app.reinstalled").await?;
        workspaces.push(Workspace {
            attention,
            installation: InstallationView::load(&state, installation).await,
            communities,
            chart: funnel_chart::layout(start, &days),
            recent: AuditRow::load_all(&state, recent).await,
            last_reinstall: match last_reinstall {
                Some(e) => Some(AuditRow::load(&state, e).await),
                None => None,
            },
        });
    }
    render(&OverviewPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Overview),
        workspaces,
    })
}
