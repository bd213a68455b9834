//! Who may run the dashboard: only people Slack reports as an admin or owner of a workspace Lobby
//! is installed in (for an org-wide install, an admin or owner of the organisation). Installing the
//! app grants nothing, since Slack lets members install apps. Asked at sign-in, and again while a
//! session lives, at least every `RECHECK_SECS`.

use crate::db::{self, installations::Installation};
use crate::domain::{EnterpriseId, TeamId, UserId};
use crate::installation_tokens as tokens;
use crate::slack::methods::User;
use crate::state::AppState;

use super::session::Admin;

/// A session's admin role is confirmed with Slack again when its last check is this old.
pub const RECHECK_SECS: i64 = 15 * 60;

/// What Slack said about one person in one installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    NotAdmin,
    /// The installation is gone or inactive: nothing to manage there, whoever asks.
    NoInstallation,
    /// Slack could not be asked (no token, a network failure); neither yes nor no.
    Unknown,
}

/// Whom to ask about: a person by id, in their workspace and organisation.
pub struct Person<'a> {
    pub user_id: &'a UserId,
    pub team_id: &'a TeamId,
    pub enterprise_id: Option<&'a EnterpriseId>,
}

/// Whether the installation is the person's workspace, or their organisation's org-wide one.
pub fn serves(installation: &Installation, person: &Person<'_>) -> bool {
    if installation.is_enterprise_install {
        person.enterprise_id.map(EnterpriseId::as_str) == Some(installation.id.as_str())
    } else {
        installation.team_id.as_ref() == Some(person.team_id)
    }
}

/// The role Slack reports for a `users.info` answer, for this kind of installation.
pub fn role_of(user: &User, org_wide: bool) -> Role {
    let admin = if org_wide {
        user.is_org_admin_or_owner()
    } else {
        user.is_admin_or_owner()
    };
    if user.is_active_human() && admin {
        Role::Admin
    } else {
        Role::NotAdmin
    }
}

/// Asks Slack (`users.info` with the installation's bot token) for the person's role there. An
/// inactive installation, or one that does not serve the person, is a no; a dead token retires
/// the installation.
pub async fn ask(state: &AppState, installation: &Installation, person: &Person<'_>) -> Role {
    if !installation.is_active() {
        return Role::NoInstallation;
    }
    if !serves(installation, person) {
        return Role::NotAdmin;
    }
    let token = match tokens::bot_token(state, &installation.id).await {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(team_id = %installation.id, error = %e, "no bot token to check an admin with");
            return Role::Unknown;
        }
    };
    match state
        .slack
        .users_info(&token, person.user_id.as_str())
        .await
    {
        Ok(user) => role_of(&user, installation.is_enterprise_install),
        Err(crate::slack::client::SlackError::Api { code, .. }) if code == "user_not_found" => {
            Role::NotAdmin
        }
        Err(e) => {
            tokens::note_failure(state, &installation.id, &e).await;
            tracing::warn!(team_id = %installation.id, error = %e, "users.info failed while checking an admin");
            Role::Unknown
        }
    }
}

/// The active installations this person administers, asked of Slack now.
pub async fn administered(
    state: &AppState,
    person: &Person<'_>,
) -> Result<Vec<TeamId>, sqlx::Error> {
    let installations = db::installations::list(&state.db).await?;
    let mut teams = Vec::new();
    for installation in installations.iter().filter(|i| serves(i, person)) {
        if ask(state, installation, person).await == Role::Admin {
            teams.push(installation.id.clone());
        }
    }
    Ok(teams)
}

/// A session after its role was confirmed again.
pub enum Rechecked {
    /// Still an admin of these installations (the check may have been skipped as recent).
    Admin(Admin),
    /// Slack says the person administers none of the session's installations any more; the
    /// session is over.
    Demoted,
    /// None of the session's installations is active any more; the session is over.
    NothingLeft,
    /// Slack could not be asked, and nothing is confirmed; try again shortly.
    Unconfirmed,
}

