//! What people ask Lobby in Slack — by slash command or by mentioning @Lobby — and the answers.
//!
//! Slash commands are answered in the HTTP response when the answer needs no Slack call (help,
//! stats, a proposed invite); anything slow (`/summarize`) is a job that answers later through
//! the command's `response_url`.

pub mod mention;
pub mod stats;
pub mod summarize;

use crate::config::SlashCommands;
use crate::db::{self, installations::Installation};
use crate::domain::{Email, EnterpriseId, TeamId, UserId};
use crate::invites::intake::{self, IntakeRefusal, Signup, Via};
use crate::invites::{SubmitError, Submitted};
pub use crate::replies::{Reply, ReplyTo};
use crate::slack::mrkdwn;
use crate::slack::payloads::SlashCommand;
use crate::state::AppState;

/// Why a command could not be answered. These are Lobby's failures; a person's mistake (a
/// mistyped address, a refused domain) gets an answer instead.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the proposed invite could not be recorded: {0}")]
    Submit(#[from] SubmitError),
}

/// What someone asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Help,
    Stats,
    Invite {
        email: String,
        name: String,
    },
    Summarize {
        url: String,
    },
    /// Words Lobby does not understand (answered with help).
    Unknown(String),
}

/// Parses "help", "stats", "summarize <url>", "invite <email> [name]" (the `/lobby` command and
/// mentions; an empty request is a request for help).
pub fn parse(text: &str) -> Intent {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    match word.to_ascii_lowercase().as_str() {
        "" | "help" => Intent::Help,
        "stats" => Intent::Stats,
        "summarize" | "summarise" | "tldr" => Intent::Summarize {
            url: strip_link(rest.trim()),
        },
        "invite" => parse_invite(rest),
        _ => Intent::Unknown(word.chars().take(40).collect()),
    }
}

fn parse_invite(text: &str) -> Intent {
    let text = text.trim();
    let (email, name) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    Intent::Invite {
        email: strip_link(email),
        name: name.trim().to_owned(),
    }
}

/// Slack sends links as `<https://x|label>` and addresses as `<mailto:a@b|a@b>`.
fn strip_link(s: &str) -> String {
    let inner = s
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s);
    let target = inner.split('|').next().unwrap_or(inner);
    target.strip_prefix("mailto:").unwrap_or(target).to_owned()
}

/// Whether a slash command is one of Lobby's.
pub fn is_ours(commands: &SlashCommands, command: &str) -> bool {
    [&commands.lobby, &commands.invite, &commands.summarize]
        .into_iter()
        .any(|ours| ours == command)
}

/// What a command name plus its text asks for; `None` for commands that are not Lobby's.
pub fn intent_of(commands: &SlashCommands, command: &str, text: &str) -> Option<Intent> {
    if command == commands.lobby {
        Some(parse(text))
    } else if command == commands.invite {
        Some(parse_invite(text))
    } else if command == commands.summarize {
        Some(Intent::Summarize {
            url: strip_link(text.trim()),
        })
    } else {
        None
    }
}

pub fn help_text(commands: &SlashCommands) -> String {
    format!(
        "*Lobby* helps people join this workspace.\n\
         • `{invite} email [name]` (or `{lobby} invite email [name]`) — propose someone; admins approve it (or it goes straight out, depending on the community)\n\
         • `{summarize} <url>` — summarize a web page in three sentences, for the whole channel\n\
         • `{lobby} stats` — pending requests, invites and joins this week\n\
         • Mention me: `@Lobby help`, `@Lobby stats`, `@Lobby summarize <url>`",
        invite = commands.invite,
        summarize = commands.summarize,
        lobby = commands.lobby,
    )
}

/// Answers a slash command. The answer goes back in the HTTP response, so it must be quick.
pub async fn slash(state: &AppState, cmd: SlashCommand) -> Result<Option<Reply>, CommandError> {
    let Some(intent) = intent_of(&state.settings.commands, &cmd.command, &cmd.text) else {
        return Ok(None);
    };
    // A team id that does not parse names no installation.
    let team_id = TeamId::parse(&cmd.team_id).ok();
    let enterprise_id = (cmd.enterprise_id.as_deref())
        .filter(|e| !e.is_empty())
        .and_then(|e| EnterpriseId::parse(e).ok());
    let installation = match &team_id {
        Some(team_id) => state
            .installations
            .for_team(&state.db, team_id, enterprise_id.as_ref())
            .await?
            .filter(|i| i.is_active()),
        None => None,
    };
    let (Some(installation), Some(team_id), Ok(user_id)) =
        (installation, team_id, UserId::parse(&cmd.user_id))
    else {
        return Ok(Some(Reply::ephemeral(
            "Lobby is not installed in this workspace (any more). An admin can add it again.",
        )));
    };
    let reply_to = ReplyTo::ResponseUrl {
        url: cmd.response_url.clone(),
    };
    answer(
        state,
        installation.as_ref(),
        &team_id,
        &user_id,
        intent,
        reply_to,
    )
    .await
    .map(Some)
}

