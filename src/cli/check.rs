//! `lobby check`: can this deployment run? Checks the configuration, the data directory, the
//! database, the master key, Slack's Web API and every installation's bot token; prints one line
//! per check and exits non-zero when any fails, for people and for deployment scripts alike.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Settings;
use crate::db::{self, installations::Installation, installations::InstallationStatus};
use crate::domain::{EnterpriseId, TeamId};
use crate::installation_tokens as tokens;
use crate::invites;
use crate::startup::{self, StartupError};
use crate::state::AppState;
use crate::storage::StorageError;

/// Exit status when a check failed; 2 stays "the configuration is wrong", as for other commands.
const FAILED: u8 = 1;

pub fn run(config: Option<&Path>) -> ExitCode {
    let mut report = Report::default();
    // A configuration that does not load is reported like every other command does: one line
    // per problem on stderr, exit 2.
    let settings = match Settings::load(config) {
        Ok(settings) => settings,
        Err(errors) => {
            for error in errors {
                eprintln!("lobby: {error}");
            }
            return ExitCode::from(2);
        }
    };
    if let Some(refusal) = settings.demo_refusal() {
        eprintln!("lobby: {refusal}");
        return ExitCode::from(2);
    }
    report.ok("configuration", &describe(&settings));
    if let Err(e) = crate::telemetry::init(&settings.log) {
        report.fail("logging", &e);
    }
    super::with_runtime(async move {
        check(settings, &mut report).await;
        report.exit_code()
    })
}

fn describe(settings: &Settings) -> String {
    let mode = if settings.is_demo() {
        "demo mode, Slack is the built-in emulator".to_owned()
    } else {
        format!("Slack app {}", settings.slack.api_url)
    };
    format!("public URL {}, {mode}", settings.public_url)
}

async fn check(settings: Settings, report: &mut Report) {
    let local = settings.bind;
    let state = match startup::build_state(settings, local).await {
        Ok(state) => state,
        Err(e) => return report.fail(startup_check(&e), &e.to_string()),
    };
    let engine = match state.db.server_version().await {
        Ok(version) => format!("{} {version}", state.db.engine().name()),
        Err(e) => format!("{} (version unknown: {e})", state.db.engine().name()),
    };
    match db::check_writable(&state.db).await {
        Ok(()) => report.ok(
            "database",
            &format!("{engine}: opened, migrated and writable"),
        ),
        Err(e) => report.fail(
            "database",
            &format!("{engine}: opened but does not take writes: {e}"),
        ),
    }
    report.ok(
        "master key",
        &format!(
            "key id {} opens the database's sealed values",
            state.keyring.sealing_key_id()
        ),
    );
    match state.slack.api_test().await {
        Ok(()) => report.ok("slack", &format!("{} answers api.test", state.slack.base())),
        Err(e) => report.fail("slack", &e.to_string()),
    }
    check_events(&state, report).await;
    match &state.mailer {
        Some(mailer) => match mailer.check().await {
            Ok(detail) => report.ok("mail", &detail),
            Err(e) => report.fail("mail", &e),
        },
        None => report.skip(
            "mail",
            "not configured: set LOBBY_SMTP_URL and LOBBY_MAIL_FROM to mail confirmations and invite links",
        ),
    }
    match db::communities::list(&state.db).await {
        Ok(communities) => {
            let now = db::now();
            for community in &communities {
                if let Some(warning) = invites::mail::link_health_warning(community, now) {
                    report.warn(&format!("invite link {}", community.slug), &warning);
                }
            }
        }
        Err(e) => report.fail("communities", &format!("cannot list them: {e}")),
    }
    match db::installations::list(&state.db).await {
        Ok(installations) if installations.is_empty() => report.ok(
            "installations",
            &format!(
                "none yet: add the app to a workspace at {}",
                state.settings.url("/slack/install")
            ),
        ),
        Ok(installations) => {
            for installation in &installations {
                check_installation(&state, installation, report).await;
            }
        }
        Err(e) => report.fail("installations", &format!("cannot list them: {e}")),
    }
}

/// Whether Slack can verify the Request URL: Slack sends a signed `url_verification` the moment
/// the URL is saved, so the running server must answer it with this signing secret. The same
/// request is sent here, to the public URL, as Slack would.
async fn check_events(state: &AppState, report: &mut Report) {
    const CHECK: &str = "events";
    if state.is_demo() {
        return report.skip(
            CHECK,
            "demo mode: the emulator sends the events; Slack can verify the Request URL only once \
             SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET are set and the server restarted",
        );
    }
    let url = state.settings.url("/slack/events");
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return report.fail(
            CHECK,
            &format!("Slack sends events only to an https Request URL; {url} is not (set LOBBY_PUBLIC_URL to the https address)"),
        );
    }
    match verify_request_url(state, &url).await {
        Ok(()) if loopback => report.ok(
            CHECK,
            &format!("{url} answers a signed url_verification (a loopback address: Slack itself cannot reach it)"),
        ),
        Ok(()) => report.ok(
            CHECK,
            &format!("{url} answers a signed url_verification: Slack can verify the Request URL"),
        ),
        Err(problem) => report.fail(
            CHECK,
            &format!("Slack cannot verify the Request URL yet: {problem}"),
        ),
    }
}

