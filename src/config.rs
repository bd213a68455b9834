//! Settings, read once at start from the environment and an optional `lobby.toml`.
//!
//! Every problem found is reported (one line each) instead of stopping at the first, so a
//! self-hoster fixes their configuration in one go.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

use crate::abuse::captcha::CaptchaProvider;
use crate::domain::TeamId;
use crate::mail::MailSettings;
use crate::vault::KeySource;

/// The Slack scopes Lobby asks for when a workspace installs it (see `lobby manifest`).
pub const DEFAULT_BOT_SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:join",
    "channels:read",
    "chat:write",
    // Lobby posts to channels it was never added to (announcements, the posting API); Slack refuses
    // that with `not_in_channel` unless the app may write to public channels.
    "chat:write.public",
    "commands",
    "files:write",
    "groups:read",
    "team:read",
    "users:read",
    "users:read.email",
];

/// User scopes: none by default; Enterprise Grid admins add `admin.users:write` for `admin_api` invites.
pub const DEFAULT_USER_SCOPES: &[&str] = &[];

/// Every setting Lobby reads, with the names a user writes in the environment or `lobby.toml`.
pub const KNOWN_KEYS: &[&str] = &[
    "LOBBY_BIND",
    "LOBBY_PUBLIC_URL",
    "LOBBY_DATA_DIR",
    "LOBBY_DATABASE_URL",
    "LOBBY_MASTER_KEY",
    "LOBBY_MASTER_KEY_FILE",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_OAUTH_AUTHORIZE_URL",
    "SLACK_OPENID_AUTHORIZE_URL",
    "SLACK_OPENID_KEYS_URL",
    "SLACK_SCOPES",
    "SLACK_USER_SCOPES",
    "LOBBY_ALLOWED_TEAMS",
    "LOBBY_TRUSTED_PROXIES",
    "LOBBY_SLASH_COMMANDS",
    "LOBBY_SUMMARIZE_ALLOW_PRIVATE_NETWORKS",
    "RUST_LOG",
    "LOBBY_LOG_FORMAT",
    "LOBBY_SHUTDOWN_GRACE",
    "LOBBY_JOB_LEASE_SECS",
    "LOBBY_METRICS_TOKEN",
    "LOBBY_DEMO",
    "LOBBY_SMTP_URL",
    "LOBBY_MAIL_FROM",
    "LOBBY_TURNSTILE_VERIFY_URL",
    "LOBBY_HCAPTCHA_VERIFY_URL",
];

/// How long a killed instance's running jobs wait before another instance takes them over.
const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(60);

/// How long running jobs and requests may take to finish at shutdown, unless configured.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The longest shutdown grace accepted: beyond it a service manager kills the process anyway.
const MAX_SHUTDOWN_GRACE_SECS: u64 = 3600;

/// A metrics token shorter than this could be guessed.
const MIN_METRICS_TOKEN_LEN: usize = 16;

#[derive(Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key: KeySource,
    pub slack: SlackSettings,
    /// Team (or enterprise) ids allowed to install; `None` allows any.
    pub allowed_teams: Option<Vec<TeamId>>,
    pub trusted_proxies: Vec<IpNet>,
    pub commands: SlashCommands,
    /// `/summarize` may fetch from private, loopback and link-local addresses (for testing only).
    pub summarize_allow_private_networks: bool,
    pub log: LogSettings,
    /// How long in-flight requests and running jobs may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// How long a running job's claim holds without renewal (see `jobs::WorkerConfig::lease`).
    pub job_lease: Duration,
    /// Lets a scraper that is not on loopback read `/metrics` (`Authorization: Bearer`).
    pub metrics_token: Option<SecretString>,
    /// `LOBBY_DEMO=1`: demo mode (without Slack credentials) on any address, on purpose.
    pub demo_requested: bool,
    /// Outgoing mail (`LOBBY_SMTP_URL`, `LOBBY_MAIL_FROM`); `None` sends none.
    pub mail: Option<MailSettings>,
    /// Where join-form captchas are verified.
    pub captcha: CaptchaUrls,
}

