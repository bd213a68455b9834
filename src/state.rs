//! What every handler can reach: settings, the database, the keyring and the Slack client.

use crate::abuse::{JoinLimits, RateLimiter};
use crate::config::{Settings, SlackCredentials};
use crate::db::Db;
use crate::emulator::Emulator;
use crate::installation_tokens::RefreshLocks;
use crate::installations::Installations;
use crate::jobs::Queue;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::posting::ChannelDirectory;
use crate::slack::client::SlackClient;
use crate::slack::openid_keys::OpenIdKeys;
use crate::slack::replay::ReplayGuard;
use crate::vault::Keyring;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub keyring: Keyring,
    pub slack: SlackClient,
    /// The Slack app's credentials: the configured ones, or the built-in emulator's in demo mode.
    pub credentials: SlackCredentials,
    /// Where browsers are sent to grant the app (Slack's, or the emulator's in demo mode).
    pub oauth_authorize_url: url::Url,
    pub openid_authorize_url: url::Url,
    /// Slack's id_token signing keys (the emulator's in demo mode), cached.
    pub openid_keys: OpenIdKeys,
    /// The emulator mounted at `/_emulator/slack/`, in demo mode only.
    pub emulator: Option<Emulator>,
    pub refresh_locks: RefreshLocks,
    /// Installations and their opened tokens, so requests need no database read or unseal.
    pub installations: Installations,
    /// The durable job queue every Slack call and slow task goes through.
    pub queue: Queue,
    /// Signups and their jobs, committed many to a transaction.
    pub signups: crate::invites::recorder::Recorder,
    /// Per-client-IP limits on join-form submissions, per community.
    pub join_limiter: JoinLimits,
    /// Per-client-IP limits on starting Add to Slack or Sign in with Slack.
    pub oauth_start_limiter: RateLimiter,
    /// Channel names resolved to ids, per workspace, for the posting API.
    pub channels: ChannelDirectory,
    /// Channel, people and workspace names for the dashboard, cached.
    pub names: crate::admin::names::SlackNames,
    /// What `GET /metrics` reports; the middleware, the workers and the Slack client count into it.
    pub metrics: Metrics,
    /// Signed commands and clicks already received, so a replay is refused.
    pub replays: ReplayGuard,
    /// Outgoing mail: SMTP when configured, the demo mailbox in demo mode, else none.
    pub mailer: Option<Mailer>,
}

impl AppState {
    pub fn is_demo(&self) -> bool {
        self.emulator.is_some()
    }

    /// The demo's emulator, standing in for slack.com (its invite links count as Slack's).
    pub fn demo_slack(&self) -> Option<&url::Url> {
        self.emulator.as_ref().map(|e| e.base_url())
    }
}
