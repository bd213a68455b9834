//! The mail log: what Lobby sent (or could not send), for whom and what the server said.
//! Neither the recipient nor the body is kept here.

use super::{Exec, on_conn};

pub struct MailRecord<'a> {
    pub community_id: Option<i64>,
    pub request_id: Option<i64>,
    pub purpose: &'a str,
    /// `sent` or `failed`.
    pub status: &'a str,
    pub message_id: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub async fn record(db: impl Into<Exec<'_>>, mail: &MailRecord<'_>) -> Result<i64, sqlx::Error> {
    let now = super::now();
    on_conn!(db, |c| {
        sqlx::query_scalar(
        "INSERT INTO mails (community_id, request_id, purpose, status, message_id, error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(mail.community_id)
    .bind(mail.request_id)
    .bind(mail.purpose)
    .bind(mail.status)
    .bind(mail.message_id)
    .bind(mail.error)
    .bind(now)
    .bind(now)
    .fetch_one(c)
        .await
    })
}

/// How many mails of `purpose` were sent for a request (tests and the dashboard ask).
pub async fn sent_for_request(
    db: impl Into<Exec<'_>>,
    request_id: i64,
    purpose: &str,
) -> Result<i64, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mails WHERE request_id = $1 AND purpose = $2 AND status = 'sent'",
    )
    .bind(request_id)
    .bind(purpose)
    .fetch_one(c)
    .await)
}
