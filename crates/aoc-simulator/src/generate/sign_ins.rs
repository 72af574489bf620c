//! Entra ID sign-ins: everyday ones, risky ones from hostile places, and password sprays. Each
//! is a Graph `signIn`, most with a unified-log twin (`UserLoggedIn` / `UserLoginFailed`).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{ContentType, Generator, Source, graph_time, user_agent};
use crate::profile::{HOSTILE, Place, TRAVEL, User};

/// First-party apps: (app id, name, resource id, resource name).
const MS_APPS: [(&str, &str, &str, &str); 7] = [
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
    ),
    (
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Microsoft Teams",
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
    ),
    (
        "4765445b-32c6-49b0-83e6-1d93765276ca",
        "OfficeHome",
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
    ),
    (
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "Microsoft Office",
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
    ),
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Azure Portal",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Windows Azure Service Management API",
    ),
    (
        "1950a258-227b-4e31-a9cf-717495945fc2",
        "Microsoft Azure PowerShell",
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
    ),
];
const EXCHANGE_APP: usize = 0;
const PORTAL_APP: usize = 5;
const POWERSHELL_APP: usize = 6;

/// How a sign-in ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    BadPassword,
    MfaDenied,
    CaBlocked,
    Locked,
}

impl Outcome {
    fn code(self) -> i64 {
        match self {
            Self::Success => 0,
            Self::BadPassword => 50126,
            Self::MfaDenied => 500_121,
            Self::CaBlocked => 53003,
            Self::Locked => 50053,
        }
    }

    fn reason(self) -> Option<&'static str> {
        match self {
            Self::Success => None,
            Self::BadPassword => {
                Some("Error validating credentials due to invalid username or password.")
            }
            Self::MfaDenied => Some("Authentication failed during strong authentication request."),
            Self::CaBlocked => Some(
                "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
            ),
            Self::Locked => Some(
                "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
            ),
        }
    }

    fn logon_error(self) -> &'static str {
        match self {
            Self::Success => "",
            Self::BadPassword => "InvalidUserNameOrPassword",
            Self::MfaDenied => "AuthenticationFailedDuringStrongAuthRequest",
            Self::CaBlocked => "BlockedByConditionalAccess",
            Self::Locked => "IdsLocked",
        }
    }
}

/// Everything one sign-in needs.
struct SignIn<'a> {
    user: &'a User,
    time: DateTime<Utc>,
    app: (String, String, String, String),
    ip: String,
    place: Place,
    outcome: Outcome,
    risk: Option<&'static [&'static str]>,
    client_app: &'static str,
    user_agent: &'static str,
    os: &'static str,
    browser: &'static str,
    managed: bool,
}

impl<'a> Generator<'a> {
    /// An everyday sign-in by anyone in the tenant, now and then from a travel destination.
    pub(super) fn sign_in_scenario(&mut self) {
        let user = self.user();
        let time = self.at();
        let outcome = match self.rng.weighted(&[84, 7, 4, 3, 1]) {
            0 => Outcome::Success,
            1 => Outcome::BadPassword,
            2 => Outcome::MfaDenied,
            3 => Outcome::CaBlocked,
            _ => Outcome::Locked,
        };
        let app_index = if user.admin && self.rng.chance(0.3) {
            *self.rng.pick(&[PORTAL_APP, POWERSHELL_APP])
        } else if self.rng.chance(0.1) {
            usize::MAX
        } else {
            self.rng.below(5) as usize
        };
        let app = self.app(app_index);
        let (place, ip) = if self.rng.chance(0.06) {
            (*self.rng.pick(&TRAVEL), self.travel_ip())
        } else {
            (user.home, user.ip.clone())
        };
        let mobile = matches!(user.os, "Ios" | "Android");
        let client_app = if outcome == Outcome::CaBlocked && self.rng.chance(0.5) {
            "IMAP4"
        } else if mobile || self.rng.chance(0.3) {
            "Mobile Apps and Desktop clients"
        } else {
            "Browser"
        };
        let spec = SignIn {
            user,
            time,
            app,
            ip,
            place,
            outcome,
            risk: None,
            client_app,
            user_agent: user_agent(user.os, user.browser),
            os: user.os,
            browser: user.browser,
            managed: true,
        };
        self.emit_sign_in(&spec, 0.8);
    }

    fn app(&mut self, index: usize) -> (String, String, String, String) {
        if index == usize::MAX {
            let app = &self.profile.hr_portal;
            return (
                app.app_id.clone(),
                app.name.clone(),
                app.app_id.clone(),
                app.name.clone(),
            );
        }
        let (id, name, rid, rname) = MS_APPS[index.min(MS_APPS.len() - 1)];
        (id.into(), name.into(), rid.into(), rname.into())
    }

