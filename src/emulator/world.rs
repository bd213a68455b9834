//! The emulated Slack world: enterprises, workspaces, people, channels and the messages in them.

use serde_json::Value;

/// The one app the emulator hosts (Lobby).
pub const APP_ID: &str = "A0LOBBY001";

/// An Enterprise Grid organization.
#[derive(Clone, Debug)]
pub struct Enterprise {
    pub id: String,
    pub name: String,
    pub domain: String,
}

/// A workspace.
#[derive(Clone, Debug)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub email_domain: String,
    pub enterprise_id: Option<String>,
}

impl Team {
    /// Slack-style icon URL at the given pixel size.
    pub fn icon_url(&self, size: u32) -> String {
        format!(
            "https://avatars.slack-edge.test/{}/icon_{size}.png",
            self.id
        )
    }
}

/// A person or a bot in a workspace.
#[derive(Clone, Debug, Default)]
pub struct User {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub real_name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_primary_owner: bool,
    /// An admin of the Enterprise Grid organisation the user's workspace belongs to.
    pub is_org_admin: bool,
    pub deleted: bool,
    pub is_bot: bool,
    pub bot_id: Option<String>,
}

impl User {
    /// A regular, active member.
    pub fn member(id: &str, team_id: &str, name: &str, email: &str) -> Self {
        Self {
            id: id.to_owned(),
            team_id: team_id.to_owned(),
            name: name.to_owned(),
            real_name: title_case(name),
            email: Some(email.to_owned()),
            ..Self::default()
        }
    }

    /// Avatar URL at the given pixel size.
    pub fn image_url(&self, size: u32) -> String {
        format!("https://avatars.slack-edge.test/{}/{size}.png", self.id)
    }

    /// A human who can sign in and be invited around (not a bot, not deactivated).
    pub fn is_active_person(&self) -> bool {
        !self.is_bot && !self.deleted
    }
}

/// A public or private channel and its history.
#[derive(Clone, Debug, Default)]
pub struct Channel {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub is_general: bool,
    pub created: i64,
    pub members: Vec<String>,
    /// Messages as stored (chat.postMessage, completed uploads, in-channel responses), oldest first.
    pub messages: Vec<Value>,
}

impl Channel {
    /// A public channel with no members yet.
    pub fn public(id: &str, team_id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            team_id: team_id.to_owned(),
            name: name.to_owned(),
            ..Self::default()
        }
    }

    pub fn has_member(&self, user_id: &str) -> bool {
        self.members.iter().any(|m| m == user_id)
    }
}

/// The app's bot user in one workspace (or organization, for org-wide installs).
#[derive(Clone, Debug)]
pub struct AppBot {
    /// The team or enterprise id the app is installed in.
    pub installed_in: String,
    pub user_id: String,
    pub bot_id: String,
}

/// Everything the emulator knows about Slack's side.
#[derive(Clone, Debug, Default)]
pub struct World {
    pub enterprises: Vec<Enterprise>,
    pub teams: Vec<Team>,
    pub users: Vec<User>,
    pub channels: Vec<Channel>,
    pub app_bots: Vec<AppBot>,
}

impl World {
    pub fn enterprise(&self, id: &str) -> Option<&Enterprise> {
        self.enterprises.iter().find(|e| e.id == id)
    }

    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    /// The workspaces a team-or-enterprise id covers: the team itself, or every team of the enterprise.
    pub fn teams_covered_by(&self, id: &str) -> Vec<String> {
        if self.team(id).is_some() {
            return vec![id.to_owned()];
        }
        self.teams
            .iter()
            .filter(|t| t.enterprise_id.as_deref() == Some(id))
            .map(|t| t.id.clone())
            .collect()
    }