async fn verify_request_url(state: &AppState, url: &url::Url) -> Result<(), String> {
    let challenge = crate::opaque::random_token(16).map_err(|e| e.to_string())?;
    let body =
        serde_json::json!({ "type": "url_verification", "token": "", "challenge": challenge })
            .to_string();
    let timestamp = db::now().to_string();
    let signature = crate::slack::signature::sign(
        &state.credentials.signing_secret,
        &timestamp,
        body.as_bytes(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header(crate::slack::signature::TIMESTAMP_HEADER, &timestamp)
        .header(crate::slack::signature::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|_| {
            "nothing answers there (is lobby serve running, and does the proxy forward /slack/events?)"
                .to_owned()
        })?;
    let status = answer.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err("the server refuses this signing secret (restart it after setting SLACK_SIGNING_SECRET)".into());
    }
    let echoed: serde_json::Value = answer.json().await.unwrap_or_default();
    if status.is_success() && echoed["challenge"] == challenge.as_str() {
        Ok(())
    } else {
        Err(format!("it answered HTTP {status} without the challenge"))
    }
}

/// Which check a startup failure belongs to.
fn startup_check(e: &StartupError) -> &'static str {
    match e {
        StartupError::Storage(StorageError::Key(_) | StorageError::WrongKey { .. }) => "master key",
        StartupError::Storage(StorageError::DataDir { .. }) => "data directory",
        StartupError::Storage(_) => "database",
        StartupError::Slack(_) => "slack",
        StartupError::Bind { .. } | StartupError::Server(_) => "server",
        StartupError::Mail(_) => "mail",
    }
}

/// `auth.test` with the installation's bot token: Slack still accepts it, for that workspace.
async fn check_installation(state: &AppState, installation: &Installation, report: &mut Report) {
    let name = format!(
        "installation {} ({})",
        installation.id, installation.team_name
    );
    if !installation.is_active() {
        let reason = installation
            .status_reason
            .as_deref()
            .unwrap_or("no reason given");
        let detail = format!("{} ({reason})", installation.status);
        // A workspace that removed the app chose to; one whose token Slack refused is broken.
        return if installation.status == InstallationStatus::Uninstalled {
            report.skip(&name, &detail)
        } else {
            report.fail(
                &name,
                &format!("{detail}; reinstall the app to use it again"),
            )
        };
    }
    let token = match tokens::bot_token(state, &installation.id).await {
        Ok(token) => token,
        Err(e) => return report.fail(&name, &format!("no usable bot token: {e}")),
    };
    match state.slack.auth_test(&token).await {
        Ok(who) if belongs_to(installation, &who.team_id, who.enterprise_id.as_deref()) => report
            .ok(
                &name,
                &format!("auth.test accepts the bot token ({})", who.user),
            ),
        Ok(who) => report.fail(
            &name,
            &format!(
                "the bot token belongs to another workspace ({})",
                who.team_id
            ),
        ),
        Err(e) => report.fail(&name, &e.to_string()),
    }
}

/// An org-wide installation's token answers for the organization, a team's for the team.
fn belongs_to(installation: &Installation, team_id: &str, enterprise_id: Option<&str>) -> bool {
    installation.team_id.as_ref().map(TeamId::as_str) == Some(team_id)
        || (installation.is_enterprise_install
            && installation.enterprise_id.is_some()
            && installation
                .enterprise_id
                .as_ref()
                .map(EnterpriseId::as_str)
                == enterprise_id)
}

/// The checks' lines, printed as they come (a slow Slack should not look like a hang).
#[derive(Default)]
struct Report {
    failed: bool,
}

impl Report {
    fn ok(&mut self, check: &str, detail: &str) {
        println!("{}", line("ok", check, detail));
    }

    fn skip(&mut self, check: &str, detail: &str) {
        println!("{}", line("skip", check, detail));
    }

    /// Something to act on soon that does not stop the deployment (an invite link nearly used up).
    fn warn(&mut self, check: &str, detail: &str) {
        println!("{}", line("WARN", check, detail));
    }

    fn fail(&mut self, check: &str, detail: &str) {
        self.failed = true;
        println!("{}", line("FAIL", check, detail));
    }

    fn exit_code(&self) -> ExitCode {
        if self.failed {
            ExitCode::from(FAILED)
        } else {
            ExitCode::SUCCESS
        }
    }
}

fn line(verdict: &str, check: &str, detail: &str) -> String {
    format!("{verdict:<4}  {check}: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_line_up_with_the_verdict_first() {
        assert_eq!(
            line("ok", "database", "writable"),
            "ok    database: writable"
        );
        assert_eq!(
            line("FAIL", "slack", "unreachable"),
            "FAIL  slack: unreachable"
        );
    }

    #[test]
    fn one_failure_fails_the_whole_check() {
        let mut report = Report::default();
        report.ok("a", "fine");
        report.skip("b", "inactive");
        assert_eq!(report.exit_code(), ExitCode::SUCCESS);
        report.fail("c", "broken");
        assert_eq!(report.exit_code(), ExitCode::from(FAILED));
    }

    #[test]
    fn startup_failures_name_their_check() {
        let wrong_key = StartupError::Storage(StorageError::WrongKey {
            key_id: "k1".into(),
        });
        assert_eq!(startup_check(&wrong_key), "master key");
        let slack = StartupError::Slack("bad URL".into());
        assert_eq!(startup_check(&slack), "slack");
    }
}
