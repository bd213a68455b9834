//! Mail, end to end against a real SMTP server (`tests/smtp_server.py`, aiosmtpd) that the tests
//! start: confirmations, invite links mailed on approval and in link mode, retries after a 4xx,
//! refusals, too-fast forms, and invite-link health.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lobby::db::{self, communities::Community, invite_requests::InviteRequest};
use lobby::domain::{InviteMode, InviteStatus};
use lobby::invites::Approved;
use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::{
    AppOptions, DEMO_SLUG, TestApp, attr_after, browser, captured_logs, eventually, spawn_app_with,
    team,
};
use crate::join::settings_of;

const LINK: &str = "https://join.slack.com/t/demo-community/shared_invite/zt-mailtest";

/// A Python that has aiosmtpd: the system's when it has it (CI installs it), else a virtual
/// environment under the target directory that this installs it into once, from PyPI.
fn python_with_aiosmtpd() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let has_it = |python: &std::path::Path| {
                Command::new(python)
                    .args(["-c", "import aiosmtpd"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let system = PathBuf::from("python3");
            if has_it(&system) {
                return system;
            }
            let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("smtp-venv");
            let python = venv.join("bin/python3");
            if !has_it(&python) {
                let made = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success());
                let installed = made
                    && Command::new(&python)
                        .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    installed,
                    "the mail tests need aiosmtpd: `python3 -m pip install aiosmtpd`, or python3-venv and PyPI"
                );
            }
            python
        })
        .clone()
}

