//! A tenant's fixed cast: organisation, domain, users (some of them admins), apps, groups,
//! SharePoint sites, Teams — all derived from the tenant seed.

use crate::rng::{SplitMix64, derive, guid_of, is_guid};

/// A place sign-ins come from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Hours from UTC (standard time; daylight saving is ignored).
    pub utc_offset: i64,
}

const fn place(
    city: &'static str,
    state: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
    utc_offset: i64,
) -> Place {
    Place {
        city,
        state,
        country,
        lat,
        lon,
        utc_offset,
    }
}

/// Where tenants are headquartered.
pub(crate) const HOMES: [Place; 8] = [
    place("Seattle", "Washington", "US", 47.61, -122.33, -8),
    place("Chicago", "Illinois", "US", 41.88, -87.63, -6),
    place("Toronto", "Ontario", "CA", 43.65, -79.38, -5),
    place("London", "England", "GB", 51.51, -0.13, 0),
    place("Amsterdam", "Noord-Holland", "NL", 52.37, 4.9, 1),
    place("Berlin", "Berlin", "DE", 52.52, 13.4, 1),
    place("Paris", "Ile-de-France", "FR", 48.86, 2.35, 1),
    place("Sydney", "New South Wales", "AU", -33.87, 151.21, 10),
];

/// Where travelling employees sign in from.
pub(crate) const TRAVEL: [Place; 5] = [
    place("New York", "New York", "US", 40.71, -74.01, -5),
    place("Madrid", "Madrid", "ES", 40.42, -3.7, 1),
    place("Dublin", "Dublin", "IE", 53.35, -6.26, 0),
    place("Singapore", "Singapore", "SG", 1.35, 103.82, 8),
    place("Zurich", "Zurich", "CH", 47.38, 8.54, 1),
];

/// Where attacks come from.
pub(crate) const HOSTILE: [Place; 5] = [
    place("Bucharest", "Bucuresti", "RO", 44.43, 26.1, 2),
    place("Lagos", "Lagos", "NG", 6.45, 3.39, 1),
    place("Moscow", "Moscow", "RU", 55.76, 37.62, 3),
    place("Sao Paulo", "Sao Paulo", "BR", -23.55, -46.63, -3),
    place("Hanoi", "Hanoi", "VN", 21.03, 105.85, 7),
];

const ORGS: [&str; 12] = [
    "Northwind",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Adatum",
    "Proseware",
    "Wingtip",
    "Alpine",
    "Coho",
    "Lamna",
    "Relecloud",
    "Trey",
];

const FIRST: [&str; 32] = [
    "Kim", "Lee", "Dana", "Megan", "Omar", "Priya", "Lars", "Sofia", "Mateo", "Aisha", "Noah",
    "Chen", "Elena", "Tomas", "Grace", "Yusuf", "Hana", "Ravi", "Ingrid", "Diego", "Fatima",
    "Jonas", "Mei", "Oscar", "Nadia", "Pavel", "Rosa", "Sam", "Tara", "Victor", "Wen", "Zoe",
];

const LAST: [&str; 32] = [
    "Gomez", "Park", "Ross", "Haddad", "Novak", "Okafor", "Berg", "Rossi", "Silva", "Khan",
    "Meyer", "Tanaka", "Dubois", "Kowalski", "Nguyen", "Jensen", "Lopez", "Ahmed", "Fischer",
    "Moreau", "Costa", "Larsen", "Singh", "Walsh", "Ivanova", "Brennan", "Sato", "Varga", "Moss",
    "Ortiz", "Hale", "Quinn",
];

/// Directory roles admins hold and grant.
pub(crate) const ROLES: [(&str, &str, &str); 6] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "CompanyAdministrator",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "ExchangeServiceAdministrator",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePointServiceAdministrator",
    ),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "UserAccountAdministrator",
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "IntuneServiceAdministrator",
    ),
    (
        "Security Reader",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "SecurityReader",
    ),
];

/// An employee.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub display: String,
    pub upn: String,
    /// Exchange/SharePoint `UserKey` (PUID, 16 hex digits).
    pub puid: String,
    pub sid: String,
    pub admin: bool,
    /// Index into [`HOMES`] / [`TRAVEL`] for most sign-ins.
    pub home: Place,
    pub ip: String,
    pub device_name: String,
    pub device_id: String,
    pub os: &'static str,
    pub browser: &'static str,
    pub mailbox_guid: String,
    pub first: &'static str,
    pub last: &'static str,
}

