//! The emulator's mutable memory, kept behind one lock.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::codes::CodeStore;
use super::faults::FaultQueue;
use super::invites::Invite;
use super::record::RecordedCall;
use super::response_urls::ResponseUrls;
use super::seed;
use super::tokens::TokenStore;
use super::uploads::Upload;
use super::world::World;

/// An Events API body already sent, kept for redelivery.
#[derive(Debug)]
pub(crate) struct SentEvent {
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub world: World,
    pub tokens: TokenStore,
    pub codes: CodeStore,
    pub faults: FaultQueue,
    pub calls: Vec<RecordedCall>,
    pub response_urls: ResponseUrls,
    pub uploads: Vec<Upload>,
    pub invites: Vec<Invite>,
    pub sent_events: HashMap<String, SentEvent>,
    /// What the index page's last "send slash command" got back.
    pub last_send_outcome: Option<String>,
    /// Added to the wall clock, so tests can jump past expiry times.
    pub clock_offset: Duration,
    /// How the next id_token is spoiled, when a test asked for it.
    pub id_token_flaw: Option<super::id_token::IdTokenFlaw>,
    serial: u64,
}

/// The call log keeps this many calls; a long-running demo must not grow without bound.
pub const MAX_RECORDED_CALLS: usize = 10_000;

impl State {
    /// Adds a call to the log, forgetting the oldest when the log is full.
    pub fn record_call(&mut self, call: RecordedCall) {
        if self.calls.len() >= MAX_RECORDED_CALLS {
            // Dropping a tenth at once keeps the cost of shifting the log rare.
            self.calls.drain(..MAX_RECORDED_CALLS / 10);
        }
        self.calls.push(call);
    }

    pub fn seeded() -> Self {
        Self {
            world: seed::world(),
            tokens: TokenStore::default(),
            codes: CodeStore::default(),
            faults: FaultQueue::default(),
            calls: Vec::new(),
            response_urls: ResponseUrls::default(),
            uploads: Vec::new(),
            invites: Vec::new(),
            sent_events: HashMap::new(),
            last_send_outcome: None,
            clock_offset: Duration::ZERO,
            id_token_flaw: None,
            serial: 0,
        }
    }

    /// The emulator's idea of now.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    /// A fresh number, unique for this emulator's lifetime.
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A message timestamp like Slack's (`seconds.micro-ish`), unique per emulator.
    pub fn next_message_ts(&mut self) -> String {
        let serial = self.next_serial();
        format!("{}.{:06}", self.now().unix_timestamp(), serial % 1_000_000)
    }
}
