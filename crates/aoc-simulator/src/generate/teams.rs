//! Microsoft Teams (unified log, `Audit.General`): sessions, membership, channels, new teams.

use serde_json::json;

use super::{ContentType, Generator};

impl<'a> Generator<'a> {
    /// One Teams event: a session, a member added or removed, a channel or team created.
    pub(super) fn teams_activity(&mut self) {
        let user = self.user();
        let time = self.at();
        let team =
            self.profile.teams[self.rng.below(self.profile.teams.len() as u64) as usize].clone();
        let op = match self.rng.weighted(&[45, 25, 10, 10, 10]) {
            0 => "TeamsSessionStarted",
            1 => "MemberAdded",
            2 => "ChannelAdded",
            3 => "MemberRemoved",
            _ => "TeamCreated",
        };
        let (id, mut m) = self.ual_base(25, "MicrosoftTeams", op, time);
        m.insert("UserType".into(), json!(0));
        m.insert("UserKey".into(), json!(user.id));
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(user.ip));
        m.insert("ResultStatus".into(), json!("Succeeded"));
        m.insert("ObjectId".into(), json!(team.name));
        m.insert("CommunicationType".into(), json!("Team"));
        if op != "TeamsSessionStarted" {
            m.insert("TeamName".into(), json!(team.name));
            m.insert(
                "TeamGuid".into(),
                json!(format!("19:{}@thread.tacv2", team.id.replace('-', ""))),
            );
            m.insert("AADGroupId".into(), json!(team.id));
        }
        match op {
            "MemberAdded" | "MemberRemoved" => {
                let (upn, name) = if self.rng.chance(0.2) {
                    let guest = format!("partner_{}", self.profile.external_domain());
                    (
                        format!("{guest}#EXT#@{}", self.profile.domain),
                        "Partner (Guest)".to_string(),
                    )
                } else {
                    let member = self.user();
                    (member.upn.clone(), member.display.clone())
                };
                m.insert(
                    "Members".into(),
                    json!([{ "DisplayName": name, "Role": 1, "UPN": upn }]),
                );
            }
            "ChannelAdded" => {
                let channel = *self.rng.pick(&team.channels);
                m.insert("ChannelName".into(), json!(channel));
                m.insert("ChannelType".into(), json!("Standard"));
            }
            "TeamsSessionStarted" => {
                m.insert("ClientApplication".into(), json!("Teams desktop"));
                m.insert(
                    "ExtraProperties".into(),
                    json!([{ "Key": "OsName", "Value": user.os }]),
                );
            }
            _ => {}
        }
        self.emit_ual(ContentType::General, time, id, m);
    }
}
