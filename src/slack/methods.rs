//! The Web API methods Lobby uses, with typed arguments and answers.
//!
//! Answer structs follow Slack's wire format; fields Slack may leave out default to empty.
//! Tokens in answers are `SecretString`, so a `Debug` print of an answer shows no token.

use secrecy::{ExposeSecret, SecretString};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::client::{Auth, Body, SlackClient, SlackError};

/// Slack's built-in Slackbot, which `users.list` reports as a non-bot user.
const SLACKBOT_USER_ID: &str = "USLACKBOT";

/// Page size for `users_count`: the most Slack recommends per `users.list` call.
const USERS_PAGE_LIMIT: u32 = 200;

/// The answer to `oauth.v2.access`: the install's bot token and the installer's user token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OAuthV2Access {
    /// The bot token; absent when the app asked only for user scopes.
    pub access_token: Option<SecretString>,
    pub token_type: Option<String>,
    /// The bot scopes granted, comma-separated.
    pub scope: String,
    pub bot_user_id: Option<String>,
    pub app_id: String,
    /// Absent (null) for an organization-wide Enterprise Grid install.
    pub team: Option<NamedRef>,
    pub enterprise: Option<NamedRef>,
    pub authed_user: AuthedUser,
    pub is_enterprise_install: bool,
    /// Present when token rotation is on.
    pub refresh_token: Option<SecretString>,
    /// Seconds until `access_token` expires, when token rotation is on.
    pub expires_in: Option<i64>,
}

/// A workspace or organization as OAuth answers name it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// The user who installed the app, and their token when user scopes were asked for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthedUser {
    pub id: String,
    pub scope: Option<String>,
    pub access_token: Option<SecretString>,
    pub token_type: Option<String>,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<i64>,
}

/// Who a token belongs to, from `auth.test`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AuthTest {
    pub url: String,
    pub team: String,
    pub user: String,
    pub team_id: String,
    pub user_id: String,
    /// Set for bot tokens.
    pub bot_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub is_enterprise_install: bool,
    /// The token's scopes, from the `x-oauth-scopes` header.
    #[serde(skip)]
    pub scopes: Option<String>,
}

/// A workspace, from `team.info`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TeamInfo {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub enterprise_id: Option<String>,
    pub icon: TeamIcon,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TeamIcon {
    pub image_34: Option<String>,
    pub image_44: Option<String>,
    pub image_68: Option<String>,
    pub image_88: Option<String>,
    pub image_102: Option<String>,
    pub image_132: Option<String>,
    pub image_230: Option<String>,
    /// True while the workspace still shows Slack's generated icon.
    pub image_default: bool,
}

/// A member of a workspace, from `users.info` and `users.list`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub real_name: Option<String>,
    pub deleted: bool,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_primary_owner: bool,
    pub is_bot: bool,
    pub profile: UserProfile,
    /// The person's role in their Enterprise Grid organisation, when there is one.
    pub enterprise_user: Option<EnterpriseUser>,
}

/// `users.info`'s `enterprise_user`: the organisation-level role.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct EnterpriseUser {
    pub enterprise_id: String,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_primary_owner: bool,
}

impl User {
    /// A person who can use the workspace today: not deactivated, not a bot, not Slackbot.
    pub fn is_active_human(&self) -> bool {
        !self.deleted && !self.is_bot && self.id != SLACKBOT_USER_ID
    }

    /// Admins and owners may manage the workspace's communities in Lobby.
    pub fn is_admin_or_owner(&self) -> bool {
        self.is_admin || self.is_owner || self.is_primary_owner
    }

    /// Admins and owners of the organisation may manage an org-wide installation.
    pub fn is_org_admin_or_owner(&self) -> bool {
        self.enterprise_user
            .as_ref()
            .is_some_and(|e| e.is_admin || e.is_owner || e.is_primary_owner)
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct UserProfile {
    /// Only visible with the `users:read.email` scope.
    pub email: Option<String>,
    pub real_name: String,
    pub display_name: String,
    pub image_72: Option<String>,
}

/// A channel, from `conversations.list`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub is_general: bool,
    /// Whether the calling bot is in the channel.
    pub is_member: bool,
    pub num_members: Option<u64>,
}

/// One page of a cursor-paginated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// Where `chat.postMessage` put the message.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
}

