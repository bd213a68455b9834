//! `lobby invites list|approve|deny|retry`: deciding invite requests from the command line.

use anyhow::anyhow;
use clap::Subcommand;

use crate::db;
use crate::domain::InviteStatus;
use crate::invites::{self, Approved};
use crate::state::AppState;

/// Who decided, in the audit log.
const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum InvitesCommand {
    /// List a community's requests, newest first
    List {
        #[arg(long)]
        community: String,
        /// unconfirmed, pending, queued, invited, link_sent, already_in_team, already_invited, joined,
        /// denied, failed, link_shown
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Approve a pending request (delivers it, or prints the shared link to pass on)
    Approve { id: i64 },
    /// Decline a pending request
    Deny { id: i64 },
    /// Send a pending or failed request through delivery again
    Retry { id: i64 },
}

pub async fn run(state: &AppState, command: InvitesCommand) -> anyhow::Result<String> {
    match command {
        InvitesCommand::List {
            community,
            status,
            limit,
        } => {
            let community = db::communities::by_slug(&state.db, &community)
                .await?
                .ok_or_else(|| anyhow!("no community {community}"))?;
            let status = status
                .as_deref()
                .map(InviteStatus::parse)
                .transpose()
                .map_err(|e| anyhow!(e))?;
            let requests = db::invite_requests::list(
                &state.db,
                community.id,
                status,
                None,
                limit.clamp(1, 1000),
            )
            .await?;
            if requests.is_empty() {
                return Ok("no requests".into());
            }
            let mut out = format!(
                "{:<8} {:<16} {:<32} {}\n",
                "ID", "STATUS", "EMAIL", "MESSAGE"
            );
            for r in requests {
                out.push_str(&format!(
                    "{:<8} {:<16} {:<32} {}\n",
                    r.id, r.status, r.email, r.status_message
                ));
            }
            Ok(out.trim_end().to_owned())
        }
        InvitesCommand::Approve { id } => match invites::approve(state, id, ACTOR).await? {
            Approved::Queued => Ok(format!(
                "approved request {id}; a running server delivers it"
            )),
            Approved::Mailing => Ok(format!(
                "approved request {id}; a running server mails the invite link"
            )),
            Approved::ShareLink(link) => Ok(format!(
                "approved request {id}; send the person this invite link: {}",
                link.as_str()
            )),
        },
        InvitesCommand::Deny { id } => {
            invites::deny(state, id, ACTOR).await?;
            Ok(format!("declined request {id}"))
        }
        InvitesCommand::Retry { id } => {
            invites::retry(state, id, ACTOR).await?;
            Ok(format!(
                "queued request {id} again; a running server delivers it"
            ))
        }
    }
}
