//! What Microsoft's numbers and ids mean, for the details an admin reads: sign-in error codes
//! (the public AADSTS codes) and the ids of Microsoft's own applications, which the unified log
//! names only by id.

/// The meaning of a sign-in error code, for the codes admins meet in incidents.
pub(crate) fn error_meaning(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "0" => "success",
        "50126" => "invalid username or password",
        "50053" => "account locked (smart lockout) or sign-in blocked from a malicious address",
        "50055" => "password expired",
        "50057" => "account disabled",
        "50074" | "50076" => {
            "strong authentication (MFA) required: an interrupt, not a final failure"
        }
        "500121" => "authentication failed during the strong authentication (MFA) request",
        "53003" => "access blocked by Conditional Access",
        "50158" => "external security challenge not satisfied",
        "90025" => "internal retry limit reached; usually retried automatically",
        _ => return None,
    })
}

/// The name of one of Microsoft's own applications, by its application (client) id.
pub(crate) fn application_name(app_id: &str) -> Option<&'static str> {
    Some(match app_id.trim().to_ascii_lowercase().as_str() {
        "00000002-0000-0ff1-ce00-000000000000" => "Office 365 Exchange Online",
        "00000003-0000-0ff1-ce00-000000000000" => "Office 365 SharePoint Online",
        "00000003-0000-0000-c000-000000000000" => "Microsoft Graph",
        "00000002-0000-0000-c000-000000000000" => "Windows Azure Active Directory",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c" => "Azure Portal",
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264" => "Microsoft Teams",
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346" => "Microsoft Teams Web Client",
        "d3590ed6-52b3-4102-aeff-aad2292ab01c" => "Microsoft Office",
        "4765445b-32c6-49b0-83e6-1d93765276ca" => "OfficeHome",
        "00000006-0000-0ff1-ce00-000000000000" => "Microsoft Office 365 Portal",
        "27922004-5251-4030-b22d-91ecd9a37ea4" => "Outlook Mobile",
        "ab9b8c07-8f02-4f72-87fa-80105867a763" => "OneDrive SyncEngine",
        "1b730954-1685-4b74-9bfd-dac224a7b894" => "Azure Active Directory PowerShell",
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46" => "Microsoft Azure CLI",
        "1950a258-227b-4e31-a9cf-717495945fc2" => "Microsoft Azure PowerShell",
        "14d82eec-204b-4c2f-b7e8-296a70dab67e" => "Microsoft Graph Command Line Tools",
        "fb78d390-0c51-40cd-8e17-fdbfab77341b" => "Microsoft Exchange REST API Based PowerShell",
        "29d9ed98-a469-4536-ade2-f981bc1d605e" => "Microsoft Authentication Broker",
        "0000000c-0000-0000-c000-000000000000" => "Microsoft App Access Panel",
        "de8bc8b5-d9f9-48b1-a8ad-b748da725064" => "Graph Explorer",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_codes_and_apps_are_named() {
        assert_eq!(
            error_meaning(" 50126"),
            Some("invalid username or password")
        );
        assert_eq!(error_meaning("12345"), None);
        assert_eq!(
            application_name("00000002-0000-0FF1-CE00-000000000000"),
            Some("Office 365 Exchange Online")
        );
        assert_eq!(application_name("not-an-app"), None);
    }
}
