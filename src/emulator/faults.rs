//! Faults a test asks for: the next `times` calls of a method fail (or dawdle) the way Slack can.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How a Web API call misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// A bare HTTP status (e.g. 500, 503) with no Slack body.
    Status(u16),
    /// HTTP 200 `{"ok":false,"error":<code>}`, e.g. `invalid_auth`.
    Error(String),
    /// Waits this long, then answers normally.
    Slow(Duration),
    /// Waits until the test opens the gate, then answers normally: a slow Slack without a timer.
    Held(Gate),
}

/// Holds back calls until [`Gate::release`]; tells the test when a call is waiting at it.
#[derive(Clone, Default)]
pub struct Gate(Arc<GateState>);

#[derive(Default)]
struct GateState {
    open: watch::Sender<bool>,
    arrived: watch::Sender<u32>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets every held call (and every later one) through.
    pub fn release(&self) {
        self.0.open.send_replace(true);
    }

    /// Resolves once a call has reached the gate.
    pub async fn arrived(&self) {
        let mut arrivals = self.0.arrived.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = arrivals.wait_for(|n| *n > 0).await;
    }

    /// How many calls have reached the gate so far.
    pub fn arrivals(&self) -> u32 {
        *self.0.arrived.borrow()
    }

    /// Waits at the gate until it is released.
    pub(crate) async fn pass(&self) {
        let mut open = self.0.open.subscribe();
        self.0.arrived.send_modify(|n| *n += 1);
        let _ = open.wait_for(|open| *open).await;
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("open", &*self.0.open.borrow())
            .field("arrivals", &self.arrivals())
            .finish()
    }
}

/// Method name that matches every method.
pub const ANY_METHOD: &str = "*";

#[derive(Debug)]
struct Pending {
    method: String,
    fault: Fault,
    remaining: u32,
}

/// Faults waiting for their calls, oldest first.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    pending: Vec<Pending>,
}

impl FaultQueue {
    pub fn inject(&mut self, method: &str, fault: Fault, times: u32) {
        if times > 0 {
            self.pending.push(Pending {
                method: method.to_owned(),
                fault,
                remaining: times,
            });
        }
    }

    /// The fault this call of `method` must suffer, if any; each call uses up one.
    pub fn take(&mut self, method: &str) -> Option<Fault> {
        let index = self
            .pending
            .iter()
            .position(|p| p.method == method || p.method == ANY_METHOD)?;
        let pending = &mut self.pending[index];
        pending.remaining -= 1;
        let fault = pending.fault.clone();
        if pending.remaining == 0 {
            self.pending.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_applies_exactly_times_times_and_only_to_its_method() {
        let mut queue = FaultQueue::default();
        queue.inject("chat.postMessage", Fault::Status(503), 2);
        assert_eq!(queue.take("auth.test"), None);
        assert_eq!(queue.take("chat.postMessage"), Some(Fault::Status(503)));
        assert_eq!(queue.take("chat.postMessage"), Some(Fault::Status(503)));
        assert_eq!(queue.take("chat.postMessage"), None);
    }

    #[test]
    fn the_wildcard_matches_any_method_in_injection_order() {
        let mut queue = FaultQueue::default();
        queue.inject(ANY_METHOD, Fault::Error("invalid_auth".into()), 1);
        queue.inject("users.list", Fault::Status(500), 1);
        assert_eq!(
            queue.take("users.list"),
            Some(Fault::Error("invalid_auth".into()))
        );
        assert_eq!(queue.take("users.list"), Some(Fault::Status(500)));
        assert_eq!(queue.take("users.list"), None);
    }

    #[test]
    fn zero_times_injects_nothing() {
        let mut queue = FaultQueue::default();
        queue.inject("*", Fault::Status(500), 0);
        assert_eq!(queue.take("api.test"), None);
    }
}
