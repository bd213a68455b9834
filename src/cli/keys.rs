//! `lobby keys`: generate, rotate and re-seal the master keys.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::storage;
use crate::vault::MasterKey;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key to the key file and re-seal every secret with it, in one transaction
    Rotate,
    /// Re-seal every secret with the newest configured key (after adding one to LOBBY_MASTER_KEY)
    Reseal,
    /// Print a new random key (base64), e.g. for LOBBY_MASTER_KEY
    Generate,
    /// Seal a Slack token read from stdin under a password, into a file safe to commit
    /// (for `lobby post --token-file`)
    Seal(super::seal::SealArgs),
}

pub async fn run(settings: Settings, command: KeysCommand) -> ExitCode {
    if let KeysCommand::Generate = command {
        println!("{}", &*MasterKey::generate().to_base64());
        return ExitCode::SUCCESS;
    }
    let storage = match storage::open(&settings).await {
        Ok(storage) => storage,
        Err(e) => {
            eprintln!("lobby: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        KeysCommand::Rotate => storage::rotate(&settings, &storage.db).await.map(|r| {
            let file = r
                .key_file
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            format!(
                "added key {} to {file}; re-sealed {} secrets with it",
                r.key_id, r.resealed
            )
        }),
        KeysCommand::Reseal => storage::reseal(&storage.db, &storage.keyring)
            .await
            .map(|n| {
                format!(
                    "re-sealed {n} secrets with key {}",
                    storage.keyring.sealing_key_id()
                )
            }),
        KeysCommand::Generate => unreachable!("handled above"),
        KeysCommand::Seal(_) => unreachable!("handled before the settings are loaded"),
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lobby: {e:#}");
            ExitCode::FAILURE
        }
    }
}
