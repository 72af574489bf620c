//! Which Microsoft cloud AOC talks to: token authority, Graph and Management API roots, and the
//! resource ids tokens are requested for. Base URLs can be overridden one by one (the simulator,
//! a proxy); resource ids stay those of the cloud, as Microsoft's token endpoint expects.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AzureCloud {
    #[default]
    Public,
    /// Microsoft 365 GCC High (US Government L4).
    UsGov,
    /// Microsoft 365 DoD (US Government L5).
    UsGovDod,
    /// Microsoft 365 operated by 21Vianet. Microsoft documents no Management Activity API there.
    China,
}

impl AzureCloud {
    pub const NAMES: [&str; 4] = ["public", "usgov", "usgovdod", "china"];

    pub fn login(self) -> &'static str {
        match self {
            Self::Public => "https://login.microsoftonline.com",
            Self::UsGov | Self::UsGovDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    pub fn graph(self) -> &'static str {
        match self {
            Self::Public => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::UsGovDod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// `None` where Microsoft documents no Management Activity API.
    pub fn management(self) -> Option<&'static str> {
        match self {
            Self::Public => Some("https://manage.office.com"),
            Self::UsGov => Some("https://manage.office365.us"),
            Self::UsGovDod => Some("https://manage.protection.apps.mil"),
            Self::China => None,
        }
    }
}

impl FromStr for AzureCloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "global" | "azurepublic" => Ok(Self::Public),
            "usgov" | "gcchigh" => Ok(Self::UsGov),
            "usgovdod" | "dod" => Ok(Self::UsGovDod),
            "china" => Ok(Self::China),
            _ => Err(format!(
                "unknown cloud {s:?}: expected one of {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for AzureCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::UsGov => "usgov",
            Self::UsGovDod => "usgovdod",
            Self::China => "china",
        })
    }
}

/// Where requests go and which resources tokens are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub login: Url,
    pub graph: Url,
    pub management: Option<Url>,
    /// Token resource of Graph (`https://graph.microsoft.com`).
    pub graph_resource: String,
    /// Token resource of the Management Activity API (`https://manage.office.com`).
    pub management_resource: Option<String>,
}

impl Endpoints {
    /// The cloud's endpoints, with each given base URL replacing the cloud's.
    ///
    /// # Errors
    /// Names the variable whose URL does not parse.
    pub fn new(
        cloud: AzureCloud,
        login: Option<&str>,
        graph: Option<&str>,
        management: Option<&str>,
    ) -> Result<Self, (&'static str, String)> {
        let parse = |name: &'static str, value: &str| {
            let url =
                Url::parse(value).map_err(|e| (name, format!("{value:?} is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err((name, format!("{value:?} is not an http(s) URL")));
            }
            Ok(url)
        };
        let management = match (management, cloud.management()) {
            (Some(url), _) => Some(parse("MANAGEMENT_BASE_URL", url)?),
            (None, Some(url)) => Some(parse("MANAGEMENT_BASE_URL", url)?),
            (None, None) => None,
        };
        Ok(Self {
            login: parse("LOGIN_BASE_URL", login.unwrap_or(cloud.login()))?,
            graph: parse("GRAPH_BASE_URL", graph.unwrap_or(cloud.graph()))?,
            management_resource: cloud.management().map(str::to_owned),
            management,
            graph_resource: cloud.graph().to_owned(),
        })
    }

    /// `base` joined with a path relative to its root, whatever trailing slash `base` has.
    pub fn join(base: &Url, path: &str) -> String {
        format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_urls_but_not_resources() {
        let e = Endpoints::new(
            AzureCloud::Public,
            Some("http://127.0.0.1:9000"),
            Some("http://127.0.0.1:9000/"),
            None,
        )
        .expect("valid");
        assert_eq!(e.graph_resource, "https://graph.microsoft.com");
        assert_eq!(
            Endpoints::join(&e.graph, "/v1.0/auditLogs/signIns"),
            "http://127.0.0.1:9000/v1.0/auditLogs/signIns"
        );
        assert_eq!(
            e.management.as_ref().map(Url::as_str),
            Some("https://manage.office.com/")
        );
    }

    #[test]
    fn sovereign_clouds_and_bad_urls() {
        let dod = Endpoints::new(AzureCloud::UsGovDod, None, None, None).expect("valid");
        assert_eq!(dod.graph_resource, "https://dod-graph.microsoft.us");
        assert_eq!(
            dod.management_resource.as_deref(),
            Some("https://manage.protection.apps.mil")
        );
        let china = Endpoints::new(AzureCloud::China, None, None, None).expect("valid");
        assert!(china.management.is_none());
        let bad = Endpoints::new(AzureCloud::Public, None, Some("ftp://x"), None);
        assert_eq!(bad.expect_err("bad").0, "GRAPH_BASE_URL");
        assert!("mars".parse::<AzureCloud>().is_err());
    }
}