/// The answer to `openid.connect.token` (Sign in with Slack).
#[derive(Clone, Debug, Deserialize)]
pub struct OpenIdToken {
    pub access_token: SecretString,
    #[serde(default)]
    pub token_type: String,
    /// A signed JWT with the same claims `openid.connect.userInfo` returns.
    pub id_token: SecretString,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// The person who signed in with Slack, from `openid.connect.userInfo`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OpenIdUserInfo {
    pub sub: String,
    #[serde(rename = "https://slack.com/user_id")]
    pub user_id: String,
    #[serde(rename = "https://slack.com/team_id")]
    pub team_id: String,
    #[serde(rename = "https://slack.com/enterprise_id")]
    pub enterprise_id: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    #[serde(rename = "https://slack.com/team_name")]
    pub team_name: Option<String>,
    #[serde(rename = "https://slack.com/team_domain")]
    pub team_domain: Option<String>,
}

#[derive(Deserialize)]
struct TeamAnswer {
    team: TeamInfo,
}

#[derive(Deserialize)]
struct UserAnswer {
    user: User,
}

#[derive(Deserialize)]
struct RevokeAnswer {
    #[serde(default)]
    revoked: bool,
}

#[derive(Deserialize)]
struct UsersListAnswer {
    #[serde(default)]
    members: Vec<User>,
    #[serde(default)]
    response_metadata: ResponseMetadata,
}

#[derive(Deserialize)]
struct ConversationsListAnswer {
    #[serde(default)]
    channels: Vec<Channel>,
    #[serde(default)]
    response_metadata: ResponseMetadata,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ResponseMetadata {
    next_cursor: Option<String>,
}

impl ResponseMetadata {
    /// Slack ends a list with an empty cursor.
    fn into_cursor(self) -> Option<String> {
        self.next_cursor.filter(|cursor| !cursor.is_empty())
    }
}

/// The arguments every paginated list takes.
fn page_args<'a>(cursor: Option<&'a str>, limit: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut args = vec![("limit", limit)];
    if let Some(cursor) = cursor.filter(|cursor| !cursor.is_empty()) {
        args.push(("cursor", cursor));
    }
    args
}

impl SlackClient {
    /// Who `token` belongs to, and the scopes it holds.
    pub async fn auth_test(&self, token: &SecretString) -> Result<AuthTest, SlackError> {
        let answer = self
            .call::<AuthTest>("auth.test", Auth::Bearer(token), Body::Form(&[]))
            .await?;
        Ok(AuthTest {
            scopes: answer.scopes,
            ..answer.body
        })
    }

    /// Revokes `token`; true when Slack confirms it is revoked.
    pub async fn auth_revoke(&self, token: &SecretString) -> Result<bool, SlackError> {
        let answer = self
            .call::<RevokeAnswer>("auth.revoke", Auth::Bearer(token), Body::Form(&[]))
            .await?;
        Ok(answer.body.revoked)
    }

    /// The token's own workspace, or `team` when given (Enterprise Grid).
    pub async fn team_info(
        &self,
        token: &SecretString,
        team: Option<&str>,
    ) -> Result<TeamInfo, SlackError> {
        let args: Vec<(&str, &str)> = team.map(|team| ("team", team)).into_iter().collect();
        let answer = self
            .call::<TeamAnswer>("team.info", Auth::Bearer(token), Body::Form(&args))
            .await?;
        Ok(answer.body.team)
    }

    pub async fn users_info(&self, token: &SecretString, user: &str) -> Result<User, SlackError> {
        let args = [("user", user)];
        let answer = self
            .call::<UserAnswer>("users.info", Auth::Bearer(token), Body::Form(&args))
            .await?;
        Ok(answer.body.user)
    }

    /// One page of the workspace's members. Start with `cursor: None`. An org-wide token must
    /// name the workspace (`team_id`); Slack refuses the call without it.
    pub async fn users_list_page(
        &self,
        token: &SecretString,
        team_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<User>, SlackError> {
        let limit = limit.to_string();
        let mut args = page_args(cursor, &limit);
        if let Some(team_id) = team_id {
            args.push(("team_id", team_id));
        }
        let answer = self
            .call::<UsersListAnswer>("users.list", Auth::Bearer(token), Body::Form(&args))
            .await?;
        Ok(Page {
            items: answer.body.members,
            next_cursor: answer.body.response_metadata.into_cursor(),
        })
    }

    /// How many active humans the workspace has, reading every page of `users.list`.
    pub async fn users_count(
        &self,
        token: &SecretString,
        team_id: Option<&str>,
    ) -> Result<u64, SlackError> {
        let mut humans: u64 = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .users_list_page(token, team_id, cursor.as_deref(), USERS_PAGE_LIMIT)
                .await?;
            humans += page
                .items
                .iter()
                .filter(|user| user.is_active_human())
                .count() as u64;
            match page.next_cursor {
                None => return Ok(humans),
                // A cursor that does not move would loop forever.
                Some(next) if cursor.as_ref() == Some(&next) => {
                    return Err(SlackError::Decode {
                        method: "users.list".to_owned(),
                        message: "the same cursor came back twice".to_owned(),
                    });
                }
                Some(next) => cursor = Some(next),
            }
        }
    }