/// Confirms the session's admin role with Slack when its last check is older than
/// `RECHECK_SECS`: installations where Slack says no leave the session (and the audit log says
/// so); where Slack cannot be asked, they are left out of this request only.
pub async fn recheck(state: &AppState, admin: Admin) -> Result<Rechecked, sqlx::Error> {
    let now = db::now();
    if now - admin.checked_at < RECHECK_SECS {
        return Ok(Rechecked::Admin(admin));
    }
    let person = Person {
        user_id: &admin.user_id,
        team_id: &admin.person_team_id,
        enterprise_id: admin.person_enterprise_id.as_ref(),
    };
    let mut confirmed = Vec::new();
    let mut dropped = Vec::new();
    let mut demoted = Vec::new();
    let mut unknown = false;
    for team in &admin.teams {
        let role = match db::installations::get(&state.db, team).await? {
            Some(installation) => ask(state, &installation, &person).await,
            None => Role::NoInstallation,
        };
        match role {
            Role::Admin => confirmed.push(team.clone()),
            Role::NotAdmin => {
                demoted.push(team.clone());
                dropped.push(team.clone());
            }
            Role::NoInstallation => dropped.push(team.clone()),
            Role::Unknown => unknown = true,
        }
    }

    let user_id = admin.user_id.clone();
    let mut tx = db::begin_write(&state.db).await?;
    for team in &demoted {
        db::audit::record(
            &mut *tx,
            Some(team),
            admin.user_id.as_str(),
            "admin.demoted",
            "Slack no longer lists this person as an admin or owner; dashboard access ended",
        )
        .await?;
    }
    let outcome = if confirmed.is_empty() && !unknown {
        db::sessions::delete_by_id(&mut *tx, admin.session_id).await?;
        if demoted.is_empty() {
            Rechecked::NothingLeft
        } else {
            Rechecked::Demoted
        }
    } else {
        // With an unanswered installation the check is not complete, so it is asked again on
        // the next request.
        let checked_at = if unknown { admin.checked_at } else { now };
        db::sessions::confirm_admin(&mut tx, admin.session_id, checked_at, &dropped).await?;
        if confirmed.is_empty() {
            Rechecked::Unconfirmed
        } else {
            let mut admin = admin;
            admin.teams = confirmed;
            admin.checked_at = checked_at;
            Rechecked::Admin(admin)
        }
    };
    tx.commit().await?;
    if !demoted.is_empty() {
        tracing::info!(%user_id, demoted = demoted.len(), "an admin lost dashboard access");
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(id: &str, team: Option<&str>, org_wide: bool) -> Installation {
        Installation {
            team_id: team.map(|t| TeamId::parse(t).unwrap()),
            is_enterprise_install: org_wide,
            ..Installation::sample(id)
        }
    }

    /// Whether `installation` serves the person of that workspace and organisation.
    fn serves_person(installation: &Installation, team: &str, enterprise: Option<&str>) -> bool {
        let user = UserId::parse("U0ADA").unwrap();
        let team = TeamId::parse(team).unwrap();
        let enterprise = enterprise.map(|e| EnterpriseId::parse(e).unwrap());
        let person = Person {
            user_id: &user,
            team_id: &team,
            enterprise_id: enterprise.as_ref(),
        };
        serves(installation, &person)
    }

    #[test]
    fn only_the_persons_workspace_or_organisation_is_asked() {
        let own = installation("T0ONE", Some("T0ONE"), false);
        let other = installation("T0TWO", Some("T0TWO"), false);
        let org = installation("E0ONE", None, true);
        assert!(serves_person(&own, "T0ONE", None));
        assert!(!serves_person(&other, "T0ONE", None));
        assert!(serves_person(&org, "T0NINE", Some("E0ONE")));
        assert!(!serves_person(&org, "T0NINE", Some("E0TWO")));
        assert!(!serves_person(&org, "T0NINE", None));
    }

    #[test]
    fn a_workspace_admin_is_not_an_organisation_admin() {
        let ws_admin = User {
            id: "U1".into(),
            is_admin: true,
            ..User::default()
        };
        assert_eq!(role_of(&ws_admin, false), Role::Admin);
        assert_eq!(role_of(&ws_admin, true), Role::NotAdmin);
        let member = User {
            id: "U2".into(),
            ..User::default()
        };
        assert_eq!(role_of(&member, false), Role::NotAdmin);
        let gone = User {
            deleted: true,
            ..ws_admin
        };
        assert_eq!(role_of(&gone, false), Role::NotAdmin);
    }
}
