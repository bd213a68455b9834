//! `GET /admin`: per workspace, the installation's health, its communities, the 30-day funnel
//! and the latest activity.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::layout::{Nav, Section};
use super::views::{AuditRow, CommunityRow, InstallationView};
use crate::admin::Admin;
use crate::admin::funnel_chart::{self, FunnelChart};
use crate::db;
use crate::error::AppError;
use crate::routes::pages::{Chrome, render};
use crate::state::AppState;

const RECENT: i64 = 8;

struct Workspace {
    installation: InstallationView,
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
    /// Where mail goes (`None`: no mail configured, and the page says how to turn it on).
    mail: Option<String>,
    /// Some community hands out its link without an invite API: mail would deliver it.
    needs_mail: bool,
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
        let days = db::admin_requests::funnel(&state.db, team, start).await?;
        let recent = db::admin_audit::recent(&state.db, team, RECENT).await?;
        let last_reinstall = db::admin_audit::latest(&state.db, team, "app.reinstalled").await?;
        workspaces.push(Workspace {
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
    let needs_mail = workspaces.iter().flat_map(|w| &w.communities).any(|row| {
        matches!(
            row.community.invite_mode,
            crate::domain::InviteMode::Approval | crate::domain::InviteMode::Link
        )
    });
    render(&OverviewPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Overview),
        workspaces,
        mail: state.mailer.as_ref().map(|m| m.describe().to_owned()),
        needs_mail,
    })
}
