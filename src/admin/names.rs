//! Names for Slack ids, so the dashboard shows "#general" and "Ada Admin" rather than `C0…`
//! and `U0…`: each workspace's public channels (`conversations.list`), people (`users.info`) and
//! workspaces (`team.info`), cached in memory. On a miss a page asks Slack once, with a short
//! timeout, and shows the id when Slack is slow or says no; a failed lookup is not retried for a
//! while so one slow Slack does not slow every page.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::TeamId;
use crate::installation_tokens as tokens;
use crate::state::AppState;

/// How long a page waits for Slack before it shows ids instead.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Channel lists change; the community page has a refresh button for the impatient.
const CHANNELS_FRESH_FOR: Duration = Duration::from_secs(15 * 60);

/// People and workspaces rarely rename.
const NAMES_FRESH_FOR: Duration = Duration::from_secs(6 * 60 * 60);

/// After a failed lookup, ids are shown without asking again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// A bound on `conversations.list` pages (40,000 channels).
const MAX_PAGES: usize = 200;

/// A public channel to choose from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelChoice {
    pub id: String,
    pub name: String,
}

struct Cached<T> {
    at: Instant,
    /// `None`: Slack could not tell; show the id.
    value: Option<T>,
}

impl<T: Clone> Cached<T> {
    fn fresh(&self, fresh_for: Duration) -> Option<Option<T>> {
        let ttl = if self.value.is_some() {
            fresh_for
        } else {
            RETRY_AFTER
        };
        (self.at.elapsed() < ttl).then(|| self.value.clone())
    }
}

#[derive(Default)]
struct Inner {
    /// By installation id.
    channels: HashMap<String, Cached<Vec<ChannelChoice>>>,
    /// By user id (unique across Slack).
    people: HashMap<String, Cached<String>>,
    /// By workspace or organisation id.
    workspaces: HashMap<String, Cached<String>>,
}

/// The cache; one per process, in `AppState`.
#[derive(Default)]
pub struct SlackNames {
    inner: Mutex<Inner>,
}

impl SlackNames {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data: a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets an installation's channel list, so the next page reads it again from Slack.
    pub fn forget_channels(&self, installation_id: &TeamId) {
        self.lock().channels.remove(installation_id.as_str());
    }

    /// Remembers a name Lobby already knows (e.g. from the installation row).
    pub fn note_workspace(&self, id: &str, name: &str) {
        if !name.is_empty() {
            self.lock().workspaces.insert(
                id.to_owned(),
                Cached {
                    at: Instant::now(),
                    value: Some(name.to_owned()),
                },
            );
        }
    }
}

/// Reads an installation's channels into the cache in the background (the refresh button), so
/// the next page finds them without waiting for Slack.
pub fn warm_channels(state: std::sync::Arc<AppState>, installation_id: TeamId) {
    state.names.forget_channels(&installation_id);
    tokio::spawn(async move {
        channels(&state, &installation_id).await;
    });
}

/// The public channels of the installation's workspace, by name; `None` when Slack could not
/// say (no token, a missing scope, too slow): the form then takes ids as text.
pub async fn channels(state: &AppState, installation_id: &TeamId) -> Option<Vec<ChannelChoice>> {
    if let Some(hit) = state
        .names
        .lock()
        .channels
        .get(installation_id.as_str())
        .and_then(|c| c.fresh(CHANNELS_FRESH_FOR))
    {
        return hit;
    }
    let listed = tokio::time::timeout(LOOKUP_TIMEOUT, list_channels(state, installation_id))
        .await
        .ok()
        .flatten();
    state.names.lock().channels.insert(
        installation_id.to_string(),
        Cached {
            at: Instant::now(),
            value: listed.clone(),
        },
    );
    listed
}

async fn list_channels(state: &AppState, installation_id: &TeamId) -> Option<Vec<ChannelChoice>> {
    let token = tokens::bot_token(state, installation_id).await.ok()?;
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = match state
            .slack
            .conversations_list_page(&token, cursor.as_deref(), 200, "public_channel")
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tokens::note_failure(state, installation_id, &e).await;
                tracing::info!(team_id = %installation_id, error = %e, "could not list channels");
                return None;
            }
        };
        out.extend(page.items.into_iter().map(|c| ChannelChoice {
            id: c.id,
            name: c.name,
        }));
        match page.next_cursor {
            Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => break,
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some(out)
}

