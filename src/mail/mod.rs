//! Outgoing mail: one [`Mailer`] that sends a rendered [`OutgoingMail`] over SMTP (lettre, rustls,
//! tokio), or in demo mode into the emulator's mailbox. Callers send from jobs, never on a request:
//! a [`SendError::Transient`] (4xx, a dropped connection) is worth another attempt, a
//! [`SendError::Permanent`] (5xx) is the server's final word and is shown to admins.

pub mod settings;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

pub use settings::{MailFrom, MailSettings, SmtpSecurity, SmtpSettings};

use crate::emulator::{DemoMail, Mailbox as DemoMailbox};

/// One SMTP conversation gives up after this long; the job tries again later.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A mail ready to go: the words are rendered, the sender is named after the community.
#[derive(Clone)]
pub struct OutgoingMail {
    pub to: String,
    /// The display name of the sender (the community's title); the address is `LOBBY_MAIL_FROM`'s.
    pub from_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A 4xx answer, a timeout or a dropped connection: try again later.
    #[error("{0}")]
    Transient(String),
    /// A 5xx answer or a mail that cannot be built: retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Demo mode without `LOBBY_SMTP_URL`: the emulator keeps what would have been sent.
    Outbox(DemoMailbox),
}

/// Sends mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from_address: String,
    /// What `lobby check` and the overview say about where mail goes.
    description: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("to", &self.description)
            .finish()
    }
}

impl Mailer {
    /// A mailer for the configured SMTP server. Connects only when it sends.
    pub fn smtp(settings: &MailSettings) -> Result<Self, String> {
        let smtp = &settings.smtp;
        let tls = || {
            TlsParameters::new(smtp.host.clone())
                .map_err(|e| format!("cannot set up TLS for {}: {e}", smtp.host))
        };
        let tls = match smtp.security {
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Plain => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                .port(smtp.port)
                .tls(tls)
                .timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &smtp.user {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Mailer {
            transport: Transport::Smtp(builder.build()),
            from_address: settings.from.address.clone(),
            description: format!("SMTP {}", smtp.describe()),
        })
    }

    /// Demo mode: mail lands in the emulator's mailbox at `/_emulator/mail/`.
    pub fn outbox(mailbox: DemoMailbox, from_address: &str) -> Self {
        Mailer {
            transport: Transport::Outbox(mailbox),
            from_address: from_address.to_owned(),
            description: "the demo mailbox".into(),
        }
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Sends one mail; the `Message-ID` it was sent with on success.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<String, SendError> {
        let message_id = self.new_message_id();
        match &self.transport {
            Transport::Outbox(mailbox) => {
                mailbox.deliver(DemoMail {
                    message_id: message_id.clone(),
                    from: format!("{} <{}>", mail.from_name, self.from_address),
                    to: mail.to.clone(),
                    subject: mail.subject.clone(),
                    text: mail.text.clone(),
                    html: mail.html.clone(),
                });
                Ok(message_id)
            }
            Transport::Smtp(smtp) => {
                let message = self.build(mail, &message_id)?;
                smtp.send(message)
                    .await
                    .map(|_| message_id)
                    .map_err(|e| classify(&e, &mail.to))
            }
        }
    }

    /// Connects, greets (EHLO), upgrades to TLS and authenticates as configured, then quits.
    pub async fn check(&self) -> Result<String, String> {
        match &self.transport {
            Transport::Outbox(_) => Ok("demo mode: mail goes to the demo mailbox".into()),
            Transport::Smtp(smtp) => match smtp.test_connection().await {
                Ok(true) => Ok(format!("{} accepts a session", self.description)),
                Ok(false) => Err(format!("{} did not answer NOOP", self.description)),
                Err(e) => Err(format!("{}: {e}", self.description)),
            },
        }
    }

    fn new_message_id(&self) -> String {
        let domain = self
            .from_address
            .rsplit_once('@')
            .map_or("lobby.invalid", |(_, d)| d);
        format!("<{}@{domain}>", uuid::Uuid::new_v4())
    }

    fn build(&self, mail: &OutgoingMail, message_id: &str) -> Result<Message, SendError> {
        let bad = |what: &str| SendError::Permanent(format!("the mail cannot be built: {what}"));
        let from_address = self
            .from_address
            .parse()
            .map_err(|_| bad("the sender address"))?;
        let to_address = mail.to.parse().map_err(|_| bad("the recipient address"))?;
        // A title with odd characters still makes a valid header: lettre encodes it.
        let name = mail.from_name.replace(['\r', '\n'], " ");
        Message::builder()
            .from(Mailbox::new(Some(name), from_address))
            .to(Mailbox::new(None, to_address))
            .subject(mail.subject.replace(['\r', '\n'], " "))
            .message_id(Some(message_id.to_owned()))
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| bad(&e.to_string()))
    }
}

/// What an SMTP failure means for the job, in words that never carry the recipient's address
/// (servers like to quote it back: "550 <grace@example.org>: no such user").
fn classify(error: &lettre::transport::smtp::Error, recipient: &str) -> SendError {
    let text = scrub(&error.to_string(), recipient);
    if error.is_permanent() {
        SendError::Permanent(format!("the mail server refused the mail: {text}"))
    } else {
        SendError::Transient(format!("the mail server did not take the mail yet: {text}"))
    }
}

/// `text` with every mention of `address` (any case) replaced.
pub fn scrub(text: &str, address: &str) -> String {
    if address.is_empty() {
        return text.to_owned();
    }
    let lower = text.to_lowercase();
    let needle = address.to_lowercase();
    // Lower-casing can change byte lengths outside ASCII; then only exact matches are replaced.
    if lower.len() != text.len() {
        return text.replace(address, "[recipient]");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&text[rest..at]);
        out.push_str("[recipient]");
        rest = at + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipient_is_scrubbed_from_server_answers() {
        assert_eq!(
            scrub(
                "550 5.1.1 <Grace@Example.org>: unknown",
                "grace@example.org"
            ),
            "550 5.1.1 <[recipient]>: unknown"
        );
        assert_eq!(scrub("421 try later", "grace@example.org"), "421 try later");
    }

    #[tokio::test]
    async fn a_mail_builds_as_multipart_with_a_message_id() {
        let settings = MailSettings::parse(
            Some("smtp://127.0.0.1:1?tls=none"),
            Some("Lobby <lobby@example.org>"),
        )
        .unwrap()
        .unwrap();
        let mailer = Mailer::smtp(&settings).unwrap();
        let mail = OutgoingMail {
            to: "grace@example.org".into(),
            from_name: "Rust Meetup".into(),
            subject: "Welcome".into(),
            text: "hello".into(),
            html: "<p>hello</p>".into(),
        };
        let id = mailer.new_message_id();
        assert!(id.ends_with("@example.org>"), "{id}");
        let raw = String::from_utf8(mailer.build(&mail, &id).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: \"Rust Meetup\" <lobby@example.org>")
                || raw.contains("From: Rust Meetup <lobby@example.org>"),
            "{raw}"
        );
        assert!(raw.contains(&format!("Message-ID: {id}")), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }
}
