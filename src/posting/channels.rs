//! Channel names to ids, from `conversations.list` (every page), cached briefly per workspace.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::slack::client::{SlackClient, SlackError};

/// How long a workspace's channel list is trusted.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// A name missing from a list younger than this is not looked up again: a script posting to a
/// mistyped name must not make every call list the whole workspace.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Slack recommends at most 200 channels per `conversations.list` page.
const PAGE_LIMIT: u32 = 200;

/// A bound on pages read, whatever the cursors say (200,000 channels).
const MAX_PAGES: usize = 1000;

/// A channel to post to, and whether the bot should join it first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    /// As the caller wrote it, for error messages.
    pub requested: String,
    /// Known to be a public channel the bot is not in.
    pub should_join: bool,
    /// Known to be private (the bot cannot join those by itself).
    pub is_private: bool,
}

#[derive(Clone, Debug)]
struct Known {
    id: String,
    is_private: bool,
    is_member: bool,
}

struct Listing {
    fetched_at: Instant,
    by_name: HashMap<String, Known>,
}

/// Cached channel lists, keyed by workspace.
#[derive(Default)]
pub struct ChannelDirectory {
    listings: Mutex<HashMap<String, Listing>>,
}

/// Slack's conversation ids: `C…` (channels), `G…` (older private channels), `D…` (DMs), then
/// upper-case letters and digits. Channel names are lower-case, so the two never collide.
pub fn is_channel_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('C' | 'G' | 'D'))
        && s.len() >= 9
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `#general` and `general` name the same channel.
fn normalize(name: &str) -> String {
    name.trim().trim_start_matches('#').to_lowercase()
}

impl ChannelDirectory {
    /// Where `requested` (an id, or a name with or without `#`) points in `workspace`. `None` when
    /// no channel of that name is visible to the bot.
    pub async fn resolve(
        &self,
        slack: &SlackClient,
        token: &SecretString,
        workspace: &str,
        requested: &str,
    ) -> Result<Option<Target>, SlackError> {
        let requested = requested.trim();
        if is_channel_id(requested) {
            // An id is used as given; Slack says whether it exists.
            let known = self.lookup_id(workspace, requested);
            return Ok(Some(Target {
                id: requested.to_owned(),
                requested: requested.to_owned(),
                should_join: known
                    .as_ref()
                    .is_some_and(|k| !k.is_private && !k.is_member),
                is_private: known.is_some_and(|k| k.is_private),
            }));
        }
        let name = normalize(requested);
        if name.is_empty() {
            return Ok(None);
        }
        let target = |known: Known| Target {
            should_join: !known.is_private && !known.is_member,
            is_private: known.is_private,
            id: known.id,
            requested: requested.to_owned(),
        };
        match self.cached(workspace, &name) {
            Cached::Hit(known) => return Ok(Some(target(known))),
            Cached::Absent => return Ok(None),
            Cached::Stale => {}
        }
        let listing = list_all(slack, token).await?;
        let found = listing.by_name.get(&name).cloned();
        self.lock().insert(workspace.to_owned(), listing);
        Ok(found.map(target))
    }

    /// Records that the bot is now in `channel_id`.
    pub fn note_member(&self, workspace: &str, channel_id: &str) {
        if let Some(listing) = self.lock().get_mut(workspace) {
            for known in listing.by_name.values_mut() {
                if known.id == channel_id {
                    known.is_member = true;
                }
            }
        }
    }

    fn cached(&self, workspace: &str, name: &str) -> Cached {
        let listings = self.lock();
        let Some(listing) = listings.get(workspace) else {
            return Cached::Stale;
        };
        let age = listing.fetched_at.elapsed();
        match listing.by_name.get(name) {
            Some(known) if age < FRESH_FOR => Cached::Hit(known.clone()),
            None if age < MIN_REFRESH_INTERVAL => Cached::Absent,
            _ => Cached::Stale,
        }
    }