/// `tests/smtp_server.py` on its own port, writing what it accepts to its own directory.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Answers the first `fail_first` messages with a 451 and refuses recipients starting with `bounce`.
    fn start(fail_first: u32) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let child = Command::new(python_with_aiosmtpd())
            .arg(&script)
            .arg(dir.path())
            .args([
                "--fail-first",
                &fail_first.to_string(),
                "--reject-prefix",
                "bounce",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut server = SmtpServer {
            child,
            port: 0,
            dir,
        };
        let ready = server.dir.path().join("ready");
        let started = Instant::now();
        server.port = loop {
            if let Some(port) = std::fs::read_to_string(&ready)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the SMTP server exited ({status}) before listening");
            }
            // A hang guard, not a timing assertion: a server that never says where it listens.
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the SMTP server did not say where it listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message accepted so far, in order of arrival.
    fn received(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                serde_json::from_str(&std::fs::read_to_string(self.dir.path().join(n)).unwrap())
                    .unwrap()
            })
            .collect()
    }

    /// Waits until `count` messages have arrived; returns them all.
    async fn wait_for(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "only {} of {count} mails arrived",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn mail_app(smtp: &SmtpServer) -> TestApp {
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("LOBBY_SMTP_URL", smtp.url()),
            ("LOBBY_MAIL_FROM", "Lobby <lobby@example.org>".to_owned()),
            ("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    app
}

async fn community(app: &TestApp) -> Community {
    db::communities::by_slug(app.db(), DEMO_SLUG)
        .await
        .unwrap()
        .unwrap()
}

/// Puts the demo community in `mode` with the shared invite link set.
async fn use_mode(app: &TestApp, mode: InviteMode, confirm: bool) -> Community {
    let c = community(app).await;
    let mut settings = settings_of(&c);
    settings.invite_mode = mode;
    db::communities::update(app.db(), c.id, &settings)
        .await
        .unwrap();
    db::communities::set_secret(
        app.db(),
        &app.state.keyring,
        c.id,
        db::communities::CommunitySecret::InviteLink,
        &db::communities::SecretChange::Set(LINK.to_owned().into()),
    )
    .await
    .unwrap();
    db::communities::set_signup_rules(app.db(), c.id, confirm, 5)
        .await
        .unwrap();
    community(app).await
}

async fn request_of(app: &TestApp, email: &str) -> InviteRequest {
    let c = community(app).await;
    db::invite_requests::list(app.db(), c.id, None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.email == email)
        .unwrap_or_else(|| panic!("no request for {email}"))
}

async fn status_reaches(app: &TestApp, email: &str, status: InviteStatus) -> InviteRequest {
    let started = Instant::now();
    loop {
        let request = request_of(app, email).await;
        if request.status == status {
            return request;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{email} is {} ({}), not {status}",
            request.status,
            request.status_message
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sends the join form as a browser would, the page opened `age` seconds earlier.
async fn sign_up(app: &TestApp, email: &str, age: i64) -> reqwest::Response {
    let key = app.state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, DEMO_SLUG, db::now() - age);
    browser()
        .post(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("cookie", format!("lobby_join={cookie}"))
        .header("x-forwarded-for", "203.0.113.50")
        .form(&[
            ("email", email),
            ("name", "Ada"),
            ("form_token", token.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap()
}

/// The confirmation link in a mail's text.
fn confirm_link(mail: &Value) -> String {
    let text = mail["text"].as_str().unwrap();
    text.split_whitespace()
        .find(|w| w.contains("/confirm?t="))
        .unwrap_or_else(|| panic!("no confirmation link in {text}"))
        .to_owned()
}

#[tokio::test]
async fn a_signup_is_confirmed_by_mail_approved_and_mailed_the_invite_link() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Approval, true).await;
    let email = "ada.confirm@example.org";

    let res = sign_up(&app, email, 10).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("check your mail"));
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0]["rcpt_tos"][0], email);
    assert!(mails[0]["subject"].as_str().unwrap().contains("Confirm"));
    assert!(
        !mails[0]["text"].as_str().unwrap().contains(LINK),
        "no invite link before confirmation"
    );
    let link = confirm_link(&mails[0]);
    let path = link
        .strip_prefix(&app.address)
        .expect("a link to this server");
    let mailed_token = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "t")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        request_of(&app, email).await.status,
        InviteStatus::Unconfirmed
    );

    // Mail scanners open links: the page alone confirms nothing.
    let page = app.get(path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Confirm my address"));
    let action = attr_after(&html, "method=\"post\"", "action").unwrap();
    assert_eq!(action, format!("/join/{DEMO_SLUG}/confirm"));
    let token = attr_after(&html, "name=\"t\"", "value").unwrap();
    assert_eq!(token, mailed_token);
    assert_eq!(
        request_of(&app, email).await.status,
        InviteStatus::Unconfirmed
    );

    let confirm = |token: String| {
        browser()
            .post(app.url(&action))
            .form(&[("t", token)])
            .send()
    };
    let res = confirm(token.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("confirmed"));
    let request = request_of(&app, email).await;
    assert_eq!(request.status, InviteStatus::Pending);
    let again = confirm(token.clone()).await.unwrap();
    assert_eq!(again.status(), 404, "the link works once");

    let approved = lobby::invites::approve(&app.state, request.id, "U0ADMIN001")
        .await
        .unwrap();
    assert!(matches!(approved, Approved::Mailing), "{approved:?}");
    let mails = smtp.wait_for(2).await;
    let invite = &mails[1];
    assert_eq!(invite["rcpt_tos"][0], email);
    assert!(invite["text"].as_str().unwrap().contains(LINK));
    assert!(invite["html"].as_str().unwrap().contains(LINK));
    assert!(invite["text"].as_str().unwrap().contains("Demo Community"));
    assert_eq!(invite["content_type"], "multipart/alternative");
    assert!(invite["from"].as_str().unwrap().contains("Demo Community"));
    assert!(
        invite["from"]
            .as_str()
            .unwrap()
            .contains("<lobby@example.org>")
    );
    assert!(
        invite["message_id"]
            .as_str()
            .unwrap()
            .ends_with("@example.org>")
    );
    let request = status_reaches(&app, email, InviteStatus::LinkSent).await;
    assert!(
        request.status_message.contains("mailed"),
        "{}",
        request.status_message
    );

    let logs = captured_logs();
    assert!(!logs.contains(email), "no address in the logs");
    assert!(!logs.contains(&token), "no token in the logs");
}

#[tokio::test]
async fn link_mode_mails_the_link_only_after_confirmation() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Link, true).await;
    let email = "bo.link@example.org";

    let res = sign_up(&app, email, 10).await;
    assert_eq!(
        res.status(),
        200,
        "no redirect to the link for an unconfirmed visitor"
    );
    assert!(!res.text().await.unwrap().contains(LINK));
    let mails = smtp.wait_for(1).await;
    assert!(!mails[0]["text"].as_str().unwrap().contains(LINK));
    let link = url::Url::parse(&confirm_link(&mails[0])).unwrap();
    let token = link
        .query_pairs()
        .find(|(k, _)| k == "t")
        .unwrap()
        .1
        .into_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        smtp.received().len(),
        1,
        "nothing else before the confirmation"
    );

    let res = browser()
        .post(app.url(link.path()))
        .form(&[("t", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !res.text().await.unwrap().contains(LINK),
        "the link comes by mail, not on the page"
    );
    let mails = smtp.wait_for(2).await;
    assert!(mails[1]["text"].as_str().unwrap().contains(LINK));
    status_reaches(&app, email, InviteStatus::LinkSent).await;
    // The use is counted just after the status moves, in a write of its own.
    eventually("the link's use to be counted", || async {
        (community(&app).await.invite_link_uses == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_4xx_answer_is_retried_and_the_mail_arrives_once() {
    let smtp = SmtpServer::start(1);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Link, false).await;
    let email = "cy.retry@example.org";

    sign_up(&app, email, 10).await;
    let request = status_reaches(&app, email, InviteStatus::LinkSent).await;
    let mails = smtp.wait_for(1).await;
    assert!(mails[0]["text"].as_str().unwrap().contains(LINK));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 1, "delivered exactly once");
    let sent = db::mails::sent_for_request(app.db(), request.id, "invite_link")
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let attempts: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT MAX(attempts) FROM jobs WHERE kind = 'invite.mail_link'"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(attempts, 2, "the 451 cost one attempt");
}

#[tokio::test]
async fn a_5xx_answer_is_recorded_with_the_servers_reason_for_admins() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Link, false).await;
    let email = "bounce.me@example.org";

    sign_up(&app, email, 10).await;
    let request = status_reaches(&app, email, InviteStatus::Failed).await;
    assert!(
        request.status_message.contains("550"),
        "{}",
        request.status_message
    );
    assert!(
        request.status_message.contains("User unknown"),
        "{}",
        request.status_message
    );
    assert!(
        !request.status_message.contains(email),
        "the address is not repeated"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_too_fast_form_is_kept_and_needs_its_address_confirmed() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Link, true).await;
    let email = "autofill@example.org";

    let res = sign_up(&app, email, 0).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("check your mail"));
    assert_eq!(
        request_of(&app, email).await.status,
        InviteStatus::Unconfirmed
    );
    let mails = smtp.wait_for(1).await;
    assert!(confirm_link(&mails[0]).contains("/confirm?t="));
}

