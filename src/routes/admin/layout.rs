//! What every dashboard page shares: the navigation (with the sign-out form) and the answers
//! handlers give after a change.

use actix_web::HttpResponse;
use actix_web::http::header;

use crate::admin::Admin;

/// The dashboard's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Communities,
    Requests,
    Installations,
    Keys,
    Audit,
}

/// The navigation bar above every dashboard page.
pub struct Nav {
    pub name: String,
    pub csrf: String,
    pub current: Section,
}

impl Nav {
    pub fn new(admin: &Admin, current: Section) -> Self {
        Nav {
            name: admin.name.clone(),
            csrf: admin.csrf_token().to_owned(),
            current,
        }
    }

    pub fn links(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            ("/admin", "Overview", Section::Overview),
            ("/admin/communities", "Communities", Section::Communities),
            ("/admin/requests", "Requests", Section::Requests),
            (
                "/admin/installations",
                "Installations",
                Section::Installations,
            ),
            ("/admin/keys", "API keys", Section::Keys),
            ("/admin/audit", "Audit log", Section::Audit),
        ]
        .into_iter()
        .map(|(href, label, section)| (href, label, section == self.current))
        // The setup help lives outside the signed-in area, so it is never the current page.
        .chain([("/admin/setup", "Setup", false)])
        .collect()
    }
}

/// After a change, the browser goes to a page that shows the result (post/redirect/get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The sentence a `?notice=` code stands for. Only known codes show, so a link cannot put
/// arbitrary text on a dashboard page.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "Created.",
        "saved" => "Saved.",
        "channels" => "The channel list was read again from Slack.",
        "approved" => "Approved; the invitation is on its way.",
        "mailing" => "Approved; the invite link is being mailed to the person.",
        "denied" => "Declined.",
        "retried" => "Sent to Slack again.",
        "removed" => "The installation was removed and its tokens revoked.",
        "revoked" => "The key was revoked; it no longer works.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notice_codes_show_text() {
        assert_eq!(notice(Some("saved")), Some("Saved."));
        assert_eq!(notice(Some("<script>")), None);
        assert_eq!(notice(None), None);
    }
}
