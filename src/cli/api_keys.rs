//! `lobby api-keys create|list|revoke`: keys for other systems to call the API.

use anyhow::anyhow;
use clap::Subcommand;
use secrecy::ExposeSecret;

use crate::domain::TeamId;
use crate::state::AppState;
use crate::{api_keys, db};

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key for a workspace; it is printed once and stored only as a hash
    Create {
        #[arg(long, value_parser = TeamId::parse)]
        team: TeamId,
        #[arg(long)]
        name: String,
    },
    /// List a workspace's keys (never the keys themselves)
    List {
        #[arg(long, value_parser = TeamId::parse)]
        team: TeamId,
    },
    /// Revoke a key
    Revoke {
        #[arg(long, value_parser = TeamId::parse)]
        team: TeamId,
        id: i64,
    },
}

pub async fn run(state: &AppState, command: ApiKeysCommand) -> anyhow::Result<String> {
    match command {
        ApiKeysCommand::Create { team, name } => {
            db::installations::get(&state.db, &team)
                .await?
                .filter(|i| i.is_active())
                .ok_or_else(|| anyhow!("no active installation {team}"))?;
            let created = api_keys::create(&state.db, &team, name.trim(), "cli").await?;
            db::audit::record(
                &state.db,
                Some(&team),
                "cli",
                "api_key.created",
                name.trim(),
            )
            .await?;
            Ok(format!(
                "created API key {} for {team}; it is shown once:\n{}",
                created.id,
                created.key.expose_secret()
            ))
        }
        ApiKeysCommand::List { team } => {
            let keys = db::api_keys::list(&state.db, &team).await?;
            if keys.is_empty() {
                return Ok("no API keys".into());
            }
            let mut out = format!("{:<6} {:<14} {:<9} {}\n", "ID", "PREFIX", "STATE", "NAME");
            for k in keys {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                out.push_str(&format!(
                    "{:<6} {:<14} {:<9} {}\n",
                    k.id, k.prefix, state, k.name
                ));
            }
            Ok(out.trim_end().to_owned())
        }
        ApiKeysCommand::Revoke { team, id } => {
            if !db::api_keys::revoke(&state.db, &team, id).await? {
                return Err(anyhow!("no active key {id} for {team}"));
            }
            db::audit::record(
                &state.db,
                Some(&team),
                "cli",
                "api_key.revoked",
                &id.to_string(),
            )
            .await?;
            Ok(format!("revoked API key {id}"))
        }
    }
}
