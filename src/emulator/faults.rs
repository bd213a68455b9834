//! Faults a test asks for: the next `times` calls of a method fail (or dawdle) the way Slack can.

use std::time::Duration;

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
