//! `lobby community add|list|set`: editing communities from the command line.

use std::io::Read;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use secrecy::SecretString;

use crate::communities;
use crate::db::{
    self, communities::CommunitySecret, communities::CommunitySettings, communities::SecretChange,
};
use crate::domain::{InviteLink, InviteMode, Slug, TeamId};
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum CommunityCommand {
    /// Create a community for an installed workspace
    Add {
        /// The installation (team id, or enterprise id for org-wide installs)
        #[arg(long, value_parser = TeamId::parse)]
        team: TeamId,
        /// The workspace invites go to, when it differs from --team (org-wide installs)
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        title: String,
        #[command(flatten)]
        settings: SettingArgs,
    },
    /// List every community
    List,
    /// Change a community's settings
    Set {
        slug: String,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        settings: SettingArgs,
    },
}

#[derive(Debug, Args)]
pub struct SettingArgs {
    #[arg(long)]
    description: Option<String>,
    /// admin_api, legacy, approval or link
    #[arg(long)]
    mode: Option<String>,
    /// Default channel ids, comma-separated
    #[arg(long)]
    channels: Option<String>,
    #[arg(long)]
    coc_url: Option<String>,
    #[arg(long)]
    coc_required: Option<bool>,
    /// Only these email domains may ask (comma-separated; empty for any)
    #[arg(long)]
    allowed_domains: Option<String>,
    #[arg(long)]
    denied_domains: Option<String>,
    /// Channel id where approval requests are posted
    #[arg(long)]
    admin_channel: Option<String>,
    /// The shared invite link ("" clears it)
    #[arg(long)]
    invite_link: Option<String>,
    /// Read a legacy token for users.admin.invite from stdin (never from the command line)
    #[arg(long)]
    legacy_token_stdin: bool,
    /// turnstile, hcaptcha or none
    #[arg(long)]
    captcha: Option<String>,
    #[arg(long)]
    captcha_site_key: Option<String>,
    /// Read the captcha secret from stdin
    #[arg(long)]
    captcha_secret_stdin: bool,
}

pub async fn run(state: &AppState, command: CommunityCommand) -> anyhow::Result<String> {
    match command {
        CommunityCommand::List => list(state).await,
        CommunityCommand::Add {
            team,
            workspace,
            slug,
            title,
            settings,
        } => {
            let installation =
                db::installations::get(&state.db, &team)
                    .await?
                    .ok_or_else(|| {
                        anyhow!("no installation {team}; install Lobby in that workspace first")
                    })?;
            let slug = Slug::parse(&slug).map_err(|e| anyhow!("{e}"))?;
            if db::communities::slug_taken(&state.db, slug.as_str()).await? {
                bail!("the slug {slug} is taken", slug = slug.as_str());
            }
            let team_id =
                crate::communities::target_workspace(state, &installation, workspace.as_deref())
                    .await
                    .map_err(|e| anyhow!("--workspace: {e}"))?;
            let mode = crate::invites::starting_mode(crate::invites::invites_by_api(&installation));
            let base = CommunitySettings::new(title, mode);
            let merged = settings.apply(base)?;
            settings.validate(&merged, communities::SecretsSet::default())?;
            let id = db::communities::create(
                &state.db,
                slug.as_str(),
                &installation.id,
                &team_id,
                &merged,
            )
            .await?;
            settings.store_secrets(state, id).await?;
            db::audit::record(
                &state.db,
                Some(&installation.id),
                "cli",
                "community.created",
                slug.as_str(),
            )
            .await?;
            Ok(format!(
                "created community {} ({}), join page /join/{}",
                slug.as_str(),
                merged.invite_mode,
                slug.as_str()
            ))
        }
        CommunityCommand::Set {
            slug,
            title,
            settings,
        } => {
            let community = db::communities::by_slug(&state.db, &slug)
                .await?
                .ok_or_else(|| anyhow!("no community {slug}"))?;
            let mut current = community.settings();
            if let Some(title) = title {
                current.title = title;
            }
            let merged = settings.apply(current)?;
            settings.validate(
                &merged,
                communities::SecretsSet {
                    invite_link: community.has_invite_link,
                    legacy_token: community.has_legacy_token,
                    captcha_secret: community.has_captcha_secret,
                },
            )?;
            db::communities::update(&state.db, community.id, &merged).await?;
            settings.store_secrets(state, community.id).await?;
            db::audit::record(
                &state.db,
                Some(&community.installation_id),
                "cli",
                "community.updated",
                &slug,
            )
            .await?;
            Ok(format!("updated community {slug}"))
        }
    }
}