/// The captcha services' verification endpoints: the providers' own unless configured (tests
/// and staging point them at a stand-in).
#[derive(Debug, Clone)]
pub struct CaptchaUrls {
    pub turnstile: Url,
    pub hcaptcha: Url,
}

impl CaptchaUrls {
    /// Where `provider`'s answers are verified.
    pub fn verify_url(&self, provider: CaptchaProvider) -> &Url {
        match provider {
            CaptchaProvider::Turnstile => &self.turnstile,
            CaptchaProvider::HCaptcha => &self.hcaptcha,
        }
    }
}

/// Slack's built-in slash commands: an app manifest that claims one is refused (with all its
/// commands).
pub const SLACK_BUILT_IN_COMMANDS: &[&str] = &[
    "/active",
    "/apps",
    "/archive",
    "/away",
    "/call",
    "/collapse",
    "/dm",
    "/dnd",
    "/expand",
    "/feed",
    "/feedback",
    "/giphy",
    "/help",
    "/invite",
    "/invite_people",
    "/join",
    "/kick",
    "/leave",
    "/me",
    "/msg",
    "/mute",
    "/open",
    "/prefs",
    "/remind",
    "/remove",
    "/rename",
    "/search",
    "/shortcuts",
    "/shrug",
    "/star",
    "/status",
    "/topic",
    "/who",
];

/// The names the slash commands answer to (each starts with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommands {
    pub invite: String,
    pub summarize: String,
    pub lobby: String,
}

impl Default for SlashCommands {
    fn default() -> Self {
        SlashCommands {
            // `/invite` is Slack's own; a manifest claiming it is refused whole.
            invite: "/lobby-invite".into(),
            summarize: "/summarize".into(),
            lobby: "/lobby".into(),
        }
    }
}

impl SlashCommands {
    /// Parses `invite=/join-us,summarize=/tldr` (any subset; the rest keep their defaults).
    fn parse(text: &str) -> Result<Self, String> {
        let mut commands = SlashCommands::default();
        for pair in split_list(text) {
            let (key, name) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=/command"))?;
            let valid = name.len() >= 2
                && name.len() <= 32
                && name.starts_with('/')
                && name[1..]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid {
                return Err(format!(
                    "{name:?} is not a slash command name like /lobby-invite"
                ));
            }
            if SLACK_BUILT_IN_COMMANDS.contains(&name) {
                return Err(format!(
                    "{name} is one of Slack's built-in commands, which Slack refuses in an app's manifest; choose another name, e.g. {key}=/lobby-{}",
                    &name[1..]
                ));
            }
            match key {
                "invite" => commands.invite = name.to_owned(),
                "summarize" => commands.summarize = name.to_owned(),
                "lobby" => commands.lobby = name.to_owned(),
                other => {
                    return Err(format!(
                        "unknown command {other:?} (invite, summarize or lobby)"
                    ));
                }
            }
        }
        Ok(commands)
    }
}

#[derive(Debug)]
pub struct SlackSettings {
    /// `None` is demo mode: the built-in emulator stands in for Slack.
    pub credentials: Option<SlackCredentials>,
    pub api_url: Url,
    pub oauth_authorize_url: Url,
    pub openid_authorize_url: Url,
    /// Slack's OpenID signing keys (JWKS), which id_tokens are verified against.
    pub openid_keys_url: Url,
    pub scopes: Vec<String>,
    pub user_scopes: Vec<String>,
}

/// The Slack app's credentials (Bolt's names). `Debug` comes from `SecretString`, which redacts.
#[derive(Debug, Clone)]
pub struct SlackCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    pub signing_secret: SecretString,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One configuration problem, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

/// A yes/no setting: `1`/`true` or `0`/`false`; unset is no.
fn flag(source: &Source<'_>, key: &str, fail: &mut impl FnMut(String)) -> bool {
    match source.get(key) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            fail(format!("{key}={other:?} must be 1 or 0 (true or false)"));
            false
        }
    }
}

