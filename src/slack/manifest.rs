//! The Slack app manifest for this server: paste it at api.slack.com/apps to create the app.

use serde_json::{Value, json};

use crate::config::Settings;

/// Slash commands Lobby answers, with their usage hints.
pub const SLASH_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "/invite",
        "Propose someone for this community",
        "email [name]",
    ),
    (
        "/summarize",
        "Summarize a web page in three sentences",
        "<url>",
    ),
    (
        "/lobby",
        "Lobby help and this week's numbers",
        "help | stats",
    ),
];

/// Events the app subscribes to.
pub const BOT_EVENTS: &[&str] = &[
    "app_mention",
    "app_uninstalled",
    "tokens_revoked",
    "team_join",
];

/// Sign in with Slack needs these user scopes on the app.
pub const OPENID_SCOPES: &[&str] = &["openid", "email", "profile"];

pub fn manifest(settings: &Settings) -> Value {
    let request_url = settings.url("/slack/events").to_string();
    let names = &settings.commands;
    let commands: Vec<Value> = [
        (
            &names.invite,
            "Propose someone for this community",
            "email [name]",
        ),
        (
            &names.summarize,
            "Summarize a web page in three sentences",
            "<url>",
        ),
        (
            &names.lobby,
            "Lobby help and this week's numbers",
            "help | stats",
        ),
    ]
    .iter()
    .map(|(command, description, hint)| {
        json!({
            "command": command,
            "url": request_url,
            "description": description,
            "usage_hint": hint,
            "should_escape": false,
        })
    })
    .collect();
    let mut user_scopes: Vec<String> = OPENID_SCOPES.iter().map(|s| s.to_string()).collect();
    for scope in &settings.slack.user_scopes {
        if !user_scopes.contains(scope) {
            user_scopes.push(scope.clone());
        }
    }
    json!({
        "display_information": {
            "name": "Lobby",
            "description": "A front door for your Slack community: join forms, invites, slash commands.",
            "background_color": "#4a154b",
        },
        "features": {
            "bot_user": { "display_name": "Lobby", "always_online": true },
            "slash_commands": commands,
        },
        "oauth_config": {
            "redirect_urls": [
                settings.url("/slack/oauth_redirect").to_string(),
                settings.url("/admin/oauth_redirect").to_string(),
            ],
            "scopes": { "bot": settings.slack.scopes, "user": user_scopes },
        },
        "settings": {
            "event_subscriptions": { "request_url": request_url, "bot_events": BOT_EVENTS },
            "interactivity": { "is_enabled": true, "request_url": request_url },
            "org_deploy_enabled": true,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

pub fn render(settings: &Settings) -> String {
    serde_json::to_string_pretty(&manifest(settings))
        .unwrap_or_else(|_| unreachable!("a JSON value always serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_points_slack_at_this_server() {
        let env = [(
            "LOBBY_PUBLIC_URL".to_string(),
            "https://lobby.example.org".to_string(),
        )]
        .into();
        let settings = Settings::from_sources(&env, None).unwrap();
        let m = manifest(&settings);
        assert_eq!(
            m["settings"]["event_subscriptions"]["request_url"],
            "https://lobby.example.org/slack/events"
        );
        assert_eq!(
            m["oauth_config"]["redirect_urls"][0],
            "https://lobby.example.org/slack/oauth_redirect"
        );
        assert!(
            m["oauth_config"]["scopes"]["bot"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "commands")
        );
    }
}