impl SettingArgs {
    fn apply(&self, mut s: CommunitySettings) -> anyhow::Result<CommunitySettings> {
        let non_empty = |v: &String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(v) = &self.description {
            s.description = v.trim().to_owned();
        }
        if let Some(v) = &self.mode {
            s.invite_mode = InviteMode::parse(v).map_err(|e| anyhow!(e))?;
        }
        if let Some(v) = &self.channels {
            s.default_channels = communities::join_list(v);
        }
        if let Some(v) = &self.coc_url {
            s.coc_url = non_empty(v);
        }
        if let Some(v) = self.coc_required {
            s.coc_required = v;
        }
        if let Some(v) = &self.allowed_domains {
            s.allowed_domains = v.trim().to_lowercase();
        }
        if let Some(v) = &self.denied_domains {
            s.denied_domains = v.trim().to_lowercase();
        }
        if let Some(v) = &self.admin_channel {
            s.admin_channel = non_empty(v);
        }
        match self.captcha.as_deref() {
            None => {}
            Some("none") => {
                s.captcha_provider = None;
                s.captcha_site_key = None;
            }
            Some(p) => s.captcha_provider = Some(p.to_owned()),
        }
        if let Some(v) = &self.captcha_site_key {
            s.captcha_site_key = non_empty(v);
        }
        Ok(communities::normalized(s))
    }

    /// The dashboard's rules, so the CLI refuses what the dashboard refuses (exit 2, a line per
    /// problem). `stored`: the sealed settings the community already has.
    fn validate(
        &self,
        settings: &CommunitySettings,
        stored: communities::SecretsSet,
    ) -> anyhow::Result<()> {
        let link_given = self.invite_link.as_deref().map(str::trim);
        let secrets = communities::SecretsSet {
            invite_link: match link_given {
                Some("") => false,
                Some(_) => true,
                None => stored.invite_link,
            },
            legacy_token: stored.legacy_token || self.legacy_token_stdin,
            captcha_secret: stored.captcha_secret || self.captcha_secret_stdin,
        };
        let problems = communities::validate(settings, secrets);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(super::Refused(problems.into_iter().map(|p| p.message).collect()).into())
        }
    }

    async fn store_secrets(&self, state: &AppState, id: i64) -> anyhow::Result<()> {
        if let Some(link) = &self.invite_link {
            let change = if link.trim().is_empty() {
                SecretChange::Clear
            } else {
                let link = InviteLink::parse(link, state.demo_slack())
                    .map_err(|e| anyhow::anyhow!("--invite-link: {e}"))?;
                SecretChange::Set(SecretString::from(link.as_str().to_owned()))
            };
            db::communities::set_secret(
                &state.db,
                &state.keyring,
                id,
                CommunitySecret::InviteLink,
                &change,
            )
            .await?;
        }
        for (wanted, which) in [
            (self.legacy_token_stdin, CommunitySecret::LegacyToken),
            (self.captcha_secret_stdin, CommunitySecret::CaptchaSecret),
        ] {
            if wanted {
                let secret = read_stdin_secret()?;
                let change = SecretChange::Set(secret);
                db::communities::set_secret(&state.db, &state.keyring, id, which, &change).await?;
            }
        }
        Ok(())
    }
}

fn read_stdin_secret() -> anyhow::Result<SecretString> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the secret from stdin")?;
    let text = text.trim();
    if text.is_empty() {
        bail!("stdin was empty; pipe the secret in");
    }
    Ok(SecretString::from(text.to_owned()))
}

async fn list(state: &AppState) -> anyhow::Result<String> {
    let communities = db::communities::list(&state.db).await?;
    if communities.is_empty() {
        return Ok("no communities yet".into());
    }
    let mut out = format!(
        "{:<24} {:<12} {:<11} {:<9} {}\n",
        "SLUG", "TEAM", "MODE", "MEMBERS", "TITLE"
    );
    for c in communities {
        let members = c
            .member_count
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<24} {:<12} {:<11} {:<9} {}",
            c.slug, c.team_id, c.invite_mode, members, c.title
        ));
        if let Some(problem) = &c.config_error {
            out.push_str(&format!("\n    needs attention: {problem}"));
        }
        out.push('\n');
    }
    Ok(out.trim_end().to_owned())
}