    /// One page of channels of the given `types` (e.g. `public_channel,private_channel`).
    /// Archived channels are left out: nobody can be invited to them.
    pub async fn conversations_list_page(
        &self,
        token: &SecretString,
        cursor: Option<&str>,
        limit: u32,
        types: &str,
    ) -> Result<Page<Channel>, SlackError> {
        let limit = limit.to_string();
        let mut args = page_args(cursor, &limit);
        args.extend([("types", types), ("exclude_archived", "true")]);
        let answer = self
            .call::<ConversationsListAnswer>(
                "conversations.list",
                Auth::Bearer(token),
                Body::Form(&args),
            )
            .await?;
        Ok(Page {
            items: answer.body.channels,
            next_cursor: answer.body.response_metadata.into_cursor(),
        })
    }

    /// Puts the bot into a public channel (joining one it is already in succeeds too).
    pub async fn conversations_join(
        &self,
        token: &SecretString,
        channel: &str,
    ) -> Result<(), SlackError> {
        let args = [("channel", channel)];
        self.call::<IgnoredAny>("conversations.join", Auth::Bearer(token), Body::Form(&args))
            .await?;
        Ok(())
    }

    /// Posts `message`: a `chat.postMessage` argument object (`channel`, `text`, `blocks`, ...).
    pub async fn chat_post_message(
        &self,
        token: &SecretString,
        message: &serde_json::Value,
    ) -> Result<PostedMessage, SlackError> {
        let answer = self
            .call::<PostedMessage>("chat.postMessage", Auth::Bearer(token), Body::Json(message))
            .await?;
        Ok(answer.body)
    }

    /// The signed-in person, with the token `openid_connect_token` returned.
    pub async fn openid_connect_user_info(
        &self,
        token: &SecretString,
    ) -> Result<OpenIdUserInfo, SlackError> {
        Ok(self
            .call(
                "openid.connect.userInfo",
                Auth::Bearer(token),
                Body::Form(&[]),
            )
            .await?
            .body)
    }

    /// Invites `email` with the undocumented `users.admin.invite`, which only a legacy
    /// (`xoxp`/`xoxs`) admin token may call. `team_id` picks the workspace on Enterprise Grid.
    pub async fn users_admin_invite(
        &self,
        legacy_token: &SecretString,
        team_id: Option<&str>,
        email: &str,
        channels: &[&str],
        first_name: Option<&str>,
    ) -> Result<(), SlackError> {
        let channels = channels.join(",");
        let mut args = vec![("email", email)];
        if !channels.is_empty() {
            args.push(("channels", channels.as_str()));
        }
        if let Some(first_name) = first_name {
            args.push(("first_name", first_name));
        }
        if let Some(team_id) = team_id {
            args.push(("team_id", team_id));
        }
        self.call::<IgnoredAny>(
            "users.admin.invite",
            Auth::Bearer(legacy_token),
            Body::Form(&args),
        )
        .await?;
        Ok(())
    }

    /// Invites `email` to workspace `team_id` with the Enterprise Grid Admin API (a user
    /// token with `admin.users:write`). Slack requires at least one channel.
    pub async fn admin_users_invite(
        &self,
        user_token: &SecretString,
        team_id: &str,
        email: &str,
        channel_ids: &[&str],
    ) -> Result<(), SlackError> {
        let channel_ids = channel_ids.join(",");
        let args = [
            ("team_id", team_id),
            ("email", email),
            ("channel_ids", channel_ids.as_str()),
        ];
        self.call::<IgnoredAny>(
            "admin.users.invite",
            Auth::Bearer(user_token),
            Body::Form(&args),
        )
        .await?;
        Ok(())
    }

    /// Checks that the Web API answers at all; needs no token.
    pub async fn api_test(&self) -> Result<(), SlackError> {
        self.call::<IgnoredAny>("api.test", Auth::None, Body::Form(&[]))
            .await?;
        Ok(())
    }
}