    /// A channel by id, or by name with or without `#`, among the given workspaces.
    pub fn find_channel(&self, teams: &[String], id_or_name: &str) -> Option<&Channel> {
        let name = id_or_name.strip_prefix('#').unwrap_or(id_or_name);
        let in_scope = |c: &&Channel| teams.contains(&c.team_id);
        self.channels
            .iter()
            .filter(in_scope)
            .find(|c| c.id == id_or_name)
            .or_else(|| {
                self.channels
                    .iter()
                    .filter(in_scope)
                    .find(|c| c.name == name)
            })
    }

    /// Active or deactivated account with this email in the team, compared case-insensitively.
    pub fn user_by_email(&self, team_id: &str, email: &str) -> Option<&User> {
        self.users.iter().find(|u| {
            u.team_id == team_id
                && u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    /// The organisation whose org-wide install covers `team_id`, when the app is installed that way
    /// (and not in the workspace itself); Slack then marks payloads `is_enterprise_install`.
    pub fn org_install_covering(&self, team_id: &str) -> Option<String> {
        let enterprise_id = self.team(team_id)?.enterprise_id.clone()?;
        let installed = |id: &str| self.app_bots.iter().any(|b| b.installed_in == id);
        (installed(&enterprise_id) && !installed(team_id)).then_some(enterprise_id)
    }

    /// The app's bot in a team or enterprise, created on first install like Slack does.
    pub fn ensure_app_bot(&mut self, installed_in: &str) -> AppBot {
        if let Some(bot) = self
            .app_bots
            .iter()
            .find(|b| b.installed_in == installed_in)
        {
            return bot.clone();
        }
        let n = self.app_bots.len() + 1;
        let bot = AppBot {
            installed_in: installed_in.to_owned(),
            user_id: format!("U0APPBOT{n:02}"),
            bot_id: format!("B0APPBOT{n:02}"),
        };
        self.users.push(User {
            id: bot.user_id.clone(),
            team_id: installed_in.to_owned(),
            name: "lobby".to_owned(),
            real_name: "Lobby".to_owned(),
            is_bot: true,
            bot_id: Some(bot.bot_id.clone()),
            ..User::default()
        });
        self.app_bots.push(bot.clone());
        bot
    }

    /// Adds `user_id` to a channel's members; false if the channel does not exist.
    pub fn join_channel(&mut self, channel_id: &str, user_id: &str) -> bool {
        match self.channel_mut(channel_id) {
            Some(channel) => {
                if !channel.has_member(user_id) {
                    channel.members.push(user_id.to_owned());
                }
                true
            }
            None => false,
        }
    }
}

fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        let mut world = World::default();
        world.teams.push(Team {
            id: "T1".into(),
            name: "One".into(),
            domain: "one".into(),
            email_domain: "one.test".into(),
            enterprise_id: Some("E1".into()),
        });
        world.channels.push(Channel::public("C1", "T1", "general"));
        world.channels.push(Channel::public("C2", "T2", "general"));
        world
    }

    #[test]
    fn channels_resolve_by_id_or_name_within_the_given_teams_only() {
        let world = world();
        let teams = vec!["T1".to_owned()];
        assert_eq!(
            world.find_channel(&teams, "C1").map(|c| c.id.as_str()),
            Some("C1")
        );
        assert_eq!(
            world
                .find_channel(&teams, "#general")
                .map(|c| c.id.as_str()),
            Some("C1")
        );
        assert!(world.find_channel(&teams, "C2").is_none());
    }

    #[test]
    fn an_enterprise_covers_its_teams() {
        let world = world();
        assert_eq!(world.teams_covered_by("E1"), vec!["T1".to_owned()]);
        assert_eq!(world.teams_covered_by("T1"), vec!["T1".to_owned()]);
        assert!(world.teams_covered_by("E9").is_empty());
    }

    #[test]
    fn the_app_bot_is_created_once_per_installation() {
        let mut world = world();
        let first = world.ensure_app_bot("T1");
        let again = world.ensure_app_bot("T1");
        let other = world.ensure_app_bot("E1");
        assert_eq!(first.user_id, again.user_id);
        assert_ne!(first.user_id, other.user_id);
        assert!(world.user(&first.user_id).is_some_and(|u| u.is_bot));
    }
}