    /// A sign-in from a hostile place, sometimes followed by mailbox access from there.
    pub(super) fn risky_sign_in(&mut self) {
        let user = self.regular_user();
        let time = self.at();
        let place = *self.rng.pick(&HOSTILE);
        let ip = self.hostile_ip();
        const RISKS: [&[&str]; 4] = [
            &["anonymizedIPAddress", "unfamiliarFeatures"],
            &["unlikelyTravel"],
            &["maliciousIPAddress"],
            &["leakedCredentials", "unfamiliarFeatures"],
        ];
        let risk = *self.rng.pick(&RISKS);
        let outcome = match self.rng.weighted(&[5, 3, 2]) {
            0 => Outcome::Success,
            1 => Outcome::MfaDenied,
            _ => Outcome::BadPassword,
        };
        let index = *self.rng.pick(&[EXCHANGE_APP, 2, POWERSHELL_APP]);
        let app = self.app(index);
        let spec = SignIn {
            user,
            time,
            app,
            ip,
            place,
            outcome,
            risk: Some(risk),
            client_app: "Browser",
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            os: "Linux",
            browser: "Chrome 131.0.0",
            managed: false,
        };
        self.emit_sign_in(&spec, 0.9);
        // A successful risky sign-in is often followed by mailbox access from the same place.
        if outcome == Outcome::Success && self.rng.chance(0.5) {
            let later = (time + Duration::seconds(self.rng.range(30, 600)))
                .min(self.start + Duration::seconds(3599));
            let ip = spec.ip.clone();
            self.mail_items_accessed(user, later, &ip, "Client=REST;Client=RESTSystem;");
        }
    }

    /// A burst of SMTP sign-ins from one hostile address across many users; the last may succeed.
    pub(super) fn password_spray(&mut self) {
        let ip = self.hostile_ip();
        let place = *self.rng.pick(&HOSTILE);
        let attempts = self.rng.range(10, 25);
        let mut t = self.burst_start(attempts * 40);
        let users = self.profile.users.len() as u64;
        let first = self.rng.below(users);
        for i in 0..attempts {
            let user = &self.profile.users[((first + i as u64) % users) as usize];
            let outcome = if i == attempts - 1 && self.rng.chance(0.3) {
                Outcome::Success
            } else {
                Outcome::BadPassword
            };
            let app = self.app(EXCHANGE_APP);
            let spec = SignIn {
                user,
                time: t,
                app,
                ip: ip.clone(),
                place,
                outcome,
                risk: (outcome == Outcome::Success).then_some(&["passwordSpray"][..]),
                client_app: "Authenticated SMTP",
                user_agent: "BAV2ROPC",
                os: "",
                browser: "",
                managed: false,
            };
            self.emit_sign_in(&spec, 1.0);
            t += Duration::milliseconds(self.rng.range(5_000, 39_000));
        }
    }

