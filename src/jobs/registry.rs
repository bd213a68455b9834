//! Which handler runs which kind of job.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Job, Outcome};

pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// Runs one kind of job. Any `Fn(Job) -> impl Future<Output = Outcome>` closure is a handler.
/// The future is spawned on its own task, so it owns what it needs (`'static`).
pub trait Handler: Send + Sync + 'static {
    fn run(&self, job: Job) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn run(&self, job: Job) -> HandlerFuture {
        Box::pin(self(job))
    }
}

#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn Handler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes jobs of `kind` to `handler`, replacing any handler registered for it before.
    pub fn register(&mut self, kind: &str, handler: impl Handler) -> &mut Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(kind).cloned()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &str) -> Job {
        Job {
            id: 1,
            kind: kind.to_owned(),
            payload: serde_json::Value::Null,
            attempt: 1,
        }
    }

    #[tokio::test]
    async fn a_registered_closure_handles_its_kind() {
        let mut registry = Registry::new();
        registry.register("greet", |job: Job| async move {
            Outcome::fail(format!("attempt {}", job.attempt))
        });
        let handler = registry.get("greet").expect("registered");
        assert_eq!(handler.run(job("greet")).await, Outcome::fail("attempt 1"));
    }

    #[test]
    fn an_unknown_kind_has_no_handler() {
        assert!(Registry::new().get("nope").is_none());
    }
}
