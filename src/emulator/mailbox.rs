//! The demo mailbox: in demo mode without an SMTP server, Lobby's mail lands here instead, and
//! `/_emulator/mail/` shows it, so a visitor can follow the confirmation and invite links.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

/// The newest mails kept; older ones are forgotten (demo mode runs unattended for days).
const KEPT: usize = 200;

/// One mail as Lobby would have sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoMail {
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl DemoMail {
    /// The web links in the text part, to show as links the visitor can follow.
    pub fn links(&self) -> Vec<&str> {
        self.text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | ',' | '.')))
            .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
            .collect()
    }
}

/// The mails sent so far; clones share them.
#[derive(Debug, Clone, Default)]
pub struct Mailbox {
    mails: Arc<Mutex<Vec<DemoMail>>>,
}

impl Mailbox {
    pub fn deliver(&self, mail: DemoMail) {
        let mut mails = self.mails.lock().unwrap_or_else(PoisonError::into_inner);
        mails.push(mail);
        if mails.len() > KEPT {
            let excess = mails.len() - KEPT;
            mails.drain(..excess);
        }
    }

    /// Every mail kept, oldest first.
    pub fn mails(&self) -> Vec<DemoMail> {
        self.mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Mounts the mailbox's pages relative to the scope it is configured in.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .route("/", web::get().to(index));
    }
}

#[derive(Template)]
#[template(path = "emulator/mailbox.html")]
struct MailboxPage {
    mails: Vec<DemoMail>,
}

/// `GET /_emulator/mail/`: newest first, each as its plain-text part (links stay clickable text,
/// no HTML from a mail is ever rendered here).
async fn index(mailbox: web::Data<Mailbox>) -> HttpResponse {
    let mut mails = mailbox.mails();
    mails.reverse();
    super::html::render(&MailboxPage { mails }, StatusCode::OK)
}