/// An application (first-party Microsoft or one of the tenant's).
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub app_id: String,
    pub name: String,
    pub sp_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub url: String,
    pub site_id: String,
    pub web_id: String,
    pub list_id: String,
    pub folders: [&'static str; 3],
}

#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub id: String,
    pub name: String,
    pub channels: [&'static str; 3],
}

/// A tenant's cast.
#[derive(Debug, Clone)]
pub(crate) struct TenantProfile {
    pub tid: String,
    pub seed: u64,
    pub org: &'static str,
    pub domain: String,
    pub sp_host: String,
    pub home: Place,
    pub users: Vec<User>,
    /// The tenant's own line-of-business app.
    pub hr_portal: App,
    /// A third-party app users consent to (reads mail).
    pub mail_sync: App,
    /// The tenant's automation service principal.
    pub automation: App,
    pub groups: Vec<Group>,
    pub sites: Vec<Site>,
    pub teams: Vec<Team>,
    /// A role object id per entry of [`ROLES`].
    pub role_ids: Vec<String>,
    pub ca_policies: Vec<(String, &'static str)>,
}

/// The tenant GUID for what a client put in a URL: GUIDs as given (lower case), domains mapped
/// to a stable GUID of their own.
pub(crate) fn tenant_id(input: &str) -> String {
    let lower = input.trim().to_ascii_lowercase();
    if is_guid(&lower) {
        lower
    } else {
        guid_of(&[b"domain", lower.as_bytes()])
    }
}

/// Whether `input` may name a tenant: a GUID or a domain name.
pub(crate) fn is_tenant_name(input: &str) -> bool {
    if is_guid(input) {
        return true;
    }
    let labels: Vec<&str> = input.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl TenantProfile {
    pub(crate) fn new(seed: u64, tid: &str) -> Self {
        let tenant_seed = derive(&[b"tenant", &seed.to_le_bytes(), tid.as_bytes()]);
        let mut rng = SplitMix64::new(tenant_seed);
        let org = *rng.pick(&ORGS);
        let short = format!("{:016x}", rng.next_u64());
        let domain = format!("tenant-{}.onmicrosoft.com", &short[..8]);
        let sp_host = format!("tenant-{}.sharepoint.com", &short[..8]);
        let home = *rng.pick(&HOMES);

        let mut firsts: Vec<&'static str> = FIRST.to_vec();
        let mut lasts: Vec<&'static str> = LAST.to_vec();
        rng.shuffle(&mut firsts);
        rng.shuffle(&mut lasts);
        let user_count = 15;
        let admin_count = 2 + rng.below(2) as usize;
        let oses = [
            "Windows10",
            "Windows10",
            "Windows10",
            "MacOs",
            "Ios",
            "Android",
        ];
        let browsers = [
            "Edge 133.0.0",
            "Chrome 133.0.0",
            "Safari 17.3",
            "Firefox 135.0",
        ];
        let ip_block = if rng.chance(0.5) {
            "203.0.113"
        } else {
            "198.51.100"
        };
        let office_ip = format!("{ip_block}.{}", rng.range(2, 40));
        let mut users = Vec::with_capacity(user_count);
        for i in 0..user_count {
            let first = firsts[i];
            let last = lasts[i];
            let admin = i < admin_count;
            let local = if admin {
                format!("admin.{}", first.to_ascii_lowercase())
            } else {
                format!(
                    "{}.{}",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase()
                )
            };
            // A few people work remotely from elsewhere in the home country or travel a lot.
            let home_place = if i % 7 == 6 { *rng.pick(&TRAVEL) } else { home };
            users.push(User {
                id: rng.guid(),
                display: format!("{first} {last}"),
                upn: format!("{local}@{domain}"),
                puid: format!("1003{}", rng.hex_upper(12)),
                sid: format!(
                    "S-1-5-21-{}-{}-{}-{}",
                    rng.range(1_000_000_000, 3_999_999_999),
                    rng.range(1_000_000_000, 3_999_999_999),
                    rng.range(1_000_000_000, 3_999_999_999),
                    rng.range(1100, 99_999)
                ),
                admin,
                home: home_place,
                ip: if i % 3 == 0 {
                    office_ip.clone()
                } else {
                    format!("{ip_block}.{}", rng.range(41, 250))
                },
                device_name: format!(
                    "{}-LT-{:04}",
                    org.to_ascii_uppercase(),
                    rng.range(100, 9999)
                ),
                device_id: rng.guid(),
                os: oses[rng.below(oses.len() as u64) as usize],
                browser: browsers[rng.below(browsers.len() as u64) as usize],
                mailbox_guid: rng.guid(),
                first,
                last,
            });
        }
        let mut app = |name: String| App {
            app_id: rng.guid(),
            name,
            sp_id: rng.guid(),
        };
        let hr_portal = app(format!("{org} HR Portal"));
        let mail_sync = app("Mail Sync Helper".to_string());
        let automation = app(format!("{org} Automation"));
        let groups = ["Finance", "Sales", "Engineering", "HR", "Privileged Admins"]
            .iter()
            .map(|name| Group {
                id: rng.guid(),
                name: format!("{name} Team"),
            })
            .collect();
        let sites = [
            ("Finance", ["Payroll", "Audit", "Invoices"]),
            ("Sales", ["Contracts", "Pipeline", "Pricing"]),
            ("Engineering", ["Designs", "Specs", "Releases"]),
            ("HR", ["Personnel", "Reviews", "Onboarding"]),
        ]
        .iter()
        .map(|(name, folders)| Site {
            url: format!("https://{sp_host}/sites/{name}/"),
            site_id: rng.guid(),
            web_id: rng.guid(),
            list_id: rng.guid(),
            folders: *folders,
        })
        .collect();
        let teams = [
            ("Project Falcon", ["General", "Planning", "Launch"]),
            ("Leadership", ["General", "Board", "Budget"]),
            ("Support", ["General", "Escalations", "On-call"]),
        ]
        .iter()
        .map(|(name, channels)| Team {
            id: rng.guid(),
            name: (*name).to_string(),
            channels: *channels,
        })
        .collect();
        let role_ids = ROLES.iter().map(|_| rng.guid()).collect();
        let ca_policies = [
            "Require MFA for admins",
            "Require MFA for all users",
            "Block legacy authentication",
        ]
        .iter()
        .map(|name| (rng.guid(), *name))
        .collect();
        Self {
            tid: tid.to_string(),
            seed: tenant_seed,
            org,
            domain,
            sp_host,
            home,
            users,
            hr_portal,
            mail_sync,
            automation,
            groups,
            sites,
            teams,
            role_ids,
            ca_policies,
        }
    }

    pub(crate) fn admins(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.admin)
    }

    /// The external (outside-the-org) domain used for forwarding and sharing.
    pub(crate) fn external_domain(&self) -> &'static str {
        "fabrikam.example"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_deterministic_and_distinct() {
        let tid = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
        let a = TenantProfile::new(1, tid);
        let b = TenantProfile::new(1, tid);
        let c = TenantProfile::new(2, tid);
        assert_eq!(a.domain, b.domain);
        assert_eq!(a.users[3].id, b.users[3].id);
        assert_ne!(a.users[3].id, c.users[3].id);
        assert_eq!(a.users.len(), 15);
        let admins = a.admins().count();
        assert!((2..=3).contains(&admins));
        assert!(a.users.iter().all(|u| u.upn.ends_with(&a.domain)));
        assert!(a.domain.starts_with("tenant-") && a.domain.ends_with(".onmicrosoft.com"));
    }

    #[test]
    fn tenant_names() {
        assert!(is_tenant_name("contoso.onmicrosoft.com"));
        assert!(is_tenant_name("8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"));
        assert!(!is_tenant_name("common"));
        assert!(!is_tenant_name("organizations"));
        assert!(!is_tenant_name("bad..domain"));
        assert_eq!(
            tenant_id("Contoso.onmicrosoft.com"),
            tenant_id("contoso.onmicrosoft.com")
        );
        assert!(is_guid(&tenant_id("contoso.onmicrosoft.com")));
    }
}
