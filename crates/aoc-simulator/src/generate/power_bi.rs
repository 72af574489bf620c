//! Power BI (unified log, `Audit.General`): reports viewed and exported.

use serde_json::json;

use super::{ContentType, Generator, user_agent};

impl<'a> Generator<'a> {
    /// A Power BI report viewed or exported.
    pub(super) fn power_bi(&mut self) {
        let user = self.user();
        let time = self.at();
        let op = if self.rng.chance(0.8) {
            "ViewReport"
        } else {
            "ExportReport"
        };
        let (id, mut m) = self.ual_base(20, "PowerBI", op, time);
        let report = *self
            .rng
            .pick(&["Sales pipeline", "Headcount", "Quarterly revenue"]);
        let report_id =
            crate::rng::guid_of(&[b"report", self.profile.tid.as_bytes(), report.as_bytes()]);
        m.insert("UserType".into(), json!(0));
        m.insert("UserKey".into(), json!(user.puid));
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(user.ip));
        m.insert("ObjectId".into(), json!(report));
        m.insert("Activity".into(), json!(op));
        m.insert("ItemName".into(), json!(report));
        m.insert("WorkSpaceName".into(), json!("Finance"));
        m.insert("ReportName".into(), json!(report));
        m.insert("ReportId".into(), json!(report_id));
        m.insert("UserAgent".into(), json!(user_agent(user.os, user.browser)));
        m.insert("IsSuccess".into(), json!(true));
        self.emit_ual(ContentType::General, time, id, m);
    }
}
