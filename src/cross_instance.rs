//! What instances sharing one PostgreSQL database tell each other: a job to run, an
//! installation that changed. Each instance applies the other's changes within milliseconds;
//! on SQLite (one server per file) nothing is sent.

use actix_web::web;
use tokio::sync::mpsc;

use crate::db::signals::{self, Signal};
use crate::state::AppState;

/// Listens for the other instances' signals and sends this one's, until the database closes.
pub fn spawn(state: web::Data<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.engine() != crate::db::Engine::Postgres {
        return None;
    }
    let (outbox, mut changed) = mpsc::unbounded_channel::<String>();
    state.installations.broadcast_to(outbox);
    let sender = state.clone();
    tokio::spawn(async move {
        while let Some(id) = changed.recv().await {
            if let Err(error) = signals::send(&sender.db, signals::INSTALLATIONS, &id).await {
                // The others' caches keep the old row until their next restart or signal loss:
                // say so loudly.
                tracing::error!(%error, team_id = %id, "cannot tell the other instances an installation changed");
            }
        }
    });
    Some(tokio::spawn(async move {
        let channels = [signals::JOBS, signals::INSTALLATIONS];
        signals::listen(&state.db.clone(), &channels, |signal| match signal {
            Signal::Message { channel, payload } if channel == signals::INSTALLATIONS => {
                state.installations.forget_here(&payload);
            }
            Signal::Message { .. } => state.queue.wake(),
            Signal::Resumed => {
                state.installations.forget_all_here();
                state.queue.wake();
            }
        })
        .await;
    }))
}