impl Settings {
    pub fn is_demo(&self) -> bool {
        self.slack.credentials.is_none()
    }

    /// Demo mode exposes an emulator anyone can sign in to as anyone, so without Slack credentials
    /// the server starts only on purpose: `LOBBY_DEMO=1`, or a loopback bind with a plain-http
    /// localhost public URL (a developer's machine). Anything else is a configuration error.
    pub fn demo_refusal(&self) -> Option<ConfigError> {
        if !self.is_demo() || self.demo_requested {
            return None;
        }
        let local_url = self.public_url.scheme() == "http"
            && match self.public_url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
        if self.bind.ip().is_loopback() && local_url {
            return None;
        }
        Some(ConfigError(
            "no Slack credentials: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET, \
             or LOBBY_DEMO=1 to run the demo with its built-in Slack emulator on purpose \
             (without it, demo mode runs only on a loopback LOBBY_BIND with an http://localhost LOBBY_PUBLIC_URL)"
                .into(),
        ))
    }

    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute URL on this server, e.g. `url("/slack/oauth_redirect")`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.public_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// Reads the process environment and `lobby.toml` (from `config_file`, or `./lobby.toml` when it exists).
    pub fn load(config_file: Option<&Path>) -> Result<Settings, Vec<ConfigError>> {
        let file = match config_file {
            Some(path) => Some(read_toml(path).map_err(|e| vec![e])?),
            None if Path::new("lobby.toml").exists() => {
                Some(read_toml(Path::new("lobby.toml")).map_err(|e| vec![e])?)
            }
            None => None,
        };
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| KNOWN_KEYS.contains(&k.as_str()))
            .collect();
        Self::from_sources(&env, file.as_ref())
    }

    /// Builds settings from explicit values (the environment wins over the file). Tests use this too.
    pub fn from_sources(
        env: &HashMap<String, String>,
        file: Option<&HashMap<String, String>>,
    ) -> Result<Settings, Vec<ConfigError>> {
        let source = Source { env, file };
        let mut errors = Vec::new();
        let mut fail = |msg: String| errors.push(ConfigError(msg));

        let bind = match source.get("LOBBY_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().unwrap_or_else(|_| {
                fail(format!(
                    "LOBBY_BIND={v:?} is not an address and port like 127.0.0.1:8080"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };

        let public_url = parse_url(
            &source,
            "LOBBY_PUBLIC_URL",
            "http://localhost:8080/",
            &mut fail,
        );
        if public_url.query().is_some() || public_url.fragment().is_some() {
            fail("LOBBY_PUBLIC_URL must not have a query or a fragment".into());
        }

        let data_dir = PathBuf::from(source.get("LOBBY_DATA_DIR").unwrap_or("./data"));
        let database_url = match source.get("LOBBY_DATABASE_URL") {
            Some(v)
                if v.starts_with("sqlite:")
                    || crate::db::Engine::of_url(v) == crate::db::Engine::Postgres =>
            {
                v.to_owned()
            }
            Some(_) => {
                // Not echoed: a database URL may carry a password.
                fail(
                    "LOBBY_DATABASE_URL must be a sqlite: or postgres: URL, e.g. \
                     sqlite:///var/lib/lobby/lobby.db or postgres://lobby:PASSWORD@localhost/lobby"
                        .into(),
                );
                String::new()
            }
            None => format!("sqlite://{}", data_dir.join("lobby.db").display()),
        };

        let master_key = match (
            source.get("LOBBY_MASTER_KEY"),
            source.get("LOBBY_MASTER_KEY_FILE"),
        ) {
            (Some(_), Some(_)) => {
                fail("set LOBBY_MASTER_KEY or LOBBY_MASTER_KEY_FILE, not both".into());
                KeySource::Generated(data_dir.join("master.key"))
            }
            (Some(key), None) => KeySource::Inline(SecretString::from(key.to_owned())),
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                if let Err(e) = std::fs::metadata(&path) {
                    fail(format!(
                        "LOBBY_MASTER_KEY_FILE={}: cannot read it ({e})",
                        path.display()
                    ));
                }
                KeySource::File(path)
            }
            (None, None) => KeySource::Generated(data_dir.join("master.key")),
        };

        let credentials = {
            let id = source.get("SLACK_CLIENT_ID");
            let secret = source.get("SLACK_CLIENT_SECRET");
            let signing = source.get("SLACK_SIGNING_SECRET");
            match (id, secret, signing) {
                (None, None, None) => None,
                (Some(id), Some(secret), Some(signing)) => Some(SlackCredentials {
                    client_id: id.to_owned(),
                    client_secret: SecretString::from(secret.to_owned()),
                    signing_secret: SecretString::from(signing.to_owned()),
                }),
                _ => {
                    let missing: Vec<&str> = [
                        ("SLACK_CLIENT_ID", id),
                        ("SLACK_CLIENT_SECRET", secret),
                        ("SLACK_SIGNING_SECRET", signing),
                    ]
                    .iter()
                    .filter(|(_, v)| v.is_none())
                    .map(|(k, _)| *k)
                    .collect();
                    fail(format!(
                        "Slack credentials are half set: {} missing (set all three, or none for demo mode)",
                        missing.join(" and ")
                    ));
                    None
                }
            }
        };

        let openid_authorize_url = parse_url(
            &source,
            "SLACK_OPENID_AUTHORIZE_URL",
            "https://slack.com/openid/connect/authorize",
            &mut fail,
        );
        let openid_keys_url = match source.get("SLACK_OPENID_KEYS_URL") {
            Some(_) => parse_url(
                &source,
                "SLACK_OPENID_KEYS_URL",
                "https://slack.com/openid/connect/keys",
                &mut fail,
            ),
            None => keys_url_beside(&openid_authorize_url).unwrap_or_else(|| {
                fail(
                    "SLACK_OPENID_KEYS_URL must be set: SLACK_OPENID_AUTHORIZE_URL does not end in /authorize"
                        .into(),
                );
                openid_authorize_url.clone()
            }),
        };

        let slack = SlackSettings {
            credentials,
            api_url: with_trailing_slash(parse_url(
                &source,
                "SLACK_API_URL",
                "https://slack.com/api/",
                &mut fail,
            )),
            oauth_authorize_url: parse_url(
                &source,
                "SLACK_OAUTH_AUTHORIZE_URL",
                "https://slack.com/oauth/v2/authorize",
                &mut fail,
            ),
            openid_authorize_url,
            openid_keys_url,
            scopes: source
                .get("SLACK_SCOPES")
                .map(split_list)
                .unwrap_or_else(|| DEFAULT_BOT_SCOPES.iter().map(|s| s.to_string()).collect()),
            user_scopes: source
                .get("SLACK_USER_SCOPES")
                .map(split_list)
                .unwrap_or_else(|| DEFAULT_USER_SCOPES.iter().map(|s| s.to_string()).collect()),
        };

        let unserved = crate::slack::manifest::events_missing_scopes(&slack.scopes);
        if !unserved.is_empty() {
            let needs: Vec<String> = unserved
                .iter()
                .map(|(event, scope)| format!("{event} needs {scope}"))
                .collect();
            fail(format!(
                "SLACK_SCOPES cannot serve the events Lobby subscribes to: {} (add them)",
                needs.join(", ")
            ));
        }

        let mut allowed_teams = None;
        if let Some(listed) = source
            .get("LOBBY_ALLOWED_TEAMS")
            .map(split_list)
            .filter(|t| !t.is_empty())
        {
            let mut teams = Vec::with_capacity(listed.len());
            for team in &listed {
                match TeamId::parse(team) {
                    Ok(id) => teams.push(id),
                    Err(_) => fail(format!(
                        "LOBBY_ALLOWED_TEAMS: {team:?} is not a Slack team or enterprise id (like T0123ABCD)"
                    )),
                }
            }
            allowed_teams = Some(teams);
        }

        let trusted_proxies = source
            .get("LOBBY_TRUSTED_PROXIES")
            .map(split_list)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| match parse_net(&p) {
                Some(net) => Some(net),
                None => {
                    fail(format!(
                        "LOBBY_TRUSTED_PROXIES: {p:?} is not an IP address or CIDR range"
                    ));
                    None
                }
            })
            .collect();

        let commands = match source.get("LOBBY_SLASH_COMMANDS").map(SlashCommands::parse) {
            None => SlashCommands::default(),
            Some(Ok(commands)) => commands,
            Some(Err(e)) => {
                fail(format!("LOBBY_SLASH_COMMANDS: {e}"));
                SlashCommands::default()
            }
        };
        let summarize_allow_private_networks =
            flag(&source, "LOBBY_SUMMARIZE_ALLOW_PRIVATE_NETWORKS", &mut fail);
        let demo_requested = flag(&source, "LOBBY_DEMO", &mut fail);

        let format = match source.get("LOBBY_LOG_FORMAT") {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                fail(format!("LOBBY_LOG_FORMAT={other:?} must be pretty or json"));
                LogFormat::Pretty
            }
        };
        let log = LogSettings {
            filter: source.get("RUST_LOG").unwrap_or("info").to_owned(),
            format,
        };

        let shutdown_grace = match source.get("LOBBY_SHUTDOWN_GRACE") {
            None => DEFAULT_SHUTDOWN_GRACE,
            Some(v) => match v.strip_suffix('s').unwrap_or(v).parse::<u64>() {
                Ok(secs) if secs <= MAX_SHUTDOWN_GRACE_SECS => Duration::from_secs(secs),
                _ => {
                    fail(format!(
                        "LOBBY_SHUTDOWN_GRACE={v:?} must be whole seconds from 0 to {MAX_SHUTDOWN_GRACE_SECS}, like 20"
                    ));
                    DEFAULT_SHUTDOWN_GRACE
                }
            },
        };
        let job_lease = match source.get("LOBBY_JOB_LEASE_SECS") {
            None => DEFAULT_JOB_LEASE,
            Some(v) => match v.strip_suffix('s').unwrap_or(v).parse::<u64>() {
                Ok(secs) if (3..=3600).contains(&secs) => Duration::from_secs(secs),
                _ => {
                    fail(format!(
                        "LOBBY_JOB_LEASE_SECS={v:?} must be whole seconds from 3 to 3600, like 60"
                    ));
                    DEFAULT_JOB_LEASE
                }
            },
        };
        // The value is never echoed back: it is a secret.
        let metrics_token = match source.get("LOBBY_METRICS_TOKEN") {
            None => None,
            Some(token) if token.len() < MIN_METRICS_TOKEN_LEN => {
                fail(format!(
                    "LOBBY_METRICS_TOKEN is too short: use at least {MIN_METRICS_TOKEN_LEN} random characters (e.g. `openssl rand -hex 32`)"
                ));
                None
            }
            Some(token) => Some(SecretString::from(token.to_owned())),
        };

        // The URL may hold a password: errors describe it, never quote it.
        let mail = MailSettings::parse(source.get("LOBBY_SMTP_URL"), source.get("LOBBY_MAIL_FROM"))
            .unwrap_or_else(|problems| {
                problems.into_iter().for_each(&mut fail);
                None
            });
        let captcha = CaptchaUrls {
            turnstile: parse_url(
                &source,
                "LOBBY_TURNSTILE_VERIFY_URL",
                CaptchaProvider::Turnstile.default_verify_url(),
                &mut fail,
            ),
            hcaptcha: parse_url(
                &source,
                "LOBBY_HCAPTCHA_VERIFY_URL",
                CaptchaProvider::HCaptcha.default_verify_url(),
                &mut fail,
            ),
        };

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            bind,
            public_url: with_trailing_slash(public_url),
            data_dir,
            database_url,
            master_key,
            slack,
            allowed_teams,
            trusted_proxies,
            commands,
            summarize_allow_private_networks,
            demo_requested,
            log,
            shutdown_grace,
            job_lease,
            metrics_token,
            mail,
            captcha,
        })
    }
}

