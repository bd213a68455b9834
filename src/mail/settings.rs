//! `LOBBY_SMTP_URL` and `LOBBY_MAIL_FROM`, parsed once at start.
//!
//! The URL convention (README, "Mail"):
//! - `smtps://user:pass@host[:465]` — TLS from the first byte (implicit TLS).
//! - `smtp://[user:pass@]host[:587]` — plain connect, then STARTTLS, required.
//! - `smtp://host[:25]?tls=none` — no TLS at all, refused unless `host` is a loopback address
//!   (a relay on the same machine, or a test server).
//!
//! User and password are percent-decoded; the password is a secret and never printed.

use std::fmt;
use std::net::IpAddr;

use secrecy::SecretString;
use url::Url;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the start.
    Tls,
    /// `smtp://`: STARTTLS, and no mail if the server does not offer it.
    StartTls,
    /// `smtp://…?tls=none` to a loopback address only.
    Plain,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<SecretString>,
}

/// The sender: a display name and an address, as in `Lobby <lobby@example.org>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp: SmtpSettings,
    pub from: MailFrom,
}

// The password is never printed; the rest helps when reading a configuration dump.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl SmtpSettings {
    /// What `lobby check` and the logs may say about the server: no user, no password.
    pub fn describe(&self) -> String {
        let how = match self.security {
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::StartTls => "STARTTLS",
            SmtpSecurity::Plain => "no TLS, loopback",
        };
        let auth = if self.user.is_some() { ", AUTH" } else { "" };
        format!("{}:{} ({how}{auth})", self.host, self.port)
    }

    /// Parses `LOBBY_SMTP_URL`. The error is one line and never quotes the password.
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = Url::parse(value).map_err(|_| {
            "LOBBY_SMTP_URL is not a URL like smtps://user:password@mail.example.org:465".to_owned()
        })?;
        let mut security = match url.scheme() {
            "smtps" => SmtpSecurity::Tls,
            "smtp" => SmtpSecurity::StartTls,
            other => {
                return Err(format!(
                    "LOBBY_SMTP_URL: the scheme must be smtps:// (TLS) or smtp:// (STARTTLS), not {other}://"
                ));
            }
        };
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']').to_owned(),
            _ => return Err("LOBBY_SMTP_URL has no host".into()),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none") if security == SmtpSecurity::StartTls => {
                    security = SmtpSecurity::Plain
                }
                ("tls", "none") => {
                    return Err("LOBBY_SMTP_URL: tls=none goes with smtp://, not smtps://".into());
                }
                (key, _) => {
                    return Err(format!(
                        "LOBBY_SMTP_URL: unknown parameter {key:?} (only tls=none)"
                    ));
                }
            }
        }
        if security == SmtpSecurity::Plain && !is_loopback(&host) {
            return Err(format!(
                "LOBBY_SMTP_URL: tls=none is only allowed to a loopback address, not {host}; use smtps:// or smtp:// with STARTTLS"
            ));
        }
        if url.path() != "" && url.path() != "/" {
            return Err("LOBBY_SMTP_URL must not have a path".into());
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Plain => 25,
        });
        let decode = |s: &str| -> Result<String, String> {
            percent_decode(s).ok_or_else(|| {
                "LOBBY_SMTP_URL: the user or password is not valid percent-encoded UTF-8".into()
            })
        };
        let user = Some(url.username())
            .filter(|u| !u.is_empty())
            .map(decode)
            .transpose()?;
        let password = url
            .password()
            .map(decode)
            .transpose()?
            .map(SecretString::from);
        if password.is_some() && user.is_none() {
            return Err("LOBBY_SMTP_URL has a password but no user".into());
        }
        if user.is_some() && security == SmtpSecurity::Plain {
            return Err("LOBBY_SMTP_URL: a password is never sent without TLS (drop tls=none or the credentials)".into());
        }
        Ok(SmtpSettings {
            host,
            port,
            security,
            user,
            password,
        })
    }
}

