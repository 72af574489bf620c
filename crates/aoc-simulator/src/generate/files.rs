//! SharePoint and OneDrive: everyday file operations, mass download and mass delete bursts,
//! sharing (unified log, `Audit.SharePoint`).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{ContentType, Generator, user_agent};
use crate::profile::User;

impl<'a> Generator<'a> {
    /// One everyday file operation in SharePoint or OneDrive.
    pub(super) fn file_activity(&mut self) {
        let user = self.user();
        let time = self.at();
        let op = match self.rng.weighted(&[35, 20, 10, 15, 10, 3, 3, 2]) {
            0 => "FileAccessed",
            1 => "FileModified",
            2 => "FileUploaded",
            3 => "FileDownloaded",
            4 => "FilePreviewed",
            5 => "FileDeleted",
            6 => "FileCopied",
            _ => "FileRenamed",
        };
        let ip = user.ip.clone();
        let onedrive = self.rng.chance(0.2);
        self.file_op(user, time, op, &ip, onedrive, None);
    }

    /// One file operation (RecordType 6); `site_folder` pins the site and folder (bursts).
    fn file_op(
        &mut self,
        user: &User,
        time: DateTime<Utc>,
        op: &str,
        ip: &str,
        onedrive: bool,
        site_folder: Option<(usize, usize)>,
    ) {
        let name = self.file_name();
        let ext = name.rsplit('.').next().unwrap_or("").to_string();
        let (workload, site_url, relative, site_id, web_id, list_id) = if onedrive {
            let personal = user.upn.replace(['.', '@'], "_");
            let host = self
                .profile
                .sp_host
                .replace(".sharepoint.com", "-my.sharepoint.com");
            let site_id = crate::rng::guid_of(&[b"onedrive", user.id.as_bytes()]);
            (
                "OneDrive",
                format!("https://{host}/personal/{personal}/"),
                "Documents".to_string(),
                site_id.clone(),
                site_id.clone(),
                site_id,
            )
        } else {
            let (si, fi) = site_folder.unwrap_or_else(|| {
                (
                    self.rng.below(self.profile.sites.len() as u64) as usize,
                    self.rng.below(3) as usize,
                )
            });
            let site = &self.profile.sites[si];
            (
                "SharePoint",
                site.url.clone(),
                format!("Shared Documents/{}", site.folders[fi]),
                site.site_id.clone(),
                site.web_id.clone(),
                site.list_id.clone(),
            )
        };
        let record_type = 6;
        let (id, mut m) = self.ual_base(record_type, workload, op, time);
        let item = self.guid();
        let correlation = self.guid();
        m.insert("UserType".into(), json!(0));
        m.insert("EventSource".into(), json!("SharePoint"));
        m.insert("Site".into(), json!(site_id));
        m.insert("WebId".into(), json!(web_id));
        m.insert("SiteUrl".into(), json!(site_url));
        m.insert(
            "UserKey".into(),
            json!(format!(
                "i:0h.f|membership|{}@live.com",
                user.puid.to_ascii_lowercase()
            )),
        );
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(ip));
        m.insert(
            "ObjectId".into(),
            json!(format!("{site_url}{relative}/{name}")),
        );
        m.insert("ItemType".into(), json!("File"));
        m.insert("ListId".into(), json!(list_id));
        m.insert("ListItemUniqueId".into(), json!(item));
        m.insert("CorrelationId".into(), json!(correlation));
        m.insert("UserAgent".into(), json!(user_agent(user.os, user.browser)));
        m.insert("SourceRelativeUrl".into(), json!(relative));
        m.insert("SourceFileName".into(), json!(name));
        m.insert("SourceFileExtension".into(), json!(ext));
        if matches!(op, "FileCopied" | "FileRenamed") {
            let dest = if op == "FileRenamed" {
                format!("Renamed {name}")
            } else {
                name
            };
            m.insert("DestinationRelativeUrl".into(), json!(relative));
            m.insert("DestinationFileName".into(), json!(dest));
            m.insert("DestinationFileExtension".into(), json!(ext));
        }
        m.insert("IsManagedDevice".into(), json!(self.rng.chance(0.7)));
        self.emit_ual(ContentType::SharePoint, time, id, m);
    }

    /// A burst of downloads from one site, sometimes from a hostile address.
    pub(super) fn mass_download(&mut self) {
        let user = self.regular_user();
        let count = self.rng.range(25, 60);
        let seconds = self.rng.range(180, 480);
        let mut t = self.burst_start(seconds);
        let step = seconds * 1000 / count;
        let ip = if self.rng.chance(0.3) {
            self.hostile_ip()
        } else {
            user.ip.clone()
        };
        let site = self.rng.below(self.profile.sites.len() as u64) as usize;
        for _ in 0..count {
            let folder = self.rng.below(3) as usize;
            self.file_op(user, t, "FileDownloaded", &ip, false, Some((site, folder)));
            t += Duration::milliseconds(self.rng.range(step / 2, step));
        }
    }

    /// A burst of deletions in one folder.
    pub(super) fn mass_delete(&mut self) {
        let user = self.regular_user();
        let count = self.rng.range(20, 45);
        let seconds = self.rng.range(120, 360);
        let mut t = self.burst_start(seconds);
        let step = seconds * 1000 / count;
        let ip = user.ip.clone();
        let site = self.rng.below(self.profile.sites.len() as u64) as usize;
        let folder = self.rng.below(3) as usize;
        for _ in 0..count {
            self.file_op(user, t, "FileDeleted", &ip, false, Some((site, folder)));
            t += Duration::milliseconds(self.rng.range(step / 2, step));
        }
    }

    /// One SharePoint sharing event: a group grant, an anonymous or company link, a guest
    /// invitation.
    pub(super) fn sharing_activity(&mut self) {
        let user = self.user();
        let time = self.at();
        let op = match self.rng.weighted(&[30, 25, 25, 20]) {
            0 => "SharingSet",
            1 => "AnonymousLinkCreated",
            2 => "SharingInvitationCreated",
            _ => "CompanyLinkCreated",
        };
        let site =
            self.profile.sites[self.rng.below(self.profile.sites.len() as u64) as usize].clone();
        let folder = *self.rng.pick(&site.folders);
        let name = self.file_name();
        let ext = name.rsplit('.').next().unwrap_or("").to_string();
        let (id, mut m) = self.ual_base(14, "SharePoint", op, time);
        let item = self.guid();
        let correlation = self.guid();
        let sharing_id = self.guid();
        m.insert("UserType".into(), json!(0));
        m.insert("EventSource".into(), json!("SharePoint"));
        m.insert("Site".into(), json!(site.site_id));
        m.insert("WebId".into(), json!(site.web_id));
        m.insert("SiteUrl".into(), json!(site.url));
        m.insert(
            "UserKey".into(),
            json!(format!(
                "i:0h.f|membership|{}@live.com",
                user.puid.to_ascii_lowercase()
            )),
        );
        m.insert("UserId".into(), json!(user.upn));
        m.insert("ClientIP".into(), json!(user.ip));
        m.insert(
            "ObjectId".into(),
            json!(format!("{}Shared Documents/{folder}/{name}", site.url)),
        );
        m.insert("ItemType".into(), json!("File"));
        m.insert("ListId".into(), json!(site.list_id));
        m.insert("ListItemUniqueId".into(), json!(item));
        m.insert("CorrelationId".into(), json!(correlation));
        m.insert("UserAgent".into(), json!(user_agent(user.os, user.browser)));
        m.insert(
            "SourceRelativeUrl".into(),
            json!(format!("Shared Documents/{folder}")),
        );
        m.insert("SourceFileName".into(), json!(name));
        m.insert("SourceFileExtension".into(), json!(ext));
        match op {
            "SharingSet" => {
                m.insert(
                    "TargetUserOrGroupName".into(),
                    json!(format!("{} Members", folder)),
                );
                m.insert("TargetUserOrGroupType".into(), json!("SharePointGroup"));
                m.insert(
                    "EventData".into(),
                    json!("<PermissionsGranted>Read</PermissionsGranted>"),
                );
            }
            "AnonymousLinkCreated" => {
                let kind = if self.rng.chance(0.3) { "Edit" } else { "View" };
                m.insert("EventData".into(), json!(format!("<Type>{kind}</Type>")));
                m.insert("UniqueSharingId".into(), json!(sharing_id));
            }
            "SharingInvitationCreated" => {
                let guest = format!(
                    "{}.{}@{}",
                    self.rng.pick(&["alex", "jordan", "casey", "morgan"]),
                    self.rng.pick(&["reed", "lane", "frost", "hart"]),
                    self.profile.external_domain()
                );
                m.insert("TargetUserOrGroupName".into(), json!(guest));
                m.insert("TargetUserOrGroupType".into(), json!("Guest"));
                m.insert("EventData".into(), json!("<Type>Edit</Type>"));
                m.insert("UniqueSharingId".into(), json!(sharing_id));
            }
            _ => {
                m.insert("EventData".into(), json!("<Type>View</Type>"));
                m.insert("UniqueSharingId".into(), json!(sharing_id));
            }
        }
        self.emit_ual(ContentType::SharePoint, time, id, m);
    }
}
