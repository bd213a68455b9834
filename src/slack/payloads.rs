//! What Slack posts to the Request URL, parsed: slash commands and interactivity arrive as forms,
//! events as JSON.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::TeamId;

/// A form post: a slash command, an interaction (`payload`), or Slack's `ssl_check`. Fields borrow
/// from the body unless they had to be percent-decoded, so an ack Lobby ignores copies little.
#[derive(Debug, Default)]
pub struct FormPost<'a> {
    pub ssl_check: Option<Cow<'a, str>>,
    pub payload: Option<Cow<'a, str>>,
    pub command: Option<Cow<'a, str>>,
    pub text: Cow<'a, str>,
    pub team_id: Option<Cow<'a, str>>,
    pub enterprise_id: Option<Cow<'a, str>>,
    pub channel_id: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub response_url: Option<Cow<'a, str>>,
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
    /// Reads an `application/x-www-form-urlencoded` body (invalid UTF-8 is replaced, as browsers
    /// do); fields Lobby does not use are skipped, and a repeated field keeps its last value.
    pub fn parse(body: &'a [u8]) -> Self {
        let mut post = FormPost::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            let field = match &*key {
                "ssl_check" => &mut post.ssl_check,
                "payload" => &mut post.payload,
                "command" => &mut post.command,
                "team_id" => &mut post.team_id,
                "enterprise_id" => &mut post.enterprise_id,
                "channel_id" => &mut post.channel_id,
                "user_id" => &mut post.user_id,
                "response_url" => &mut post.response_url,
                "text" => {
                    post.text = value;
                    continue;
                }
                _ => continue,
            };
            *field = Some(value);
        }
        post
    }

    pub fn into_command(self) -> Option<SlashCommand> {
        Some(SlashCommand {
            command: self.command?.into_owned(),
            text: self.text.into_owned(),
            team_id: self.team_id?.into_owned(),
            enterprise_id: self
                .enterprise_id
                .filter(|e| !e.is_empty())
                .map(Cow::into_owned),
            channel_id: self.channel_id?.into_owned(),
            user_id: self.user_id?.into_owned(),
            response_url: self.response_url?.into_owned(),
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
        let body = "command=%2Fecho&text=hi&team_id=T1";
        let post = FormPost::parse(body.as_bytes());
        assert!(matches!(post.team_id, Some(Cow::Borrowed("T1"))));
        assert_eq!(post.command.as_deref(), Some("/echo"));
    }

    #[test]
    fn a_command_without_its_fields_is_not_a_command() {
        let post = FormPost::parse(b"command=%2Flobby");
        assert!(post.into_command().is_none());
    }
}
