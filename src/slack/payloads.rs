//! What Slack posts to the Request URL, parsed: slash commands and interactivity arrive as forms,
//! events as JSON.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::TeamId;

/// A form post: a slash command, an interaction (`payload`), or Slack's `ssl_check`. Fields stay
/// as the body has them until asked for, so an ack for a command Lobby ignores decodes one field.
#[derive(Debug, Default)]
pub struct FormPost<'a> {
    pub ssl_check: Option<FormField<'a>>,
    pub payload: Option<FormField<'a>>,
    pub command: Option<FormField<'a>>,
    pub text: Option<FormField<'a>>,
    pub team_id: Option<FormField<'a>>,
    pub enterprise_id: Option<FormField<'a>>,
    pub channel_id: Option<FormField<'a>>,
    pub user_id: Option<FormField<'a>>,
    pub response_url: Option<FormField<'a>>,
}

/// A value of an `application/x-www-form-urlencoded` body, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub struct FormField<'a>(&'a [u8]);

impl<'a> FormField<'a> {
    /// The value with `+` and percent escapes decoded; invalid UTF-8 is replaced, as browsers do.
    /// Borrows from the body when there was nothing to decode.
    pub fn decode(self) -> Cow<'a, str> {
        decode_form(self.0)
    }
}

fn decode_form(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'+') {
        return percent_encoding::percent_decode(raw).decode_utf8_lossy();
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    Cow::Owned(
        percent_encoding::percent_decode(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// A slash command with everything Lobby needs present.
#[derive(Debug, Clone)]
pub struct SlashCommand {
    pub command: String,
    pub text: String,
    pub team_id: String,
    pub enterprise_id: Option<String>,
    pub channel_id: String,
    pub user_id: String,
    pub response_url: String,
}

impl<'a> FormPost<'a> {
    /// Splits an `application/x-www-form-urlencoded` body into the fields Lobby uses; others are
    /// skipped without being decoded, and a repeated field keeps its last value.
    pub fn parse(body: &'a [u8]) -> Self {
        let mut post = FormPost::default();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            // Slack's keys are plain ASCII: compared as they are, decoded only if escaped.
            let key: Cow<'_, [u8]> = if key.iter().any(|&b| b == b'%' || b == b'+') {
                Cow::Owned(decode_form(key).into_owned().into_bytes())
            } else {
                Cow::Borrowed(key)
            };
            let field = match &*key {
                b"ssl_check" => &mut post.ssl_check,
                b"payload" => &mut post.payload,
                b"command" => &mut post.command,
                b"text" => &mut post.text,
                b"team_id" => &mut post.team_id,
                b"enterprise_id" => &mut post.enterprise_id,
                b"channel_id" => &mut post.channel_id,
                b"user_id" => &mut post.user_id,
                b"response_url" => &mut post.response_url,
                _ => continue,
            };
            *field = Some(FormField(value));
        }
        post
    }

    pub fn into_command(self) -> Option<SlashCommand> {
        let owned = |field: Option<FormField<'_>>| field.map(|f| f.decode().into_owned());
        Some(SlashCommand {
            command: owned(self.command)?,
            text: owned(self.text).unwrap_or_default(),
            team_id: owned(self.team_id)?,
            enterprise_id: owned(self.enterprise_id).filter(|e| !e.is_empty()),
            channel_id: owned(self.channel_id)?,
            user_id: owned(self.user_id)?,
            response_url: owned(self.response_url)?,
        })
    }
}

/// A button click (`block_actions`), the only interaction Lobby offers.
#[derive(Debug, Deserialize)]
pub struct BlockActions {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: ActionUser,
    #[serde(default)]
    pub team: Option<IdRef>,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub response_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ActionUser {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct IdRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
}

impl BlockActions {
    /// The workspace the click came from.
    pub fn team_id(&self) -> Option<&str> {
        self.team
            .as_ref()
            .map(|t| t.id.as_str())
            .or(self.user.team_id.as_deref())
    }
}

/// The envelope of an Events API delivery.
#[derive(Debug, Deserialize)]
pub struct EventCallback {
    pub event_id: String,
    pub team_id: Option<String>,
    #[serde(default)]
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub is_enterprise_install: bool,
    pub event: Value,
}

impl EventCallback {
    pub fn event_type(&self) -> &str {
        self.event["type"].as_str().unwrap_or_default()
    }

    /// The installation this event is for: the org for org-wide installs, else the workspace.
    /// `None` also when Slack's id does not parse: no installation has such an id.
    pub fn installation_key(&self) -> Option<TeamId> {
        let key = if self.is_enterprise_install {
            self.enterprise_id.as_deref()
        } else {
            self.team_id.as_deref()
        };
        key.and_then(|k| TeamId::parse(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_form_parses() {
        let body = "command=%2Flobby&text=help&team_id=T1&channel_id=C1&user_id=U1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2";
        let post = FormPost::parse(body.as_bytes());
        let cmd = post.into_command().unwrap();
        assert_eq!(cmd.command, "/lobby");
        assert_eq!(cmd.text, "help");
        assert_eq!(cmd.response_url, "https://hooks.slack.com/x");
    }

    #[test]
    fn plain_fields_borrow_from_the_body_and_escaped_ones_are_decoded() {
        let body = "command=%2Fecho&text=hi+there%21&team_id=T1&%74oken=x&empty=&flag";
        let post = FormPost::parse(body.as_bytes());
        assert!(matches!(
            post.team_id.map(FormField::decode),
            Some(Cow::Borrowed("T1"))
        ));
        assert_eq!(
            post.command.map(FormField::decode).as_deref(),
            Some("/echo")
        );
        assert_eq!(
            post.text.map(FormField::decode).as_deref(),
            Some("hi there!")
        );
    }

    #[test]
    fn it_reads_what_the_url_crate_reads() {
        let body = "a=1&&text=%E2%9C%93+%ZZ+%FF&text=last&payload=%7B%22type%22%3A%22x%22%7D&ssl_check=1&user_id";
        let post = FormPost::parse(body.as_bytes());
        let theirs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let last = |key: &str| {
            theirs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let ours = |field: Option<FormField<'_>>| field.map(|f| f.decode().into_owned());
        assert_eq!(ours(post.text), last("text"));
        assert_eq!(ours(post.payload), last("payload"));
        assert_eq!(ours(post.ssl_check), last("ssl_check"));
        assert_eq!(ours(post.user_id), last("user_id"));
        assert_eq!(ours(post.command), None);
    }

    #[test]
    fn a_command_without_its_fields_is_not_a_command() {
        let post = FormPost::parse(b"command=%2Flobby");
        assert!(post.into_command().is_none());
    }
}