#[tokio::test]
async fn without_mail_a_too_fast_form_is_held_for_an_admin() {
    let app = crate::helpers::app_with_admin_api(vec![]).await;
    let email = "autofill.held@example.org";
    let res = sign_up(&app, email, 0).await;
    assert_eq!(res.status(), 200);
    let request = request_of(&app, email).await;
    assert_eq!(request.status, InviteStatus::Pending);
    assert!(
        request.status_message.contains("Held"),
        "{}",
        request.status_message
    );
    assert!(
        app.emulator.calls_to("admin.users.invite").is_empty(),
        "not sent on its own"
    );

    // The honeypot still drops bots without a trace.
    let key = app.state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, DEMO_SLUG, db::now() - 10);
    let res = browser()
        .post(app.url(&format!("/join/{DEMO_SLUG}")))
        .header("cookie", format!("lobby_join={cookie}"))
        .form(&[
            ("email", "bot@example.org"),
            ("form_token", &token),
            ("website", "http://spam"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let c = community(&app).await;
    let all = db::invite_requests::list(app.db(), c.id, None, None, 100)
        .await
        .unwrap();
    assert!(all.iter().all(|r| r.email != "bot@example.org"));
}

#[tokio::test]
async fn the_350th_hand_out_of_the_link_warns_the_admins_once() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Link, false).await;
    let mut settings = settings_of(&c);
    settings.admin_channel = Some("C0GENERAL1".into());
    db::communities::update(app.db(), c.id, &settings)
        .await
        .unwrap();
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE communities SET invite_link_uses = 348 WHERE id = $1"
    )
    .bind(c.id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();

    sign_up(&app, "use349@example.org", 10).await;
    status_reaches(&app, "use349@example.org", InviteStatus::LinkSent).await;
    assert!(lobby::invites::mail::link_health_warning(&community(&app).await, db::now()).is_none());

    sign_up(&app, "use350@example.org", 10).await;
    status_reaches(&app, "use350@example.org", InviteStatus::LinkSent).await;
    // The use is counted just after the status is written.
    let c = crate::helpers::eventually("the 350th use to be counted", || async {
        Some(community(&app).await).filter(|c| c.invite_link_uses >= 350)
    })
    .await;
    assert_eq!(c.invite_link_uses, 350);
    let warning = lobby::invites::mail::link_health_warning(&c, db::now()).expect("a warning");
    assert!(warning.contains("350"), "{warning}");

    let started = Instant::now();
    let warned = loop {
        let posts: Vec<_> = app
            .emulator
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.param("text").is_some_and(|t| t.contains("350 times")))
            .collect();
        if !posts.is_empty() {
            break posts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no warning in the admin channel"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(warned[0].param("channel"), Some("C0GENERAL1"));

    sign_up(&app, "use351@example.org", 10).await;
    status_reaches(&app, "use351@example.org", InviteStatus::LinkSent).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let warnings = app
        .emulator
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.param("text").is_some_and(|t| t.contains("times")))
        .count();
    assert_eq!(warnings, 1, "once per threshold");
}