    /// A Graph sign-in, plus its unified-log twin with probability `ual_share`.
    fn emit_sign_in(&mut self, s: &SignIn<'_>, ual_share: f64) {
        let tid = self.profile.tid.clone();
        let id = self.guid();
        let correlation = self.guid();
        let success = s.outcome == Outcome::Success;
        let (risk_level, risk_state, risks): (&str, &str, Vec<&str>) = match s.risk {
            Some(list) => (
                if self.rng.chance(0.7) {
                    "high"
                } else {
                    "medium"
                },
                "atRisk",
                list.to_vec(),
            ),
            None => ("none", "none", Vec::new()),
        };
        let ca_status = match s.outcome {
            Outcome::CaBlocked | Outcome::MfaDenied => "failure",
            Outcome::Success if s.client_app == "Browser" => "success",
            _ => "notApplied",
        };
        let policies = if s.outcome == Outcome::CaBlocked {
            let (pid, name) = &self.profile.ca_policies[2];
            json!([{ "id": pid, "displayName": name, "enforcedGrantControls": ["Block"], "enforcedSessionControls": [], "result": "failure" }])
        } else if ca_status == "notApplied" {
            json!([])
        } else {
            let (pid, name) = &self.profile.ca_policies[1];
            json!([{ "id": pid, "displayName": name, "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [], "result": if success { "success" } else { "failure" } }])
        };
        let additional = match s.outcome {
            Outcome::Success if ca_status == "success" => {
                Some("MFA requirement satisfied by claim in the token")
            }
            Outcome::MfaDenied => Some("The user didn't complete the MFA prompt."),
            _ => None,
        };
        let device = if s.managed {
            json!({
                "deviceId": s.user.device_id, "displayName": s.user.device_name,
                "operatingSystem": s.os, "browser": s.browser,
                "isCompliant": true, "isManaged": true, "trustType": "Azure AD joined"
            })
        } else {
            json!({
                "deviceId": "", "displayName": "", "operatingSystem": s.os, "browser": s.browser,
                "isCompliant": false, "isManaged": false, "trustType": ""
            })
        };
        let graph = json!({
            "id": id,
            "createdDateTime": graph_time(s.time),
            "userDisplayName": s.user.display,
            "userPrincipalName": s.user.upn,
            "userId": s.user.id,
            "appId": s.app.0,
            "appDisplayName": s.app.1,
            "ipAddress": s.ip,
            "clientAppUsed": s.client_app,
            "userAgent": s.user_agent,
            "correlationId": correlation,
            "conditionalAccessStatus": ca_status,
            "isInteractive": true,
            "riskDetail": "none",
            "riskLevelAggregated": risk_level,
            "riskLevelDuringSignIn": risk_level,
            "riskState": risk_state,
            "riskEventTypes": risks,
            "riskEventTypes_v2": risks,
            "resourceDisplayName": s.app.3,
            "resourceId": s.app.2,
            "resourceTenantId": tid,
            "homeTenantId": tid,
            "servicePrincipalId": "",
            "servicePrincipalName": "",
            "status": {
                "errorCode": s.outcome.code(),
                "failureReason": s.outcome.reason(),
                "additionalDetails": additional
            },
            "deviceDetail": device,
            "location": {
                "city": s.place.city,
                "state": s.place.state,
                "countryOrRegion": s.place.country,
                "geoCoordinates": { "altitude": null, "latitude": s.place.lat, "longitude": s.place.lon }
            },
            "appliedConditionalAccessPolicies": policies,
            "authenticationAppDeviceDetails": null
        });
        self.emit(Source::SignIns, s.time, id, graph);

        if !self.rng.chance(ual_share) {
            return;
        }
        let time = s.time;
        let operation = if success {
            "UserLoggedIn"
        } else {
            "UserLoginFailed"
        };
        let (uid, mut m) = self.ual_base(15, "AzureActiveDirectory", operation, time);
        let os_name = match s.os {
            "Windows10" => "Windows 10",
            "MacOs" => "MacOs",
            "Ios" => "Ios",
            "Android" => "Android",
            "" => "Other",
            other => other,
        };
        let browser = s
            .browser
            .split(' ')
            .next()
            .filter(|b| !b.is_empty())
            .unwrap_or("Other");
        let request_type = if s.client_app == "Browser" {
            "OAuth2:Authorize"
        } else {
            "OAuth2:Token"
        };
        let session = self.guid();
        let inter = self.guid();
        let intra = self.guid();
        m.insert(
            "ResultStatus".into(),
            json!(if success { "Success" } else { "Failed" }),
        );
        m.insert("UserType".into(), json!(0));
        m.insert("UserKey".into(), json!(s.user.id));
        m.insert("UserId".into(), json!(s.user.upn));
        m.insert("ClientIP".into(), json!(s.ip));
        m.insert("ObjectId".into(), json!(s.app.2));
        m.insert("AzureActiveDirectoryEventType".into(), json!(1));
        m.insert(
            "ExtendedProperties".into(),
            json!([
                { "Name": "ResultStatusDetail", "Value": if success { "Success" } else { "Redirect" } },
                { "Name": "UserAgent", "Value": s.user_agent },
                { "Name": "RequestType", "Value": request_type }
            ]),
        );
        m.insert("ModifiedProperties".into(), json!([]));
        m.insert(
            "Actor".into(),
            json!([{ "ID": s.user.id, "Type": 0 }, { "ID": s.user.upn, "Type": 5 }]),
        );
        m.insert("ActorContextId".into(), json!(self.profile.tid));
        m.insert("ActorIpAddress".into(), json!(s.ip));
        m.insert("InterSystemsId".into(), json!(inter));
        m.insert("IntraSystemId".into(), json!(intra));
        m.insert("SupportTicketId".into(), json!(""));
        m.insert("Target".into(), json!([{ "ID": s.app.2, "Type": 0 }]));
        m.insert("TargetContextId".into(), json!(self.profile.tid));
        m.insert("ApplicationId".into(), json!(s.app.0));
        m.insert(
            "DeviceProperties".into(),
            json!([
                { "Name": "OS", "Value": os_name },
                { "Name": "BrowserType", "Value": browser },
                { "Name": "IsCompliant", "Value": if s.managed { "True" } else { "False" } },
                { "Name": "IsCompliantAndManaged", "Value": if s.managed { "True" } else { "False" } },
                { "Name": "SessionId", "Value": session }
            ]),
        );
        m.insert("ErrorNumber".into(), json!(s.outcome.code().to_string()));
        if !success {
            m.insert("LogonError".into(), json!(s.outcome.logon_error()));
        }
        self.emit_ual(ContentType::AzureActiveDirectory, time, uid, m);
    }
}
