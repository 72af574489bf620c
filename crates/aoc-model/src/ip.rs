//! Client addresses as Microsoft 365 writes them, cleaned to plain addresses.

use std::net::{IpAddr, SocketAddr};

/// Parses a client address in any of the shapes the audit logs use: `1.2.3.4`, `1.2.3.4:5678`,
/// `[2001:db8::1]:443`, `[2001:db8::1]`, `2001:db8::1`, `::ffff:1.2.3.4` (returned as IPv4).
/// Anything else (empty, `<null>`, a host name) is `None`.
pub fn parse_client_ip(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    let ip = value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .and_then(|v| v.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_becomes_a_plain_address() {
        for (input, want) in [
            ("203.0.113.24", "203.0.113.24"),
            ("198.51.100.77:51734", "198.51.100.77"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:DB8::1", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            ("[::ffff:203.0.113.9]:80", "203.0.113.9"),
            (" 203.0.113.5 ", "203.0.113.5"),
        ] {
            assert_eq!(
                parse_client_ip(input).map(|ip| ip.to_string()).as_deref(),
                Some(want),
                "{input}"
            );
        }
        for bad in ["", "<null>", "contoso.com", "1.2.3", "300.1.1.1", "[::1"] {
            assert_eq!(parse_client_ip(bad), None, "{bad}");
        }
    }
}
