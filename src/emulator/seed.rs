//! The deterministic world every emulator starts with, so tests and the demo can name its ids.

use super::world::{Channel, Enterprise, Team, User, World};

pub const DEMO_TEAM: &str = "T0DEMO0001";
pub const OTHER_TEAM: &str = "T0OTHER001";
pub const ORG: &str = "E0ORG00001";
pub const ORG_TEAM: &str = "T0ORGWKS01";

pub const DEMO_ADMIN: &str = "U0ADMIN001";
pub const DEMO_OWNER: &str = "U0OWNER001";
pub const DEMO_MEMBER: &str = "U0MEMBR001";
pub const DEMO_DELETED: &str = "U0DELETD01";
pub const DEMO_BOT: &str = "U0BOTUSR01";
pub const OTHER_ADMIN: &str = "U0OTHADM01";
pub const OTHER_MEMBER: &str = "U0OTHMEM01";
pub const ORG_ADMIN: &str = "U0ORGADM01";
pub const ORG_MEMBER: &str = "U0ORGMEM01";

pub const DEMO_GENERAL: &str = "C0GENERAL1";
pub const DEMO_RANDOM: &str = "C0RANDOM01";
pub const DEMO_ADMINS: &str = "C0ADMINS01";
pub const DEMO_ARCHIVED: &str = "C0ARCHIV01";
pub const OTHER_GENERAL: &str = "C0OTHGEN01";
pub const ORG_GENERAL: &str = "C0ORGGEN01";

/// Regular members added to the demo team so that `users.list` needs several pages.
pub const FILLER_MEMBERS: usize = 250;

/// A fixed creation time (2020-09-13) so channel objects are stable.
const CREATED: i64 = 1_600_000_000;

pub fn world() -> World {
    let mut world = World::default();
    world.enterprises.push(Enterprise {
        id: ORG.into(),
        name: "Demo Enterprise".into(),
        domain: "demo-enterprise".into(),
    });
    world.teams.extend([
        team(DEMO_TEAM, "Demo Community", "demo-community", None),
        team(OTHER_TEAM, "Other Workspace", "other-workspace", None),
        team(
            ORG_TEAM,
            "Enterprise Workspace",
            "demo-enterprise-ws",
            Some(ORG),
        ),
    ]);

    let admin = User {
        is_admin: true,
        ..User::member(DEMO_ADMIN, DEMO_TEAM, "ada", "ada@demo-community.test")
    };
    let owner = User {
        is_admin: true,
        is_owner: true,
        is_primary_owner: true,
        ..User::member(DEMO_OWNER, DEMO_TEAM, "olive", "olive@demo-community.test")
    };
    let member = User::member(DEMO_MEMBER, DEMO_TEAM, "max", "max@demo-community.test");
    let deleted = User {
        deleted: true,
        ..User::member(DEMO_DELETED, DEMO_TEAM, "gone", "gone@demo-community.test")
    };
    let bot = User {
        is_bot: true,
        email: None,
        bot_id: Some("B0HELPER01".into()),
        ..User::member(DEMO_BOT, DEMO_TEAM, "helperbot", "")
    };
    world.users.extend([admin, owner, member, deleted, bot]);
    world.users.extend((1..=FILLER_MEMBERS).map(|n| {
        let name = format!("member{n:03}");
        User::member(
            &format!("U0FILL{n:04}"),
            DEMO_TEAM,
            &name,
            &format!("{name}@demo-community.test"),
        )
    }));
    world.users.extend([
        User {
            is_admin: true,
            ..User::member(OTHER_ADMIN, OTHER_TEAM, "otto", "otto@other-workspace.test")
        },
        User::member(OTHER_MEMBER, OTHER_TEAM, "mia", "mia@other-workspace.test"),
        User {
            is_admin: true,
            is_owner: true,
            is_org_admin: true,
            ..User::member(ORG_ADMIN, ORG_TEAM, "grace", "grace@demo-enterprise.test")
        },
        User::member(ORG_MEMBER, ORG_TEAM, "linus", "linus@demo-enterprise.test"),
    ]);

    let people_of = |world: &World, team: &str| -> Vec<String> {
        world
            .users
            .iter()
            .filter(|u| u.team_id == team && u.is_active_person())
            .map(|u| u.id.clone())
            .collect()
    };
    let demo_people = people_of(&world, DEMO_TEAM);
    let other_people = people_of(&world, OTHER_TEAM);
    let org_people = people_of(&world, ORG_TEAM);
    let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    world.channels.extend([
        Channel {
            is_general: true,
            members: demo_people,
            ..channel(DEMO_GENERAL, DEMO_TEAM, "general")
        },
        Channel {
            members: ids(&[DEMO_ADMIN, DEMO_OWNER, DEMO_MEMBER]),
            ..channel(DEMO_RANDOM, DEMO_TEAM, "random")
        },
        Channel {
            is_private: true,
            members: ids(&[DEMO_ADMIN, DEMO_OWNER]),
            ..channel(DEMO_ADMINS, DEMO_TEAM, "lobby-admins")
        },
        Channel {
            is_archived: true,
            members: ids(&[DEMO_ADMIN]),
            ..channel(DEMO_ARCHIVED, DEMO_TEAM, "old-news")
        },
        Channel {
            is_general: true,
            members: other_people,
            ..channel(OTHER_GENERAL, OTHER_TEAM, "general")
        },
        Channel {
            is_general: true,
            members: org_people,
            ..channel(ORG_GENERAL, ORG_TEAM, "general")
        },
    ]);
    world
}

fn team(id: &str, name: &str, domain: &str, enterprise_id: Option<&str>) -> Team {
    Team {
        id: id.into(),
        name: name.into(),
        domain: domain.into(),
        email_domain: format!("{domain}.test"),
        enterprise_id: enterprise_id.map(Into::into),
    }
}

fn channel(id: &str, team_id: &str, name: &str) -> Channel {
    Channel {
        created: CREATED,
        ..Channel::public(id, team_id, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_team_has_its_named_people_and_enough_members_to_paginate() {
        let world = world();
        assert!(
            world
                .user(DEMO_ADMIN)
                .is_some_and(|u| u.is_admin && !u.is_owner)
        );
        assert!(world.user(DEMO_OWNER).is_some_and(|u| u.is_primary_owner));
        assert!(world.user(DEMO_DELETED).is_some_and(|u| u.deleted));
        assert!(world.user(DEMO_BOT).is_some_and(|u| u.is_bot));
        assert!(
            world
                .users
                .iter()
                .filter(|u| u.team_id == DEMO_TEAM)
                .count()
                >= 250
        );
    }

    #[test]
    fn the_seeded_channels_have_their_flags() {
        let world = world();
        assert!(world.channel(DEMO_GENERAL).is_some_and(|c| c.is_general));
        assert!(world.channel(DEMO_ADMINS).is_some_and(|c| c.is_private));
        assert!(world.channel(DEMO_ARCHIVED).is_some_and(|c| c.is_archived));
        assert_eq!(world.teams_covered_by(ORG), vec![ORG_TEAM.to_owned()]);
    }
}
