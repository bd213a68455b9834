//! Signals between instances sharing one PostgreSQL database (`LISTEN`/`NOTIFY`). One SQLite
//! file serves one process, which needs none: there every function here does nothing.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::Db;

/// A job was enqueued or released: idle workers look for it.
pub const JOBS: &str = "lobby_jobs";
/// An installation changed (its id is the payload): caches read it again.
pub const INSTALLATIONS: &str = "lobby_installations";

pub enum Signal {
    Message {
        channel: String,
        payload: String,
    },
    /// The connection was lost and is back: signals in between may be missing.
    Resumed,
}

/// Sends `payload` on `channel` to every instance (this one included).
pub async fn send(db: &Db, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pool) = db {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Calls `on` for each signal on `channels`, reconnecting when the connection drops, until the
/// pool closes. Returns at once on SQLite.
pub async fn listen(db: &Db, channels: &[&str], mut on: impl FnMut(Signal)) {
    let Db::Postgres(pool) = db else {
        return;
    };
    while !pool.is_closed() {
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other instances' signals; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen_all(channels.iter().copied()).await {
            tracing::warn!(%error, "cannot listen for other instances' signals; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever was sent before this connection listened is unknown.
        on(Signal::Resumed);
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => on(Signal::Message {
                    channel: n.channel().to_owned(),
                    payload: n.payload().to_owned(),
                }),
                // The connection dropped; the next call reconnects and listens again.
                Ok(None) => on(Signal::Resumed),
                Err(error) => {
                    tracing::warn!(%error, "lost the connection for other instances' signals");
                    break;
                }
            }
        }
    }
}
