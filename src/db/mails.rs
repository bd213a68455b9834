//! The mail log: what Lobby sent (or could not send), for whom and what the server said.
//! Neither the recipient nor the body is kept here.

use sqlx::SqliteExecutor;

pub struct MailRecord<'a> {
    pub community_id: Option<i64>,
    pub request_id: Option<i64>,
    pub purpose: &'a str,
    /// `sent` or `failed`.
    pub status: &'a str,
    pub message_id: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub async fn record(
    db: impl SqliteExecutor<'_>,
    mail: &MailRecord<'_>,
) -> Result<i64, sqlx::Error> {
    let now = super::now();
    sqlx::query_scalar(
        "INSERT INTO mails (community_id, request_id, purpose, status, message_id, error, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(mail.community_id)
    .bind(mail.request_id)
    .bind(mail.purpose)
    .bind(mail.status)
    .bind(mail.message_id)
    .bind(mail.error)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

/// How many mails of `purpose` were sent for a request (tests and the dashboard ask).
pub async fn sent_for_request(
    db: impl SqliteExecutor<'_>,
    request_id: i64,
    purpose: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM mails WHERE request_id = ? AND purpose = ? AND status = 'sent'",
    )
    .bind(request_id)
    .bind(purpose)
    .fetch_one(db)
    .await
}