/// The answer to an intent. Summaries are queued; everything else is answered at once.
pub async fn answer(
    state: &AppState,
    installation: &Installation,
    team_id: &TeamId,
    user_id: &UserId,
    intent: Intent,
    reply_to: ReplyTo,
) -> Result<Reply, CommandError> {
    let commands = &state.settings.commands;
    Ok(match intent {
        Intent::Help => Reply::ephemeral(help_text(commands)),
        Intent::Unknown(word) => Reply::ephemeral(format!(
            "I don't know “{}”.\n{}",
            mrkdwn::escape(&word),
            help_text(commands)
        )),
        Intent::Stats => Reply::ephemeral(stats::text(&state.db, team_id).await?),
        Intent::Invite { email, name } => {
            Reply::ephemeral(propose(state, installation, team_id, user_id, &email, &name).await?)
        }
        Intent::Summarize { url } => {
            if url.is_empty() {
                return Ok(Reply::ephemeral(format!(
                    "Give me a link: `{} https://example.org/article`",
                    commands.summarize
                )));
            }
            summarize::queue(state, &url, &reply_to).await?;
            Reply::ephemeral(format!(
                "Reading {} — the summary will appear here in a moment.",
                mrkdwn::escape(&url)
            ))
        }
    })
}

/// `/invite email [name]`: a member proposes someone for the workspace's community.
async fn propose(
    state: &AppState,
    installation: &Installation,
    team_id: &TeamId,
    user_id: &UserId,
    email: &str,
    name: &str,
) -> Result<String, CommandError> {
    let email = match Email::parse(email) {
        Ok(email) => email,
        Err(e) => {
            return Ok(format!(
                "{} Try `{} someone@example.org Their Name`.",
                mrkdwn::escape(&e.to_string()),
                state.settings.commands.invite
            ));
        }
    };
    let shown = mrkdwn::escape(email.as_str());
    let communities = db::communities::for_installation(&state.db, &installation.id).await?;
    let Some(community) = communities
        .iter()
        .find(|c| &c.team_id == team_id)
        .or(communities.first())
    else {
        return Ok("This workspace has no community to invite people to yet. An admin can create one in the dashboard.".into());
    };
    let taken = intake::intake(
        state,
        Signup {
            community,
            email: email.as_str(),
            name,
            lang: crate::i18n::Lang::default(),
            // A member of the workspace vouches for the address they typed.
            via: Via::Slack { user_id },
        },
    )
    .await;
    let submitted = match taken {
        Ok(submitted) => submitted,
        Err(IntakeRefusal::Submit(e @ (SubmitError::Random(_) | SubmitError::Secret(_)))) => {
            return Err(e.into());
        }
        // The same sentence the join form shows (a link-mode community without its link, too).
        Err(refusal) => return Ok(mrkdwn::escape(&refusal.to_string())),
    };
    Ok(match submitted {
        Submitted::Queued { .. } => {
            format!("Thanks! Slack will email an invitation to {shown} shortly.")
        }
        Submitted::Pending { .. } => {
            format!("Thanks! Your proposal to invite {shown} is waiting for an admin.")
        }
        Submitted::Link { .. } => format!(
            "This community invites through its shared link; please send it to {shown} yourself."
        ),
        Submitted::LinkMailed { .. } => {
            format!("Thanks! The community's invite link is on its way to {shown} by mail.")
        }
        Submitted::Confirming { .. } => {
            format!("Thanks! {shown} gets a mail to confirm the address first.")
        }
        Submitted::AlreadyOpen => format!("{shown} already has a request waiting."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(parse(""), Intent::Help);
        assert_eq!(parse("  HELP "), Intent::Help);
        assert_eq!(parse("stats"), Intent::Stats);
        assert_eq!(
            parse("summarize <https://example.org/a?b=c|example.org/a>"),
            Intent::Summarize {
                url: "https://example.org/a?b=c".into()
            }
        );
        assert_eq!(
            parse("invite <mailto:ada@example.org|ada@example.org> Ada Lovelace"),
            Intent::Invite {
                email: "ada@example.org".into(),
                name: "Ada Lovelace".into()
            }
        );
        assert_eq!(parse("dance"), Intent::Unknown("dance".into()));
    }

    #[test]
    fn command_names_map_to_intents() {
        let names = SlashCommands::default();
        assert_eq!(intent_of(&names, "/lobby", "stats"), Some(Intent::Stats));
        assert_eq!(
            intent_of(&names, "/lobby-invite", "grace@example.org"),
            Some(Intent::Invite {
                email: "grace@example.org".into(),
                name: String::new()
            })
        );
        assert_eq!(
            intent_of(&names, "/summarize", "https://example.org"),
            Some(Intent::Summarize {
                url: "https://example.org".into()
            })
        );
        assert_eq!(intent_of(&names, "/echo", "hi"), None);
    }
}
