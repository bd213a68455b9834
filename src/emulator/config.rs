//! What the emulated Slack app looks like: its credentials and token policy.

use std::time::Duration;

use secrecy::SecretString;

use super::random;

/// The app's identity as the emulator knows it, as Slack's app settings page would show it.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub signing_secret: SecretString,
    /// When true, `oauth.v2.access` issues expiring tokens with single-use refresh tokens.
    pub token_rotation: bool,
    /// `expires_in` for rotating tokens.
    pub token_lifetime: Duration,
    /// Shown on the consent pages.
    pub app_name: String,
    /// The bot events the app's Event Subscriptions ask for (`message.channels` style names for
    /// messages); the emulator, like Slack, sends no other event.
    pub bot_events: Vec<String>,
}

/// Slack's default lifetime for rotating tokens.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

impl EmulatorConfig {
    /// The subscription an event needs: its type, or `message.<channel type>` for messages.
    pub fn subscription_for(event: &serde_json::Value) -> String {
        let kind = event["type"].as_str().unwrap_or_default();
        if kind != "message" {
            return kind.to_owned();
        }
        let channel_type = match event["channel_type"].as_str() {
            Some("im") => "im",
            Some("mpim") => "mpim",
            Some("group") => "groups",
            _ => "channels",
        };
        format!("message.{channel_type}")
    }

    /// Whether the app subscribed to events like `event`.
    pub fn subscribes_to(&self, event: &serde_json::Value) -> bool {
        let wanted = Self::subscription_for(event);
        self.bot_events.contains(&wanted)
    }

    /// Fresh random credentials from the OS RNG, token rotation off: what demo mode and most tests want.
    pub fn demo() -> Self {
        Self {
            client_id: format!("{}.{}", random::digits(10), random::digits(13)),
            client_secret: SecretString::from(random::hex(16)),
            signing_secret: SecretString::from(random::hex(16)),
            token_rotation: false,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            app_name: "Lobby".to_owned(),
            // What `lobby manifest` subscribes to: the emulator plays the app the manifest creates.
            bot_events: crate::slack::manifest::BOT_EVENTS
                .iter()
                .map(|event| (*event).to_owned())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn demo_configs_have_distinct_secrets_and_no_rotation() {
        let (a, b) = (EmulatorConfig::demo(), EmulatorConfig::demo());
        assert_ne!(
            a.client_secret.expose_secret(),
            b.client_secret.expose_secret()
        );
        assert_ne!(
            a.signing_secret.expose_secret(),
            b.signing_secret.expose_secret()
        );
        assert!(!a.token_rotation);
        assert_eq!(a.token_lifetime, DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let config = EmulatorConfig::demo();
        let shown = format!("{config:?}");
        assert!(!shown.contains(config.client_secret.expose_secret()));
        assert!(!shown.contains(config.signing_secret.expose_secret()));
    }
}