/// Step one of an external upload: where to send the bytes, and the file's id.
#[derive(Clone, Debug, Deserialize)]
pub struct UploadTicket {
    /// A capability URL: whoever holds it may upload, so it is kept out of logs.
    pub upload_url: SecretString,
    pub file_id: String,
}

/// A file as `files.completeUploadExternal` describes it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SharedFile {
    pub id: String,
    pub title: Option<String>,
}

/// Where and how a completed upload is shared.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileShare<'a> {
    pub channel_id: &'a str,
    pub title: Option<&'a str>,
    pub initial_comment: Option<&'a str>,
    pub thread_ts: Option<&'a str>,
}

#[derive(Deserialize)]
struct CompleteUploadAnswer {
    #[serde(default)]
    files: Vec<SharedFile>,
}

/// What the upload step is called in errors (it is not a Web API method).
const UPLOAD_STEP: &str = "files upload (step two)";

impl SlackClient {
    /// Step one of Slack's external upload: announces a file of `length` bytes.
    pub async fn files_get_upload_url_external(
        &self,
        token: &SecretString,
        filename: &str,
        length: u64,
    ) -> Result<UploadTicket, SlackError> {
        let length = length.to_string();
        let args = [("filename", filename), ("length", length.as_str())];
        Ok(self
            .call(
                "files.getUploadURLExternal",
                Auth::Bearer(token),
                Body::Form(&args),
            )
            .await?
            .body)
    }