struct Source<'a> {
    env: &'a HashMap<String, String>,
    file: Option<&'a HashMap<String, String>>,
}

impl Source<'_> {
    /// The value of `key`; an empty value counts as unset, as it does for most Unix tools.
    fn get(&self, key: &str) -> Option<&str> {
        self.env
            .get(key)
            .or_else(|| self.file.and_then(|f| f.get(key)))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

fn parse_url(source: &Source<'_>, key: &str, default: &str, fail: &mut impl FnMut(String)) -> Url {
    let fallback =
        || Url::parse(default).unwrap_or_else(|_| unreachable!("defaults are valid URLs"));
    match source.get(key) {
        None => fallback(),
        Some(v) => match Url::parse(v) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            _ => {
                fail(format!("{key}={v:?} is not an http(s) URL"));
                fallback()
            }
        },
    }
}

/// Slack publishes its OpenID keys beside the authorize page: `…/openid/connect/authorize`
/// → `…/openid/connect/keys`.
fn keys_url_beside(authorize: &Url) -> Option<Url> {
    let path = authorize.path().strip_suffix("authorize")?;
    if !path.ends_with('/') {
        return None;
    }
    let mut keys = authorize.clone();
    keys.set_path(&format!("{path}keys"));
    keys.set_query(None);
    keys.set_fragment(None);
    Some(keys)
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn split_list(v: &str) -> Vec<String> {
    v.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// `lobby.toml` holds the same keys as the environment, as strings, numbers or booleans.
fn read_toml(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError(format!(
            "{} is not valid TOML: {}",
            path.display(),
            e.message()
        ))
    })?;
    let mut values = HashMap::new();
    for (key, value) in table {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(ConfigError(format!(
                "{}: unknown setting {key:?}",
                path.display()
            )));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(ConfigError(format!(
                    "{}: {key} must be a string, not {}",
                    path.display(),
                    other.type_str()
                )));
            }
        };
        values.insert(key, value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, Vec<ConfigError>> {
        let env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_sources(&env, None)
    }

    #[test]
    fn defaults_are_demo_mode_on_localhost() {
        let s = settings(&[]).unwrap();
        assert!(s.is_demo());
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(
            s.url("/slack/oauth_redirect").as_str(),
            "http://localhost:8080/slack/oauth_redirect"
        );
        assert_eq!(s.database_url, "sqlite://./data/lobby.db");
        assert!(
            s.demo_refusal().is_none(),
            "the README's cargo run just works"
        );
    }

    #[test]
    fn demo_mode_elsewhere_needs_lobby_demo() {
        for env in [
            &[("LOBBY_PUBLIC_URL", "https://join.example.org")][..],
            &[("LOBBY_BIND", "0.0.0.0:8080")][..],
            &[("LOBBY_PUBLIC_URL", "http://example.org:8080")][..],
        ] {
            let s = settings(env).unwrap();
            let refusal = s.demo_refusal().expect("refused").0;
            for name in [
                "SLACK_CLIENT_ID",
                "SLACK_CLIENT_SECRET",
                "SLACK_SIGNING_SECRET",
                "LOBBY_DEMO",
            ] {
                assert!(refusal.contains(name), "{refusal}");
            }
            let mut with_demo = env.to_vec();
            with_demo.push(("LOBBY_DEMO", "1"));
            assert!(settings(&with_demo).unwrap().demo_refusal().is_none());
        }
        let loopback = settings(&[("LOBBY_PUBLIC_URL", "http://127.0.0.1:8080")]).unwrap();
        assert!(loopback.demo_refusal().is_none());
        assert!(settings(&[("LOBBY_DEMO", "maybe")]).is_err());
    }

    #[test]
    fn a_bad_bind_address_is_one_error() {
        let errors = settings(&[("LOBBY_BIND", "localhost:eighty")]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("LOBBY_BIND"));
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = settings(&[
            ("LOBBY_BIND", "nope"),
            ("LOBBY_PUBLIC_URL", "ftp://example.com"),
            ("SLACK_CLIENT_ID", "123.456"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[2]
                .0
                .contains("SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET missing")
        );
    }

    #[test]
    fn an_unreadable_key_file_is_refused() {
        let errors =
            settings(&[("LOBBY_MASTER_KEY_FILE", "/nonexistent/lobby/master.key")]).unwrap_err();
        assert!(errors[0].0.contains("LOBBY_MASTER_KEY_FILE"));
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let env = HashMap::from([("LOBBY_BIND".to_string(), "127.0.0.1:9000".to_string())]);
        let file = HashMap::from([
            ("LOBBY_BIND".to_string(), "127.0.0.1:7000".to_string()),
            (
                "LOBBY_PUBLIC_URL".to_string(),
                "https://lobby.example.org".to_string(),
            ),
        ]);
        let s = Settings::from_sources(&env, Some(&file)).unwrap();
        assert_eq!(s.bind.port(), 9000);
        assert!(s.is_https());
    }

    #[test]
    fn lists_and_proxies_parse() {
        let s = settings(&[
            ("LOBBY_ALLOWED_TEAMS", "T0123ABCD, E0456EFGH"),
            ("LOBBY_TRUSTED_PROXIES", "10.0.0.0/8 ::1"),
            (
                "SLACK_SCOPES",
                "chat:write,commands app_mentions:read,users:read",
            ),
        ])
        .unwrap();
        assert_eq!(s.allowed_teams.unwrap(), vec!["T0123ABCD", "E0456EFGH"]);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(
            s.slack.scopes,
            vec!["chat:write", "commands", "app_mentions:read", "users:read"]
        );
    }

    #[test]
    fn slash_command_names_are_configurable() {
        let s = settings(&[("LOBBY_SLASH_COMMANDS", "invite=/join-us, summarize=/tldr")]).unwrap();
        assert_eq!(s.commands.invite, "/join-us");
        assert_eq!(s.commands.summarize, "/tldr");
        assert_eq!(s.commands.lobby, "/lobby");
        assert!(settings(&[("LOBBY_SLASH_COMMANDS", "invite=join")]).is_err());
        assert!(settings(&[("LOBBY_SLASH_COMMANDS", "magic=/magic")]).is_err());
    }

    #[test]
    fn scopes_that_cannot_serve_the_events_are_one_error() {
        let errors = settings(&[("SLACK_SCOPES", "chat:write,commands")]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].0.contains("app_mention needs app_mentions:read"),
            "{}",
            errors[0].0
        );
        assert!(
            errors[0].0.contains("team_join needs users:read"),
            "{}",
            errors[0].0
        );
    }

    #[test]
    fn defaults_leave_slacks_own_commands_alone_and_claiming_one_is_refused() {
        let defaults = SlashCommands::default();
        for name in [&defaults.invite, &defaults.summarize, &defaults.lobby] {
            assert!(!SLACK_BUILT_IN_COMMANDS.contains(&name.as_str()), "{name}");
        }
        for claimed in ["invite=/invite", "summarize=/remind", "lobby=/status"] {
            let errors = settings(&[("LOBBY_SLASH_COMMANDS", claimed)]).unwrap_err();
            assert_eq!(errors.len(), 1);
            assert!(errors[0].0.contains("built-in"), "{}", errors[0].0);
        }
    }

    #[test]
    fn the_shutdown_grace_defaults_to_20_seconds_and_takes_whole_seconds() {
        assert_eq!(
            settings(&[]).unwrap().shutdown_grace,
            Duration::from_secs(20)
        );
        let s = settings(&[("LOBBY_SHUTDOWN_GRACE", "5")]).unwrap();
        assert_eq!(s.shutdown_grace, Duration::from_secs(5));
        let s = settings(&[("LOBBY_SHUTDOWN_GRACE", "45s")]).unwrap();
        assert_eq!(s.shutdown_grace, Duration::from_secs(45));
        for bad in ["-1", "1.5", "soon", "3601"] {
            let errors = settings(&[("LOBBY_SHUTDOWN_GRACE", bad)]).unwrap_err();
            assert!(errors[0].0.contains("LOBBY_SHUTDOWN_GRACE"), "{bad}");
        }
    }

    #[test]
    fn a_metrics_token_is_optional_secret_and_not_guessable() {
        assert!(settings(&[]).unwrap().metrics_token.is_none());
        let s = settings(&[("LOBBY_METRICS_TOKEN", "0123456789abcdef-scraper")]).unwrap();
        assert!(s.metrics_token.is_some());
        assert!(!format!("{s:?}").contains("0123456789abcdef-scraper"));
        let errors = settings(&[("LOBBY_METRICS_TOKEN", "short-secret")]).unwrap_err();
        assert!(errors[0].0.contains("LOBBY_METRICS_TOKEN"));
        assert!(
            !errors[0].0.contains("short-secret"),
            "the token is not echoed"
        );
    }

    #[test]
    fn the_openid_keys_sit_beside_the_authorize_page_unless_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.slack.openid_keys_url.as_str(),
            "https://slack.com/openid/connect/keys"
        );
        let s = settings(&[(
            "SLACK_OPENID_AUTHORIZE_URL",
            "http://127.0.0.1:9/_emulator/slack/openid/connect/authorize",
        )])
        .unwrap();
        assert_eq!(
            s.slack.openid_keys_url.as_str(),
            "http://127.0.0.1:9/_emulator/slack/openid/connect/keys"
        );
        let s = settings(&[("SLACK_OPENID_KEYS_URL", "https://keys.example.com/jwks")]).unwrap();
        assert_eq!(
            s.slack.openid_keys_url.as_str(),
            "https://keys.example.com/jwks"
        );
        let errors = settings(&[("SLACK_OPENID_KEYS_URL", "file:///etc/keys")]).unwrap_err();
        assert!(errors[0].0.contains("SLACK_OPENID_KEYS_URL"));
        let errors = settings(&[(
            "SLACK_OPENID_AUTHORIZE_URL",
            "https://sso.example.com/login",
        )])
        .unwrap_err();
        assert!(errors[0].0.contains("SLACK_OPENID_KEYS_URL"));
    }

    #[test]
    fn mail_settings_are_checked_and_the_password_never_shows() {
        assert!(settings(&[]).unwrap().mail.is_none());
        let s = settings(&[
            (
                "LOBBY_SMTP_URL",
                "smtps://lobby:very-secret-smtp@mail.example.org",
            ),
            ("LOBBY_MAIL_FROM", "Lobby <lobby@example.org>"),
        ])
        .unwrap();
        assert!(s.mail.is_some());
        assert!(!format!("{s:?}").contains("very-secret-smtp"));
        let errors = settings(&[
            (
                "LOBBY_SMTP_URL",
                "smtp://u:very-secret-smtp@mail.example.org?tls=none",
            ),
            ("LOBBY_MAIL_FROM", "nope"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| !e.0.contains("very-secret-smtp")));
    }

    #[test]
    fn credentials_do_not_show_in_debug() {
        let s = settings(&[
            ("SLACK_CLIENT_ID", "1.2"),
            ("SLACK_CLIENT_SECRET", "very-secret-client"),
            ("SLACK_SIGNING_SECRET", "very-secret-signing"),
        ])
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("very-secret"));
    }
}
