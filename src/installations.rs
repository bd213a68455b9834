//! Installations in memory: a command, event or API call finds its workspace's installation and
//! opened token here instead of reading a row and unsealing a token on every request.
//!
//! Entries are filled on first use and forgotten after every change commits (install, reinstall,
//! token refresh, uninstall, revocation, marking inactive, removal), so the next use reads the
//! database again. A read that raced with a change is not kept: every change bumps a generation,
//! and a loaded value is cached only if no change happened while it was read. One server per SQLite
//! file makes every change but the CLI's its own; a token the CLI found dead is dropped at the
//! server's first refused call with it. Instances sharing PostgreSQL tell each other of every
//! change (`cross_instance`), so a removed workspace is refused everywhere within milliseconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tokio::sync::mpsc::UnboundedSender;

use crate::db::{
    self, Db,
    installations::{Installation, StoredToken, TokenError, TokenKind},
};
use crate::domain::{EnterpriseId, TeamId};
use crate::vault::Keyring;

/// A safety bound: past this many entries the cache starts over (ids come from signed requests
/// and the dashboard, so this is never reached by a real deployment).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
struct Entries {
    /// Installation id → its row, or `None` when there is no such row.
    rows: HashMap<TeamId, Option<Arc<Installation>>>,
    /// Opened tokens of active installations; `None` when there is none to use.
    tokens: HashMap<(TeamId, TokenKind), Option<Arc<StoredToken>>>,
}

#[derive(Default)]
pub struct Installations {
    entries: RwLock<Entries>,
    generation: AtomicU64,
    /// Where changed ids go to reach the other instances (PostgreSQL only).
    broadcast: OnceLock<UnboundedSender<String>>,
}

impl Installations {
    /// The installation with that id (active or not).
    pub async fn get(
        &self,
        db: &Db,
        id: &TeamId,
    ) -> Result<Option<Arc<Installation>>, sqlx::Error> {
        if let Some(row) = self.read().rows.get(id) {
            return Ok(row.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let row = db::installations::get(db, id).await?.map(Arc::new);
        self.keep(generation, |entries| {
            entries.rows.insert(id.clone(), row.clone());
        });
        Ok(row)
    }

    /// The installation that serves a workspace: its own, or its organisation's org-wide one
    /// (the same choice as [`db::installations::for_team`]).
    pub async fn for_team(
        &self,
        db: &Db,
        team_id: &TeamId,
        enterprise_id: Option<&EnterpriseId>,
    ) -> Result<Option<Arc<Installation>>, sqlx::Error> {
        if let Some(own) = self.get(db, team_id).await? {
            return Ok(Some(own));
        }
        let Some(enterprise_id) = enterprise_id else {
            return Ok(None);
        };
        Ok(self
            .get(db, &TeamId::from(enterprise_id.clone()))
            .await?
            .filter(|org| org.is_enterprise_install))
    }

    /// The opened token of that kind, while the installation is active.
    pub async fn token(
        &self,
        db: &Db,
        keyring: &Keyring,
        id: &TeamId,
        kind: TokenKind,
    ) -> Result<Option<Arc<StoredToken>>, TokenError> {
        let key = (id.clone(), kind);
        if let Some(token) = self.read().tokens.get(&key) {
            return Ok(token.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let token = db::installations::token(db, keyring, id, kind)
            .await?
            .map(Arc::new);
        self.keep(generation, |entries| {
            entries.tokens.insert(key, token.clone());
        });
        Ok(token)
    }

    /// Call after a change to the installation has committed: the next use reads it again,
    /// here and on every other instance.
    pub fn forget(&self, id: &TeamId) {
        self.forget_here(id.as_str());
        if let Some(outbox) = self.broadcast.get() {
            // Fails only when the sender task is gone, i.e. the server is stopping.
            let _ = outbox.send(id.to_string());
        }
    }

    /// Sends every later [`Installations::forget`] to the other instances through `outbox`.
    pub fn broadcast_to(&self, outbox: UnboundedSender<String>) {
        let _ = self.broadcast.set(outbox);
    }

    /// Forgets every entry: after other instances' signals may have been missed.
    pub fn forget_all_here(&self) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        *entries = Entries::default();
    }

    /// Forgets the installation in this process only (another instance changed it; its id comes
    /// as the signal's text, so it is only compared, never parsed).
    pub fn forget_here(&self, id: &str) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.rows.remove(id);
        entries
            .tokens
            .retain(|(token_id, _), _| token_id.as_str() != id);
    }

    /// Stores what was read at `generation`, unless a change came in since.
    fn keep(&self, generation: u64, store: impl FnOnce(&mut Entries)) {
        let mut entries = self.write();
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.rows.len() + entries.tokens.len() >= MAX_ENTRIES {
            *entries = Entries::default();
        }
        store(&mut entries);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}