/// A person's name as Slack shows it, or `None` when Slack could not say (show the id).
pub async fn person(state: &AppState, installation_id: &TeamId, user_id: &str) -> Option<String> {
    if !looks_like_user(user_id) {
        return None;
    }
    if let Some(hit) = state
        .names
        .lock()
        .people
        .get(user_id)
        .and_then(|c| c.fresh(NAMES_FRESH_FOR))
    {
        return hit;
    }
    let lookup = async {
        let token = tokens::bot_token(state, installation_id).await.ok()?;
        let user = state.slack.users_info(&token, user_id).await.ok()?;
        [
            user.profile.display_name,
            user.profile.real_name,
            user.real_name.unwrap_or_default(),
            user.name,
        ]
        .into_iter()
        .find(|n| !n.trim().is_empty())
    };
    let name = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
        .await
        .ok()
        .flatten();
    state.names.lock().people.insert(
        user_id.to_owned(),
        Cached {
            at: Instant::now(),
            value: name.clone(),
        },
    );
    name
}

/// A workspace's name, or `None` when Slack could not say (show the id).
pub async fn workspace(
    state: &AppState,
    installation_id: &TeamId,
    team_id: &TeamId,
) -> Option<String> {
    let team_key = team_id.as_str();
    if let Some(hit) = state
        .names
        .lock()
        .workspaces
        .get(team_key)
        .and_then(|c| c.fresh(NAMES_FRESH_FOR))
    {
        return hit;
    }
    // An installed workspace's name is already in the database: no need to ask Slack.
    if let Ok(Some(installed)) = crate::db::installations::get(&state.db, team_id).await
        && !installed.team_name.trim().is_empty()
    {
        state.names.note_workspace(team_key, &installed.team_name);
        return Some(installed.team_name);
    }
    let lookup = async {
        let token = tokens::bot_token(state, installation_id).await.ok()?;
        let team = state.slack.team_info(&token, Some(team_key)).await.ok()?;
        Some(team.name).filter(|n| !n.trim().is_empty())
    };
    let name = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
        .await
        .ok()
        .flatten();
    state.names.lock().workspaces.insert(
        team_key.to_owned(),
        Cached {
            at: Instant::now(),
            value: name.clone(),
        },
    );
    name
}

/// Audit actors are user ids, or words such as "slack" and "cli".
fn looks_like_user(id: &str) -> bool {
    id.len() >= 3
        && matches!(id.as_bytes()[0], b'U' | b'W')
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A Slack id with the name to show for it; templates show `name` with `id` as a tooltip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

impl Named {
    /// The id itself stands in when no name is known.
    pub fn new(id: &str, name: Option<String>) -> Self {
        Named {
            name: name.unwrap_or_else(|| id.to_owned()),
            id: id.to_owned(),
        }
    }

    /// Whether a name was found (else the template shows the id as code).
    pub fn known(&self) -> bool {
        self.name != self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_ids_are_looked_up() {
        assert!(looks_like_user("U0ADMIN001"));
        assert!(looks_like_user("W012ABC"));
        assert!(!looks_like_user("slack"));
        assert!(!looks_like_user("cli"));
        assert!(!looks_like_user("T0DEMO"));
    }

    #[test]
    fn a_failed_lookup_is_retried_after_a_minute_not_hours() {
        let failed: Cached<String> = Cached {
            at: Instant::now() - RETRY_AFTER - Duration::from_secs(1),
            value: None,
        };
        assert_eq!(failed.fresh(NAMES_FRESH_FOR), None);
        let found = Cached {
            at: Instant::now() - RETRY_AFTER - Duration::from_secs(1),
            value: Some("Ada".to_owned()),
        };
        assert_eq!(found.fresh(NAMES_FRESH_FOR), Some(Some("Ada".to_owned())));
    }
}