#[tokio::test]
async fn a_used_up_link_makes_requests_wait_instead_of_sending_it() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Link, false).await;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE communities SET invite_link_uses = 400 WHERE id = $1"
    )
    .bind(c.id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    sign_up(&app, "late@example.org", 10).await;
    let request = status_reaches(&app, "late@example.org", InviteStatus::Pending).await;
    assert!(
        request.status_message.contains("new invite link"),
        "{}",
        request.status_message
    );
    assert!(smtp.received().is_empty());
}

/// The links in the demo mailbox page, newest mail first.
async fn mailbox_links(client: &reqwest::Client, address: &str) -> Vec<String> {
    let html = client
        .get(format!("{address}/_emulator/mail/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(crate::helpers::decode_entities)
        .filter(|href| href.starts_with("http"))
        .collect()
}

async fn wait_for_link(client: &reqwest::Client, address: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(link) = mailbox_links(client, address)
            .await
            .into_iter()
            .find(|l| l.contains(needle))
        {
            return link;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no mail with a link containing {needle} in the demo mailbox"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_demo_closes_the_loop_through_its_mailbox_and_team_join() {
    crate::helpers::captured_logs();
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let env: std::collections::HashMap<String, String> = [
        ("LOBBY_BIND", "127.0.0.1:0".to_owned()),
        ("LOBBY_PUBLIC_URL", address.clone()),
        ("LOBBY_DATA_DIR", tmp.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = lobby::config::Settings::from_sources(&env, None).unwrap();
    assert!(settings.is_demo());
    let app = lobby::startup::Application::build_with_listener(settings, listener)
        .await
        .unwrap();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let person = browser();

    // Install the demo workspace through the emulator's consent page, as a newcomer would.
    let res = crate::helpers::install_at(
        &address,
        &browser(),
        lobby::emulator::seed::DEMO_TEAM,
        lobby::emulator::seed::DEMO_ADMIN,
    )
    .await;
    assert_eq!(res.status(), 200);
    let banner = person
        .get(format!("{address}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        banner.contains("href=\"/_emulator/mail/\""),
        "the banner links the mailbox"
    );

    // Request, from the join form.
    let key = state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, DEMO_SLUG, db::now() - 10);
    let res = person
        .post(format!("{address}/join/{DEMO_SLUG}"))
        .header("cookie", format!("lobby_join={cookie}"))
        .form(&[
            ("email", "newcomer@example.org"),
            ("form_token", token.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("check your mail"));

    // Confirm, from the mailed link.
    let link = url::Url::parse(&wait_for_link(&person, &address, "/confirm?t=").await).unwrap();
    let page = person
        .get(link.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Confirm my address"));
    let token = link
        .query_pairs()
        .find(|(k, _)| k == "t")
        .unwrap()
        .1
        .into_owned();
    let res = person
        .post(format!("{address}{}", link.path()))
        .form(&[("t", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Approve: the demo community has no invite API, so the shared link goes out by mail.
    let community = db::communities::by_slug(&state.db, DEMO_SLUG)
        .await
        .unwrap()
        .unwrap();
    let request = db::invite_requests::list(&state.db, community.id, None, None, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(request.status, InviteStatus::Pending);
    let approved = lobby::invites::approve(&state, request.id, "U0ADMIN001")
        .await
        .unwrap();
    assert!(matches!(approved, Approved::Mailing), "{approved:?}");

    // Join, through the mailed link the emulator serves.
    let invite = wait_for_link(&person, &address, "/_emulator/slack/join/").await;
    let page = person.get(&invite).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let res = person
        .post(&invite)
        .form(&[("email", "newcomer@example.org"), ("name", "New Comer")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Welcome"));

    let started = Instant::now();
    loop {
        let now = db::invite_requests::get(&state.db, request.id)
            .await
            .unwrap()
            .unwrap();
        if now.status == InviteStatus::Joined {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the request is {} ({}), not joined",
            now.status,
            now.status_message
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn mistakes_do_not_count_against_the_limit_and_a_refused_form_keeps_what_was_typed() {
    let app = crate::helpers::app_with_admin_api(vec![]).await;
    let c = community(&app).await;
    db::communities::set_signup_rules(app.db(), c.id, false, 2)
        .await
        .unwrap();
    for _ in 0..5 {
        let res = sign_up(&app, "not-an-address", 10).await;
        assert_eq!(res.status(), 400, "a typo is corrected, not counted");
    }
    assert_eq!(sign_up(&app, "one@example.org", 10).await.status(), 200);
    assert_eq!(sign_up(&app, "two@example.org", 10).await.status(), 200);
    let refused = sign_up(&app, "three@example.org", 10).await;
    assert_eq!(
        refused.status(),
        429,
        "the community allows 2 per 30 minutes"
    );
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("value=\"three@example.org\""),
        "what was typed is kept"
    );
    assert!(html.contains("Too many requests"));

    // The community raises its limit (a meetup on one Wi-Fi): the same network gets through.
    db::communities::set_signup_rules(app.db(), c.id, false, 50)
        .await
        .unwrap();
    assert_eq!(sign_up(&app, "three@example.org", 10).await.status(), 200);
}

#[tokio::test]
async fn api_callers_may_vouch_for_an_address_others_confirm_it() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Link, true).await;
    let key = lobby::api_keys::create(
        app.db(),
        &team(lobby::emulator::seed::DEMO_TEAM),
        "cms",
        "U0ADMIN001",
    )
    .await
    .unwrap();
    let res = browser()
        .post(app.url("/api/v1/invites"))
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&key.key))
        .json(&serde_json::json!({ "community": DEMO_SLUG, "email": "vouched@example.org", "verified": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let mails = smtp.wait_for(1).await;
    assert!(
        mails[0]["text"].as_str().unwrap().contains(LINK),
        "no confirmation for a verified address"
    );

    let res = browser()
        .post(app.url("/api/v1/invites"))
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&key.key))
        .json(&serde_json::json!({ "community": DEMO_SLUG, "email": "unproven@example.org" }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unconfirmed");
}

#[tokio::test]
async fn lobby_check_reaches_the_smtp_server_and_warns_of_a_worn_link() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Link, false).await;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE communities SET invite_link_uses = 360 WHERE id = $1"
    )
    .bind(c.id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let check = |url: String| {
        let mut command = crate::helpers::with_emulator(
            crate::helpers::lobby_command(&app.data_dir),
            &app.emulator,
        );
        command
            .env("LOBBY_PUBLIC_URL", &app.address)
            .env("LOBBY_SMTP_URL", url)
            .env("LOBBY_MAIL_FROM", "Lobby <lobby@example.org>")
            .arg("check");
        tokio::process::Command::from(command).output()
    };
    let out = check(smtp.url()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let mail_line = stdout
        .lines()
        .find(|l| l.contains(" mail: "))
        .unwrap_or_else(|| panic!("no mail line in {stdout}"));
    assert!(mail_line.starts_with("ok "), "{mail_line}");
    assert!(
        mail_line.contains(&format!("127.0.0.1:{}", smtp.port)),
        "{mail_line}"
    );
    assert!(
        stdout.contains("WARN  invite link demo-community: "),
        "{stdout}"
    );

    // Nothing listens on this port: the check fails on its own line, without the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = check(format!("smtp://127.0.0.1:{port}?tls=none"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success());
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL  mail: ")),
        "{stdout}"
    );
}

#[tokio::test]
async fn asking_again_before_confirming_mails_a_fresh_link_and_the_old_one_stops_working() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    use_mode(&app, InviteMode::Approval, true).await;
    let email = "lost.mail@example.org";
    let token_of = |mail: &Value| {
        url::Url::parse(&confirm_link(mail))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "t")
            .unwrap()
            .1
            .into_owned()
    };

    sign_up(&app, email, 10).await;
    let first = token_of(&smtp.wait_for(1).await[0]);
    let res = sign_up(&app, email, 10).await;
    assert!(res.text().await.unwrap().contains("check your mail"));
    let second = token_of(&smtp.wait_for(2).await[1]);
    assert_ne!(first, second);

    let confirm_with = |token: String| {
        browser()
            .post(app.url(&format!("/join/{DEMO_SLUG}/confirm")))
            .form(&[("t", token)])
            .send()
    };
    assert_eq!(confirm_with(first).await.unwrap().status(), 404);
    assert_eq!(confirm_with(second).await.unwrap().status(), 200);
    assert_eq!(request_of(&app, email).await.status, InviteStatus::Pending);
}

#[tokio::test]
async fn approving_from_slack_mails_the_link_and_the_message_says_it_went_out() {
    use lobby::emulator::seed::{DEMO_ADMIN, DEMO_GENERAL, DEMO_TEAM};
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Approval, false).await;
    let mut settings = settings_of(&c);
    settings.admin_channel = Some(DEMO_GENERAL.into());
    db::communities::update(app.db(), c.id, &settings)
        .await
        .unwrap();
    let email = "slack.approved@example.org";
    sign_up(&app, email, 10).await;
    let request = status_reaches(&app, email, InviteStatus::Pending).await;
    let started = Instant::now();
    while !app
        .emulator
        .calls_to("chat.postMessage")
        .iter()
        .any(|c| c.params.contains_key("blocks"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no approval message"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let click = serde_json::json!({
        "type": "block_actions",
        "user": { "id": DEMO_ADMIN, "team_id": DEMO_TEAM },
        "team": { "id": DEMO_TEAM },
        "channel": { "id": DEMO_GENERAL },
        "actions": [{ "action_id": "lobby_approve", "value": request.id.to_string(), "type": "button" }],
    });
    let res = app.emulator.send_interaction(click).await.unwrap();
    assert_eq!(res.status(), 200);
    let mails = smtp.wait_for(1).await;
    assert!(mails[0]["text"].as_str().unwrap().contains(LINK));
    status_reaches(&app, email, InviteStatus::LinkSent).await;
    let started = Instant::now();
    let update = loop {
        if let Some(post) = app.emulator.response_url_posts().pop() {
            break post;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the message was not updated"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(update.body["replace_original"], true);
    let text = update.body["text"].as_str().unwrap();
    assert!(text.contains("invite link was mailed"), "{text}");
}

#[tokio::test]
async fn housekeeping_forgets_week_old_unconfirmed_requests_and_warns_of_an_expiring_link() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Approval, true).await;
    sign_up(&app, "old.unconfirmed@example.org", 10).await;
    sign_up(&app, "new.unconfirmed@example.org", 10).await;
    smtp.wait_for(2).await;
    // Bound, not spelled out: statements are logged, addresses must not be.
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE invite_requests SET created_at = created_at - 8 * 86400 WHERE email = $1"
    )
    .bind("old.unconfirmed@example.org")
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    db::communities::set_invite_link_expiry(app.db(), c.id, Some(db::now() + 2 * 86_400))
        .await
        .unwrap();

    lobby::housekeeping::sweep(&app.state).await.unwrap();
    let all = db::invite_requests::list(app.db(), c.id, None, None, 10)
        .await
        .unwrap();
    let emails: Vec<_> = all.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(emails, ["new.unconfirmed@example.org"]);
    let c = community(&app).await;
    assert_ne!(
        c.invite_link_warned & db::communities::LINK_WARNED_EXPIRY,
        0
    );
    let warning = lobby::invites::mail::link_health_warning(&c, db::now()).unwrap();
    assert!(
        warning.contains("expires in 1 day") || warning.contains("expires in 2 day"),
        "{warning}"
    );

    // Replacing the link starts over: no warning, a new count.
    db::communities::set_secret(
        app.db(),
        &app.state.keyring,
        c.id,
        db::communities::CommunitySecret::InviteLink,
        &db::communities::SecretChange::Set(format!("{LINK}-new").into()),
    )
    .await
    .unwrap();
    let c = community(&app).await;
    assert_eq!((c.invite_link_uses, c.invite_link_warned), (0, 0));
    assert!(lobby::invites::mail::link_health_warning(&c, db::now()).is_none());
}

#[tokio::test]
async fn a_denial_mails_a_polite_word_only_where_the_community_asks_for_it() {
    let smtp = SmtpServer::start(0);
    let app = mail_app(&smtp).await;
    let c = use_mode(&app, InviteMode::Approval, false).await;

    sign_up(&app, "quiet.no@example.org", 10).await;
    let request = status_reaches(&app, "quiet.no@example.org", InviteStatus::Pending).await;
    lobby::invites::deny(&app.state, request.id, "U0ADMIN001")
        .await
        .unwrap();

    db::communities::set_deny_mail(app.db(), c.id, true)
        .await
        .unwrap();
    sign_up(&app, "polite.no@example.org", 10).await;
    let request = status_reaches(&app, "polite.no@example.org", InviteStatus::Pending).await;
    lobby::invites::deny(&app.state, request.id, "U0ADMIN001")
        .await
        .unwrap();
    let mails = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        smtp.received().len(),
        1,
        "only the community that asks for it mails"
    );
    assert_eq!(mails[0]["rcpt_tos"][0], "polite.no@example.org");
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("could not accept")
    );
    let request = status_reaches(&app, "polite.no@example.org", InviteStatus::Denied).await;
    let started = Instant::now();
    let mut request = request;
    while !request.status_message.contains("polite mail") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            request.status_message
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
        request = request_of(&app, "polite.no@example.org").await;
    }
}
