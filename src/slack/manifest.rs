//! The Slack app manifest for this server: paste it at api.slack.com/apps to create the app.

use serde_json::{Value, json};

use crate::config::Settings;

/// Events the app subscribes to.
pub const BOT_EVENTS: &[&str] = &[
    "app_mention",
    "app_uninstalled",
    "tokens_revoked",
    "team_join",
];

/// The bot scope each subscribed event needs; Slack refuses a subscription without it.
pub const EVENT_SCOPES: &[(&str, &str)] = &[
    ("app_mention", "app_mentions:read"),
    ("team_join", "users:read"),
    ("message.channels", "channels:history"),
];

/// The subscribed events whose scope is not in `scopes`, with that scope.
pub fn events_missing_scopes(scopes: &[String]) -> Vec<(&'static str, &'static str)> {
    BOT_EVENTS
        .iter()
        .filter_map(|event| EVENT_SCOPES.iter().find(|(e, _)| e == event))
        .filter(|(_, scope)| !scopes.iter().any(|s| s == scope))
        .copied()
        .collect()
}

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

    #[test]
    fn the_default_scopes_serve_every_subscribed_event_and_no_built_in_command_is_claimed() {
        let settings = Settings::from_sources(&Default::default(), None).unwrap();
        assert!(events_missing_scopes(&settings.slack.scopes).is_empty());
        let m = manifest(&settings);
        for command in m["features"]["slash_commands"].as_array().unwrap() {
            let name = command["command"].as_str().unwrap();
            assert!(
                !crate::config::SLACK_BUILT_IN_COMMANDS.contains(&name),
                "{name}"
            );
        }
        let bot_scopes: Vec<&str> = m["oauth_config"]["scopes"]["bot"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        for event in m["settings"]["event_subscriptions"]["bot_events"]
            .as_array()
            .unwrap()
        {
            let event = event.as_str().unwrap();
            if let Some((_, scope)) = EVENT_SCOPES.iter().find(|(e, _)| *e == event) {
                assert!(bot_scopes.contains(scope), "{event} needs {scope}");
            }
        }
    }
}