    /// Step two: POSTs the file's bytes to the ticket's URL. The token is not sent there: the
    /// URL itself is the credential. `timeout` replaces the client's, since a large file takes
    /// longer than a Web API call.
    pub async fn upload_to_ticket(
        &self,
        ticket: &UploadTicket,
        length: u64,
        bytes: reqwest::Body,
        timeout: std::time::Duration,
    ) -> Result<(), SlackError> {
        let method = || UPLOAD_STEP.to_owned();
        let response = self
            .http()
            .post(ticket.upload_url.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, length)
            .timeout(timeout)
            .body(bytes)
            .send()
            .await
            .map_err(upload_transport_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(
                    std::time::Duration::from_secs(60),
                    std::time::Duration::from_secs,
                );
            return Err(SlackError::RateLimited {
                method: method(),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(SlackError::Status {
                method: method(),
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    /// Step three: completes the upload of `file_id` and shares it as `share` says.
    pub async fn files_complete_upload_external(
        &self,
        token: &SecretString,
        file_id: &str,
        share: FileShare<'_>,
    ) -> Result<SharedFile, SlackError> {
        let mut file = serde_json::json!({ "id": file_id });
        if let Some(title) = share.title {
            file["title"] = title.into();
        }
        let mut args = serde_json::json!({
            "files": [file],
            "channel_id": share.channel_id,
        });
        if let Some(comment) = share.initial_comment {
            args["initial_comment"] = comment.into();
        }
        if let Some(thread_ts) = share.thread_ts {
            args["thread_ts"] = thread_ts.into();
        }
        let answer = self
            .call::<CompleteUploadAnswer>(
                "files.completeUploadExternal",
                Auth::Bearer(token),
                Body::Json(&args),
            )
            .await?;
        answer
            .body
            .files
            .into_iter()
            .find(|f| f.id == file_id)
            .ok_or_else(|| SlackError::Decode {
                method: "files.completeUploadExternal".to_owned(),
                message: "the answer does not list the uploaded file".to_owned(),
            })
    }
}

/// A failed upload, without the URL (which is a credential).
fn upload_transport_error(err: reqwest::Error) -> SlackError {
    super::client::transport_error(UPLOAD_STEP, err)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::slack::client::fake_slack::{FakeSlack, Reply, Seen};

    const BOT_TOKEN: &str = "xoxb-bot-token";
    const REDIRECT_URI: &str = "https://lobby.example.com/slack/oauth_redirect?x=1&y=é";

    fn token() -> SecretString {
        SecretString::from(BOT_TOKEN)
    }

    fn slack(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (FakeSlack, SlackClient) {
        let fake = FakeSlack::start(respond);
        let client =
            SlackClient::new(fake.base.clone(), Duration::from_millis(500)).expect("client");
        (fake, client)
    }

    fn oauth_answer() -> serde_json::Value {
        json!({
            "ok": true,
            "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "token_type": "bot",
            "scope": "commands,incoming-webhook",
            "bot_user_id": "U0KRQLJ9H",
            "app_id": "A0KRD7HC3",
            "team": {"name": "Slack Softball Team", "id": "T9TK3CUKW"},
            "enterprise": null,
            "is_enterprise_install": false,
            "authed_user": {
                "id": "U1234",
                "scope": "chat:write",
                "access_token": "xoxp-1234",
                "token_type": "user"
            }
        })
    }

    #[tokio::test]
    async fn oauth_v2_access_sends_basic_auth_code_and_the_exact_redirect_uri() {
        let (fake, client) = slack(|_| Reply::json(oauth_answer()));
        let secret = SecretString::from("shh");
        let access = client
            .oauth_v2_access("111.222", &secret, "the-code", REDIRECT_URI)
            .await
            .expect("tokens");

        let seen = fake.only();
        assert_eq!(seen.path, "/api/oauth.v2.access");
        // base64("111.222:shh")
        assert_eq!(seen.header("authorization"), Some("Basic MTExLjIyMjpzaGg="));
        assert_eq!(seen.field("code").as_deref(), Some("the-code"));
        assert_eq!(seen.field("redirect_uri").as_deref(), Some(REDIRECT_URI));
        assert_eq!(seen.field("client_secret"), None);

        assert_eq!(
            access
                .access_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy".to_owned())
        );
        assert_eq!(access.bot_user_id.as_deref(), Some("U0KRQLJ9H"));
        assert_eq!(
            access.team,
            Some(NamedRef {
                id: "T9TK3CUKW".to_owned(),
                name: "Slack Softball Team".to_owned()
            })
        );
        assert_eq!(access.enterprise, None);
        assert_eq!(access.authed_user.id, "U1234");
        assert_eq!(
            access
                .authed_user
                .access_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("xoxp-1234".to_owned())
        );
        assert_eq!(
            access
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().len()),
            None
        );
        let debug = format!("{access:?}");
        assert!(
            !debug.contains("xoxb-") && !debug.contains("xoxp-"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn oauth_v2_access_refusal_keeps_slacks_code() {
        let (_fake, client) =
            slack(|_| Reply::json(json!({"ok": false, "error": "bad_redirect_uri"})));
        let err = client
            .oauth_v2_access(
                "111.222",
                &SecretString::from("shh"),
                "the-code",
                REDIRECT_URI,
            )
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Some("bad_redirect_uri"));
        assert!(!err.to_string().contains("the-code"));
    }

    #[tokio::test]
    async fn oauth_v2_refresh_asks_for_the_refresh_grant() {
        let (fake, client) = slack(|_| {
            let mut answer = oauth_answer();
            answer["refresh_token"] = json!("xoxe-1-next");
            answer["expires_in"] = json!(43200);
            Reply::json(answer)
        });
        let access = client
            .oauth_v2_refresh(
                "111.222",
                &SecretString::from("shh"),
                &SecretString::from("xoxe-1-old"),
            )
            .await
            .expect("refreshed");
        let seen = fake.only();
        assert_eq!(seen.field("grant_type").as_deref(), Some("refresh_token"));
        assert_eq!(seen.field("refresh_token").as_deref(), Some("xoxe-1-old"));
        assert!(
            seen.header("authorization")
                .is_some_and(|h| h.starts_with("Basic "))
        );
        assert_eq!(
            access
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("xoxe-1-next".to_owned())
        );
        assert_eq!(access.expires_in, Some(43200));
    }

    #[tokio::test]
    async fn auth_test_reads_identity_and_scopes_header() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({
                "ok": true, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
                "user": "bot", "team_id": "T0G9PQBBK", "user_id": "W23456789", "bot_id": "BZYBOTHED",
                "is_enterprise_install": false
            }))
            .with_header("x-oauth-scopes", "chat:write,commands")
        });
        let who = client.auth_test(&token()).await.expect("identity");
        assert_eq!(who.team_id, "T0G9PQBBK");
        assert_eq!(who.user_id, "W23456789");
        assert_eq!(who.bot_id.as_deref(), Some("BZYBOTHED"));
        assert_eq!(who.enterprise_id, None);
        assert_eq!(who.scopes.as_deref(), Some("chat:write,commands"));
        assert_eq!(
            fake.only().header("authorization"),
            Some("Bearer xoxb-bot-token")
        );
    }

    #[tokio::test]
    async fn auth_revoke_reports_whether_slack_revoked() {
        let (_fake, client) = slack(|_| Reply::json(json!({"ok": true, "revoked": true})));
        assert!(client.auth_revoke(&token()).await.expect("revoked"));
    }

    #[tokio::test]
    async fn team_info_unwraps_the_team_and_passes_the_team_argument() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "team": {
                "id": "T12345", "name": "My Team", "domain": "example",
                "icon": {"image_68": "https://a/68.png", "image_132": "https://a/132.png", "image_default": true}
            }}))
        });
        let team = client
            .team_info(&token(), Some("T12345"))
            .await
            .expect("team");
        assert_eq!(team.name, "My Team");
        assert_eq!(team.domain, "example");
        assert_eq!(team.icon.image_132.as_deref(), Some("https://a/132.png"));
        assert!(team.icon.image_default);
        assert_eq!(fake.only().field("team").as_deref(), Some("T12345"));
    }

    #[tokio::test]
    async fn users_info_reads_roles_and_profile() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "user": {
                "id": "W012A3CDE", "team_id": "T012AB3C4", "name": "spengler", "deleted": false,
                "real_name": "Egon Spengler", "is_admin": true, "is_owner": false, "is_bot": false,
                "profile": {"email": "spengler@ghostbusters.example.com", "display_name": "spengler",
                            "real_name": "Egon Spengler", "image_72": "https://a/72.jpg"}
            }}))
        });
        let user = client
            .users_info(&token(), "W012A3CDE")
            .await
            .expect("user");
        assert!(user.is_admin_or_owner());
        assert!(user.is_active_human());
        assert_eq!(
            user.profile.email.as_deref(),
            Some("spengler@ghostbusters.example.com")
        );
        assert_eq!(fake.only().field("user").as_deref(), Some("W012A3CDE"));
    }

    fn member(id: &str, deleted: bool, is_bot: bool) -> serde_json::Value {
        json!({"id": id, "deleted": deleted, "is_bot": is_bot})
    }

    #[tokio::test]
    async fn users_list_page_maps_an_empty_cursor_to_the_last_page() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "members": [member("U1", false, false)],
                               "response_metadata": {"next_cursor": ""}}))
        });
        let page = client
            .users_list_page(&token(), None, Some("dXNlcjpVMDYxTkZUVDI="), 50)
            .await
            .expect("page");
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_cursor, None);
        let seen = fake.only();
        assert_eq!(
            seen.field("cursor").as_deref(),
            Some("dXNlcjpVMDYxTkZUVDI=")
        );
        assert_eq!(seen.field("limit").as_deref(), Some("50"));
    }

    #[tokio::test]
    async fn users_count_reads_every_page_and_counts_only_active_humans() {
        let (fake, client) = slack(|seen| match seen.field("cursor").as_deref() {
            None => Reply::json(json!({"ok": true,
                "members": [member("U1", false, false), member("USLACKBOT", false, false),
                            member("B1", false, true)],
                "response_metadata": {"next_cursor": "page2"}})),
            Some(_) => Reply::json(json!({"ok": true,
                "members": [member("U2", false, false), member("U3", true, false)],
                "response_metadata": {"next_cursor": ""}})),
        });
        assert_eq!(client.users_count(&token(), None).await.expect("count"), 2);
        assert_eq!(fake.seen().len(), 2);
    }

    #[tokio::test]
    async fn users_count_stops_when_the_cursor_does_not_move() {
        let (_fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "members": [],
                               "response_metadata": {"next_cursor": "stuck"}}))
        });
        let err = client
            .users_count(&token(), None)
            .await
            .expect_err("loop refused");
        assert!(matches!(err, SlackError::Decode { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn conversations_list_page_sends_types_and_reads_channels() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "channels": [
                {"id": "C012AB3CD", "name": "general", "is_general": true, "is_member": true, "num_members": 4}
            ], "response_metadata": {"next_cursor": "dGVhbTpDMDYxRkE1UEI="}}))
        });
        let page = client
            .conversations_list_page(&token(), None, 100, "public_channel,private_channel")
            .await
            .expect("page");
        assert_eq!(page.items[0].name, "general");
        assert!(page.items[0].is_general);
        assert_eq!(page.items[0].num_members, Some(4));
        assert_eq!(page.next_cursor.as_deref(), Some("dGVhbTpDMDYxRkE1UEI="));
        let seen = fake.only();
        assert_eq!(
            seen.field("types").as_deref(),
            Some("public_channel,private_channel")
        );
        assert_eq!(seen.field("cursor"), None);
    }

    #[tokio::test]
    async fn conversations_join_names_the_channel() {
        let (fake, client) = slack(|_| {
            Reply::json(
                json!({"ok": true, "channel": {"id": "C1"}, "warning": "already_in_channel"}),
            )
        });
        client
            .conversations_join(&token(), "C1")
            .await
            .expect("joined");
        assert_eq!(fake.only().field("channel").as_deref(), Some("C1"));
    }

    #[tokio::test]
    async fn chat_post_message_sends_json_and_returns_channel_and_ts() {
        let (fake, client) = slack(|_| {
            Reply::json(
                json!({"ok": true, "channel": "C123ABC456", "ts": "1503435956.000247",
                               "message": {"text": "Here's a message for you"}}),
            )
        });
        let message = json!({"channel": "C123ABC456", "text": "Here's a message for you"});
        let posted = client
            .chat_post_message(&token(), &message)
            .await
            .expect("posted");
        assert_eq!(
            posted,
            PostedMessage {
                channel: "C123ABC456".to_owned(),
                ts: "1503435956.000247".to_owned()
            }
        );
        let seen = fake.only();
        assert_eq!(
            seen.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&seen.body).expect("json"),
            message
        );
    }

    #[tokio::test]
    async fn openid_connect_token_exchanges_the_code() {
        let (fake, client) = slack(|_| {
            Reply::json(
                json!({"ok": true, "access_token": "xoxp-1234", "token_type": "Bearer",
                               "id_token": "eyJhbGcMjY5OTA2MzM4MX0.eyJodHRwczpcL1wvc2xhY2suY29tXC9.LCBAc1i"}),
            )
        });
        let token = client
            .openid_connect_token(
                "111.222",
                &SecretString::from("shh"),
                "the-code",
                REDIRECT_URI,
            )
            .await
            .expect("token");
        assert_eq!(token.access_token.expose_secret(), "xoxp-1234");
        assert!(!format!("{token:?}").contains("xoxp-1234"));
        let seen = fake.only();
        assert_eq!(seen.path, "/api/openid.connect.token");
        assert_eq!(
            seen.field("grant_type").as_deref(),
            Some("authorization_code")
        );
        assert_eq!(seen.field("code").as_deref(), Some("the-code"));
        assert_eq!(seen.field("redirect_uri").as_deref(), Some(REDIRECT_URI));
        assert_eq!(seen.field("client_id").as_deref(), Some("111.222"));
    }

    #[tokio::test]
    async fn openid_connect_user_info_reads_slacks_namespaced_claims() {
        let (_fake, client) = slack(|_| {
            Reply::json(json!({
                "ok": true, "sub": "U0R7JM", "https://slack.com/user_id": "U0R7JM",
                "https://slack.com/team_id": "T0R7GR", "email": "krane@slack-corp.com",
                "email_verified": true, "name": "krane", "picture": "https://secure.gravatar.com/x.png",
                "https://slack.com/team_name": "kraneflannel", "https://slack.com/team_domain": "kraneflannel"
            }))
        });
        let info = client
            .openid_connect_user_info(&token())
            .await
            .expect("user info");
        assert_eq!(info.user_id, "U0R7JM");
        assert_eq!(info.team_id, "T0R7GR");
        assert_eq!(info.email.as_deref(), Some("krane@slack-corp.com"));
        assert!(info.email_verified);
        assert_eq!(info.team_domain.as_deref(), Some("kraneflannel"));
    }

    #[tokio::test]
    async fn users_admin_invite_sends_comma_separated_channels() {
        let (fake, client) = slack(|_| Reply::json(json!({"ok": true})));
        client
            .users_admin_invite(
                &SecretString::from("xoxp-legacy"),
                Some("T1"),
                "new@example.com",
                &["C1", "C2"],
                Some("Ada"),
            )
            .await
            .expect("invited");
        let seen = fake.only();
        assert_eq!(seen.path, "/api/users.admin.invite");
        assert_eq!(seen.header("authorization"), Some("Bearer xoxp-legacy"));
        assert_eq!(seen.field("email").as_deref(), Some("new@example.com"));
        assert_eq!(seen.field("channels").as_deref(), Some("C1,C2"));
        assert_eq!(seen.field("first_name").as_deref(), Some("Ada"));
        assert_eq!(seen.field("team_id").as_deref(), Some("T1"));
    }

    #[tokio::test]
    async fn users_admin_invite_surfaces_already_invited() {
        let (_fake, client) =
            slack(|_| Reply::json(json!({"ok": false, "error": "already_invited"})));
        let err = client
            .users_admin_invite(
                &SecretString::from("xoxp-legacy"),
                None,
                "a@example.com",
                &[],
                None,
            )
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Some("already_invited"));
    }

    #[tokio::test]
    async fn admin_users_invite_sends_team_and_channel_ids() {
        let (fake, client) = slack(|_| Reply::json(json!({"ok": true})));
        client
            .admin_users_invite(
                &SecretString::from("xoxp-admin"),
                "T1",
                "new@example.com",
                &["C1", "C2"],
            )
            .await
            .expect("invited");
        let seen = fake.only();
        assert_eq!(seen.path, "/api/admin.users.invite");
        assert_eq!(seen.field("team_id").as_deref(), Some("T1"));
        assert_eq!(seen.field("email").as_deref(), Some("new@example.com"));
        assert_eq!(seen.field("channel_ids").as_deref(), Some("C1,C2"));
    }

    #[tokio::test]
    async fn api_test_needs_no_token() {
        let (fake, client) = slack(|_| Reply::json(json!({"ok": true, "args": {}})));
        client.api_test().await.expect("up");
        assert_eq!(fake.only().header("authorization"), None);
    }

    #[tokio::test]
    async fn files_get_upload_url_external_sends_name_and_length() {
        let (fake, client) = slack(|_| {
            Reply::json(
                json!({"ok": true, "upload_url": "https://files.slack.com/upload/v1/abc",
                               "file_id": "F0FILE1"}),
            )
        });
        let ticket = client
            .files_get_upload_url_external(&token(), "results.csv", 1234)
            .await
            .expect("ticket");
        assert_eq!(ticket.file_id, "F0FILE1");
        assert_eq!(
            ticket.upload_url.expose_secret(),
            "https://files.slack.com/upload/v1/abc"
        );
        assert!(!format!("{ticket:?}").contains("upload/v1/abc"));
        let seen = fake.only();
        assert_eq!(seen.path, "/api/files.getUploadURLExternal");
        assert_eq!(seen.field("filename").as_deref(), Some("results.csv"));
        assert_eq!(seen.field("length").as_deref(), Some("1234"));
    }

    #[tokio::test]
    async fn upload_to_ticket_posts_the_bytes_without_the_token() {
        let (fake, client) = slack(|_| Reply::json(json!({})));
        let ticket = UploadTicket {
            upload_url: SecretString::from(fake.base.join("upload/v1/k").expect("url").to_string()),
            file_id: "F1".into(),
        };
        client
            .upload_to_ticket(
                &ticket,
                5,
                reqwest::Body::from("hello"),
                Duration::from_secs(1),
            )
            .await
            .expect("uploaded");
        let seen = fake.only();
        assert_eq!(seen.path, "/api/upload/v1/k");
        assert_eq!(seen.body, "hello");
        assert_eq!(seen.header("authorization"), None);
        assert_eq!(seen.header("content-length"), Some("5"));
    }

    #[tokio::test]
    async fn upload_to_ticket_reports_a_refusal_without_the_url() {
        let (fake, client) = slack(|_| Reply::status(500));
        let ticket = UploadTicket {
            upload_url: SecretString::from(
                fake.base
                    .join("upload/v1/secretkey")
                    .expect("url")
                    .to_string(),
            ),
            file_id: "F1".into(),
        };
        let err = client
            .upload_to_ticket(&ticket, 1, reqwest::Body::from("x"), Duration::from_secs(1))
            .await
            .expect_err("refused");
        assert!(
            matches!(err, SlackError::Status { status: 500, .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secretkey"), "{err}");
    }

    #[tokio::test]
    async fn files_complete_upload_external_shares_with_title_and_comment() {
        let (fake, client) = slack(|_| {
            Reply::json(json!({"ok": true, "files": [{"id": "F1", "title": "Results"}]}))
        });
        let shared = client
            .files_complete_upload_external(
                &token(),
                "F1",
                FileShare {
                    channel_id: "C1",
                    title: Some("Results"),
                    initial_comment: Some("Run 7 is done"),
                    thread_ts: None,
                },
            )
            .await
            .expect("shared");
        assert_eq!(shared.title.as_deref(), Some("Results"));
        let body: serde_json::Value = serde_json::from_str(&fake.only().body).expect("json");
        assert_eq!(
            body,
            json!({"files": [{"id": "F1", "title": "Results"}], "channel_id": "C1",
                   "initial_comment": "Run 7 is done"})
        );
    }
}