impl MailFrom {
    /// Parses `LOBBY_MAIL_FROM`: `Name <address>` or a bare address.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (name, address) = match value.rsplit_once('<') {
            Some((name, rest)) => {
                let address = rest.strip_suffix('>').ok_or_else(|| {
                    format!("LOBBY_MAIL_FROM={value:?} is not like Lobby <lobby@example.org>")
                })?;
                (
                    name.trim().trim_matches('"').trim().to_owned(),
                    address.trim().to_owned(),
                )
            }
            None => (String::new(), value.to_owned()),
        };
        if address.parse::<lettre::Address>().is_err() {
            return Err(format!(
                "LOBBY_MAIL_FROM: {address:?} is not an email address"
            ));
        }
        if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
            return Err(
                "LOBBY_MAIL_FROM: the name has characters a mail header cannot hold".into(),
            );
        }
        Ok(MailFrom { name, address })
    }
}

impl MailSettings {
    /// Both settings or neither; each problem is one line.
    pub fn parse(smtp_url: Option<&str>, from: Option<&str>) -> Result<Option<Self>, Vec<String>> {
        match (smtp_url, from) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(vec![
                "LOBBY_SMTP_URL is set but LOBBY_MAIL_FROM is not (e.g. LOBBY_MAIL_FROM=\"Lobby <lobby@example.org>\")".into(),
            ]),
            (None, Some(_)) => Err(vec!["LOBBY_MAIL_FROM is set but LOBBY_SMTP_URL is not".into()]),
            (Some(url), Some(from)) => {
                let smtp = SmtpSettings::parse(url);
                let from = MailFrom::parse(from);
                match (smtp, from) {
                    (Ok(smtp), Ok(from)) => Ok(Some(MailSettings { smtp, from })),
                    (smtp, from) => Err(smtp.err().into_iter().chain(from.err()).collect()),
                }
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn smtps_is_implicit_tls_on_465_with_decoded_credentials() {
        let s = SmtpSettings::parse("smtps://me%40example.org:p%3Ass@mail.example.org").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("mail.example.org", 465, SmtpSecurity::Tls)
        );
        assert_eq!(s.user.as_deref(), Some("me@example.org"));
        assert_eq!(
            s.password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .as_deref(),
            Some("p:ss")
        );
        assert!(!format!("{s:?}").contains("p:ss"));
        assert!(!s.describe().contains("me@example.org"));
    }

    #[test]
    fn smtp_is_starttls_on_587() {
        let s = SmtpSettings::parse("smtp://mail.example.org").unwrap();
        assert_eq!((s.port, s.security), (587, SmtpSecurity::StartTls));
    }

    #[test]
    fn plain_smtp_only_goes_to_loopback() {
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((s.port, s.security), (2525, SmtpSecurity::Plain));
        assert!(SmtpSettings::parse("smtp://localhost?tls=none").is_ok());
        let e = SmtpSettings::parse("smtp://mail.example.org?tls=none").unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        assert!(SmtpSettings::parse("smtp://u:secret@127.0.0.1?tls=none").is_err());
        assert!(SmtpSettings::parse("smtps://127.0.0.1?tls=none").is_err());
    }

    #[test]
    fn errors_are_one_line_and_never_quote_the_password() {
        for bad in [
            "http://u:hunter2@x",
            "smtp://u:hunter2@x?tls=maybe",
            "smtp://u:hunter2@x/path",
            "nonsense hunter2",
        ] {
            let e = SmtpSettings::parse(bad).unwrap_err();
            assert!(!e.contains("hunter2") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_sender_is_a_name_and_an_address() {
        assert_eq!(
            MailFrom::parse("Rust Meetup <hello@example.org>").unwrap(),
            MailFrom {
                name: "Rust Meetup".into(),
                address: "hello@example.org".into()
            }
        );
        assert_eq!(MailFrom::parse("hello@example.org").unwrap().name, "");
        assert!(MailFrom::parse("Rust Meetup <nope>").is_err());
        assert!(MailFrom::parse("Rust <hello@example.org").is_err());
    }

    #[test]
    fn both_settings_or_neither() {
        assert!(MailSettings::parse(None, None).unwrap().is_none());
        assert!(MailSettings::parse(Some("smtp://mail.example.org"), None).is_err());
        assert!(MailSettings::parse(None, Some("a@example.org")).is_err());
        let errors = MailSettings::parse(Some("ftp://x"), Some("bad")).unwrap_err();
        assert_eq!(errors.len(), 2);
    }
}
