//! Scopes in the words Slack's consent page uses.

/// What granting `scope` lets the app do, for the consent page.
pub fn describe(scope: &str) -> String {
    let words = match scope {
        "app_mentions:read" => {
            "View messages that directly mention the app in conversations it's in"
        }
        "channels:history" => {
            "View messages and other content in public channels the app has been added to"
        }
        "channels:join" => "Join public channels in a workspace",
        "channels:read" => "View basic information about public channels in a workspace",
        "chat:write" => "Send messages as the app",
        "chat:write.public" => "Send messages to channels the app isn't a member of",
        "commands" => "Add shortcuts and/or slash commands that people can use",
        "files:write" => "Upload, edit, and delete files as the app",
        "groups:read" => "View basic information about private channels the app has been added to",
        "im:write" => "Start direct messages with people",
        "team:read" => {
            "View the name, email domain, and icon for workspaces the app is connected to"
        }
        "users:read" => "View people in a workspace",
        "users:read.email" => "View email addresses of people in a workspace",
        "admin.users:write" => "Invite people to the organization and manage their accounts",
        "openid" => "Confirm your identity",
        "email" => "View your email address",
        "profile" => "View your Slack profile and workspace information",
        other => return format!("Use the {other} permission"),
    };
    words.to_owned()
}

/// An Admin API scope (`admin`, `admin.users:write`, ...), which only org-wide Grid installs get.
pub fn is_admin(scope: &str) -> bool {
    scope == "admin" || scope.starts_with("admin.")
}

/// Splits a scope list as Slack accepts it: commas or spaces.
pub fn split(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_split_on_commas_and_spaces() {
        assert_eq!(
            split(Some("openid email,profile")),
            vec!["openid", "email", "profile"]
        );
        assert!(split(None).is_empty());
    }

    #[test]
    fn unknown_scopes_still_get_a_sentence() {
        assert_eq!(describe("chat:write"), "Send messages as the app");
        assert_eq!(
            describe("bookmarks:read"),
            "Use the bookmarks:read permission"
        );
    }
}
