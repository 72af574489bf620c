//! Data loss prevention (unified log, `DLP.All`): rule matches on financial data in Exchange
//! mail and SharePoint files.

use serde_json::json;

use super::{ContentType, Generator, ual_time};

impl<'a> Generator<'a> {
    /// A DLP rule match on financial data, in a mail or a SharePoint file.
    pub(super) fn dlp_match(&mut self) {
        let user = self.user();
        let time = self.at();
        let exchange = self.rng.chance(0.4);
        let (record_type, workload) = if exchange {
            (13, "Exchange")
        } else {
            (11, "SharePoint")
        };
        let (id, mut m) = self.ual_base(record_type, workload, "DLPRuleMatch", time);
        let policy_id = crate::rng::guid_of(&[b"dlp-policy", self.profile.tid.as_bytes()]);
        let rule_id = crate::rng::guid_of(&[b"dlp-rule", self.profile.tid.as_bytes()]);
        let incident = self.guid();
        let (sit, count) = if self.rng.chance(0.5) {
            ("Credit Card Number", self.rng.range(1, 40))
        } else {
            (
                "International Banking Account Number (IBAN)",
                self.rng.range(1, 12),
            )
        };
        m.insert("UserType".into(), json!(0));
        m.insert("UserKey".into(), json!(user.puid));
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(""));
        m.insert("IncidentId".into(), json!(incident));
        m.insert("SensitiveInfoDetectionIsIncluded".into(), json!(true));
        m.insert(
            "PolicyDetails".into(),
            json!([{
                "PolicyId": policy_id,
                "PolicyName": "Financial data protection",
                "Rules": [{
                    "RuleId": rule_id,
                    "RuleName": "Block external sharing of financial data",
                    "Actions": ["NotifyUser", "BlockAccess"],
                    "Severity": if count > 10 { "High" } else { "Low" },
                    "ConditionsMatched": {
                        "SensitiveInformation": [{
                            "SensitiveInformationTypeName": sit, "Count": count, "Confidence": 85
                        }]
                    }
                }]
            }]),
        );
        if exchange {
            let message = format!(
                "<{}@AM9PR07MB1234.eurprd07.prod.outlook.com>",
                self.rng.alnum_upper(12)
            );
            let to = format!("finance@{}", self.profile.external_domain());
            m.insert("ObjectId".into(), json!(message));
            m.insert(
                "ExchangeMetaData".into(),
                json!({
                    "From": user.upn, "To": [to], "CC": [], "BCC": [],
                    "Subject": "Payment details", "MessageID": message,
                    "Sent": ual_time(time)
                }),
            );
        } else {
            let site = self.profile.sites[0].clone();
            let name = self.file_name();
            let url = format!("{}Shared Documents/{}/{name}", site.url, site.folders[0]);
            m.insert("ObjectId".into(), json!(url));
            m.insert(
                "SharePointMetaData".into(),
                json!({
                    "From": user.upn, "FileName": name, "FilePathUrl": url,
                    "SiteCollectionUrl": site.url, "SiteCollectionGuid": site.site_id,
                    "UniqueID": self.guid(), "IsViewableByExternalUsers": self.rng.chance(0.3)
                }),
            );
        }
        self.emit_ual(ContentType::DlpAll, time, id, m);
    }
}
