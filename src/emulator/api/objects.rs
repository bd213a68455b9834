//! Slack's JSON shapes for teams, users and channels.

use serde_json::{Value, json};

use crate::emulator::world::{Channel, Team, User, World};

const ICON_SIZES: [u32; 6] = [34, 44, 68, 88, 102, 132];

/// The `team` object of `team.info`.
pub fn team(world: &World, team: &Team) -> Value {
    let mut icon = serde_json::Map::new();
    for size in ICON_SIZES {
        icon.insert(format!("image_{size}"), Value::String(team.icon_url(size)));
    }
    icon.insert("image_default".into(), Value::Bool(false));
    let enterprise = team
        .enterprise_id
        .as_deref()
        .and_then(|id| world.enterprise(id));
    json!({
        "id": team.id,
        "name": team.name,
        "url": format!("https://{}.slack.com/", team.domain),
        "domain": team.domain,
        "email_domain": team.email_domain,
        "icon": icon,
        "avatar_base_url": "https://ca.slack-edge.test/",
        "is_verified": false,
        "enterprise_id": enterprise.map(|e| e.id.as_str()),
        "enterprise_name": enterprise.map(|e| e.name.as_str()),
    })
}

/// `{"id","name"}` of a team, or null.
pub fn team_ref(world: &World, team_id: Option<&str>) -> Value {
    match team_id.and_then(|id| world.team(id)) {
        Some(team) => json!({ "id": team.id, "name": team.name }),
        None => Value::Null,
    }
}

/// `{"id","name"}` of an enterprise, or null.
pub fn enterprise_ref(world: &World, enterprise_id: Option<&str>) -> Value {
    match enterprise_id.and_then(|id| world.enterprise(id)) {
        Some(enterprise) => json!({ "id": enterprise.id, "name": enterprise.name }),
        None => Value::Null,
    }
}

/// A user object as `users.info` / `users.list` show it; the email needs `users:read.email`.
/// `enterprise_id` is the organisation of the user's workspace, if any.
pub fn user(user: &User, with_email: bool, enterprise_id: Option<&str>) -> Value {
    let mut profile = json!({
        "real_name": user.real_name,
        "display_name": user.name,
        "real_name_normalized": user.real_name,
        "display_name_normalized": user.name,
        "image_24": user.image_url(24),
        "image_48": user.image_url(48),
        "image_72": user.image_url(72),
        "image_192": user.image_url(192),
        "image_512": user.image_url(512),
        "team": user.team_id,
    });
    if let (true, Some(email), Some(fields)) = (with_email, &user.email, profile.as_object_mut()) {
        fields.insert("email".into(), Value::String(email.clone()));
    }
    if let (Some(bot_id), Some(fields)) = (&user.bot_id, profile.as_object_mut()) {
        fields.insert("bot_id".into(), Value::String(bot_id.clone()));
    }
    let mut object = json!({
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": user.is_primary_owner,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "updated": 1_600_000_000,
    });
    if let (Some(enterprise_id), Some(fields)) = (enterprise_id, object.as_object_mut()) {
        fields.insert(
            "enterprise_user".into(),
            json!({
                "id": user.id,
                "enterprise_id": enterprise_id,
                "is_admin": user.is_org_admin,
                "is_owner": user.is_org_admin && user.is_owner,
                "is_primary_owner": user.is_org_admin && user.is_primary_owner,
                "teams": [user.team_id],
            }),
        );
    }
    object
}

/// A conversation object; `is_member` is from `viewer`'s point of view.
pub fn channel(channel: &Channel, viewer: &str) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "is_channel": !channel.is_private,
        "is_group": channel.is_private,
        "is_im": false,
        "is_mpim": false,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": channel.is_general,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": false,
        "is_org_shared": false,
        "is_ext_shared": false,
        "is_pending_ext_shared": false,
        "context_team_id": channel.team_id,
        "is_member": channel.has_member(viewer),
        "num_members": channel.members.len(),
        "topic": { "value": "", "creator": "", "last_set": 0 },
        "purpose": { "value": "", "creator": "", "last_set": 0 },
    })
}