    fn lookup_id(&self, workspace: &str, id: &str) -> Option<Known> {
        let listings = self.lock();
        let listing = listings
            .get(workspace)
            .filter(|l| l.fetched_at.elapsed() < FRESH_FOR)?;
        listing.by_name.values().find(|k| k.id == id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Listing>> {
        // The map holds plain data; a panic elsewhere leaves it usable.
        self.listings.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

enum Cached {
    Hit(Known),
    /// Listed recently and not there.
    Absent,
    /// Never listed, or too long ago.
    Stale,
}

/// Every public channel and every private channel the bot is in.
async fn list_all(slack: &SlackClient, token: &SecretString) -> Result<Listing, SlackError> {
    let mut by_name = HashMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = slack
            .conversations_list_page(
                token,
                cursor.as_deref(),
                PAGE_LIMIT,
                "public_channel,private_channel",
            )
            .await?;
        for channel in page.items {
            by_name.insert(
                channel.name.to_lowercase(),
                Known {
                    id: channel.id,
                    is_private: channel.is_private,
                    is_member: channel.is_member,
                },
            );
        }
        match page.next_cursor {
            None => {
                return Ok(Listing {
                    fetched_at: Instant::now(),
                    by_name,
                });
            }
            Some(next) if cursor.as_ref() == Some(&next) => break,
            Some(next) => cursor = Some(next),
        }
    }
    Err(SlackError::Decode {
        method: "conversations.list".to_owned(),
        message: "the pages never ended".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::slack::client::fake_slack::{FakeSlack, Reply};

    fn token() -> SecretString {
        SecretString::from("xoxb-test")
    }

    /// Two pages: `general` (member) on the first, `results` (not a member) and the private
    /// `secret` on the second.
    fn two_pages() -> (FakeSlack, SlackClient) {
        let fake = FakeSlack::start(|seen| match seen.field("cursor").as_deref() {
            None => Reply::json(json!({"ok": true,
                "channels": [{"id": "C0GENERAL1", "name": "general", "is_member": true}],
                "response_metadata": {"next_cursor": "page2"}})),
            Some(_) => Reply::json(json!({"ok": true,
                "channels": [{"id": "C0RESULTS1", "name": "results", "is_member": false},
                             {"id": "G0SECRET01", "name": "secret", "is_private": true, "is_member": true}],
                "response_metadata": {"next_cursor": ""}})),
        });
        let client = SlackClient::new(fake.base.clone(), Duration::from_secs(1)).expect("client");
        (fake, client)
    }

    #[test]
    fn ids_and_names_are_told_apart() {
        assert!(is_channel_id("C0GENERAL1"));
        assert!(is_channel_id("G0SECRET01"));
        assert!(!is_channel_id("general"));
        assert!(!is_channel_id("Cats"));
        assert!(!is_channel_id("C0gen"));
    }

    #[tokio::test]
    async fn a_name_on_a_later_page_resolves_and_asks_to_join() {
        let (fake, client) = two_pages();
        let directory = ChannelDirectory::default();
        let target = directory
            .resolve(&client, &token(), "T1", "#Results")
            .await
            .expect("listed")
            .expect("found");
        assert_eq!(target.id, "C0RESULTS1");
        assert!(target.should_join);
        assert_eq!(fake.seen().len(), 2, "both pages were read");
    }

    #[tokio::test]
    async fn a_cached_name_needs_no_second_listing() {
        let (fake, client) = two_pages();
        let directory = ChannelDirectory::default();
        for name in ["general", "results", "secret"] {
            directory
                .resolve(&client, &token(), "T1", name)
                .await
                .expect("listed")
                .expect("found");
        }
        assert_eq!(fake.seen().len(), 2, "one listing of two pages");
    }

    #[tokio::test]
    async fn an_unknown_name_is_none_and_not_relisted_at_once() {
        let (fake, client) = two_pages();
        let directory = ChannelDirectory::default();
        for _ in 0..3 {
            let found = directory
                .resolve(&client, &token(), "T1", "nope")
                .await
                .expect("listed");
            assert_eq!(found, None);
        }
        assert_eq!(fake.seen().len(), 2);
    }

    #[tokio::test]
    async fn private_channels_are_never_joined_and_joined_ones_are_remembered() {
        let (_fake, client) = two_pages();
        let directory = ChannelDirectory::default();
        let secret = directory
            .resolve(&client, &token(), "T1", "secret")
            .await
            .expect("listed")
            .expect("found");
        assert!(secret.is_private && !secret.should_join);
        directory.note_member("T1", "C0RESULTS1");
        let results = directory
            .resolve(&client, &token(), "T1", "C0RESULTS1")
            .await
            .expect("ok")
            .expect("found");
        assert!(!results.should_join);
    }

    #[tokio::test]
    async fn workspaces_do_not_share_listings() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let fake = FakeSlack::start(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Reply::json(json!({"ok": true, "channels": [{"id": "C0GENERAL1", "name": "general"}]}))
        });
        let client = SlackClient::new(fake.base.clone(), Duration::from_secs(1)).expect("client");
        let directory = ChannelDirectory::default();
        for workspace in ["T1", "T2"] {
            directory
                .resolve(&client, &token(), workspace, "general")
                .await
                .expect("listed");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_cursor_that_does_not_move_is_an_error() {
        let fake = FakeSlack::start(|_| {
            Reply::json(json!({"ok": true, "channels": [],
                               "response_metadata": {"next_cursor": "stuck"}}))
        });
        let client = SlackClient::new(fake.base.clone(), Duration::from_secs(1)).expect("client");
        let err = ChannelDirectory::default()
            .resolve(&client, &token(), "T1", "general")
            .await
            .expect_err("refused");
        assert!(matches!(err, SlackError::Decode { .. }), "{err:?}");
    }
}
