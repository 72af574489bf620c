//! Countries by name: sign-in records give ISO 3166 two-letter codes (`FR`), people say
//! "France". The names admins meet most often, in English, with common short forms.

/// The two-letter code of a country named `name` (any case), or `None`.
pub fn country_code(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_lowercase();
    COUNTRIES
        .iter()
        .find(|(_, names)| names.iter().any(|n| *n == wanted))
        .map(|(code, _)| *code)
}

const COUNTRIES: &[(&str, &[&str])] = &[
    ("AE", &["united arab emirates", "uae"]),
    ("AR", &["argentina"]),
    ("AT", &["austria"]),
    ("AU", &["australia"]),
    ("BE", &["belgium"]),
    ("BG", &["bulgaria"]),
    ("BR", &["brazil"]),
    ("BY", &["belarus"]),
    ("CA", &["canada"]),
    ("CH", &["switzerland"]),
    ("CL", &["chile"]),
    ("CN", &["china"]),
    ("CO", &["colombia"]),
    ("CZ", &["czechia", "czech republic"]),
    ("DE", &["germany"]),
    ("DK", &["denmark"]),
    ("EE", &["estonia"]),
    ("EG", &["egypt"]),
    ("ES", &["spain"]),
    ("FI", &["finland"]),
    ("FR", &["france"]),
    (
        "GB",
        &[
            "united kingdom",
            "uk",
            "great britain",
            "britain",
            "england",
        ],
    ),
    ("GR", &["greece"]),
    ("HK", &["hong kong"]),
    ("HU", &["hungary"]),
    ("ID", &["indonesia"]),
    ("IE", &["ireland"]),
    ("IL", &["israel"]),
    ("IN", &["india"]),
    ("IR", &["iran"]),
    ("IT", &["italy"]),
    ("JP", &["japan"]),
    ("KP", &["north korea"]),
    ("KR", &["south korea", "korea"]),
    ("LT", &["lithuania"]),
    ("LV", &["latvia"]),
    ("MX", &["mexico"]),
    ("MY", &["malaysia"]),
    ("NG", &["nigeria"]),
    ("NL", &["netherlands", "the netherlands", "holland"]),
    ("NO", &["norway"]),
    ("NZ", &["new zealand"]),
    ("PH", &["philippines"]),
    ("PK", &["pakistan"]),
    ("PL", &["poland"]),
    ("PT", &["portugal"]),
    ("RO", &["romania"]),
    ("RS", &["serbia"]),
    ("RU", &["russia", "russian federation"]),
    ("SA", &["saudi arabia"]),
    ("SE", &["sweden"]),
    ("SG", &["singapore"]),
    ("TH", &["thailand"]),
    ("TR", &["turkey", "türkiye", "turkiye"]),
    ("TW", &["taiwan"]),
    ("UA", &["ukraine"]),
    (
        "US",
        &[
            "united states",
            "usa",
            "united states of america",
            "america",
        ],
    ),
    ("VN", &["vietnam", "viet nam"]),
    ("ZA", &["south africa"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_codes() {
        assert_eq!(country_code("France"), Some("FR"));
        assert_eq!(country_code(" united KINGDOM "), Some("GB"));
        assert_eq!(country_code("Atlantis"), None);
    }
}
