//! `/lobby stats`: the week in numbers for this workspace.

use crate::db;
use crate::db::Db;
use crate::domain::TeamId;

const WEEK_SECS: i64 = 7 * 24 * 60 * 60;

pub async fn text(db: &Db, team_id: &TeamId) -> Result<String, sqlx::Error> {
    let counts = db::invite_requests::weekly_counts(db, team_id, db::now() - WEEK_SECS).await?;
    Ok(format!(
        "*This week in Lobby*\n• {} pending request{} waiting for an admin\n• {} invited\n• {} joined",
        counts.pending,
        if counts.pending == 1 { "" } else { "s" },
        counts.invited,
        counts.joined,
    ))
}
