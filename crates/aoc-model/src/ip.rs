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

/// An address as 16 bytes that sort like addresses: IPv6 as it is, IPv4 mapped into
/// `::ffff:0:0/96`. Engines store this key, so a CIDR filter is one range comparison.
pub fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A CIDR block (`203.0.113.0/24`, `2001:db8::/32`) as the first and last [`ip_key`] it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    pub network: ipnet::IpNet,
}

impl IpRange {
    /// Parses `ADDRESS/PREFIX`; the address may have host bits set (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse(value: &str) -> Option<Self> {
        let network: ipnet::IpNet = value.trim().parse().ok()?;
        Some(Self {
            network: network.trunc(),
        })
    }

    pub fn first_key(&self) -> [u8; 16] {
        ip_key(self.network.network())
    }

    pub fn last_key(&self) -> [u8; 16] {
        ip_key(self.network.broadcast())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let key = ip_key(ip);
        self.first_key() <= key && key <= self.last_key()
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.network.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any text is a range or not, never a panic; a range holds its own bounds and the
        /// addresses between, and nothing just outside.
        #[test]
        fn ranges_parse_any_text_safely(text in "\\PC{0,40}", a in proptest::num::u32::ANY, bits in 0u8..=32) {
            let _ = IpRange::parse(&text);
            let cidr = format!("{}/{bits}", std::net::Ipv4Addr::from(a));
            let range = IpRange::parse(&cidr).expect("a valid block");
            let first = range.network.network();
            let last = range.network.broadcast();
            proptest::prop_assert!(range.contains(first) && range.contains(last));
            proptest::prop_assert!(range.contains(std::net::IpAddr::V4(std::net::Ipv4Addr::from(a))));
            if let std::net::IpAddr::V4(f) = first && u32::from(f) > 0 {
                proptest::prop_assert!(!range.contains(std::net::IpAddr::V4(std::net::Ipv4Addr::from(u32::from(f) - 1))));
            }
            if let std::net::IpAddr::V4(l) = last && u32::from(l) < u32::MAX {
                proptest::prop_assert!(!range.contains(std::net::IpAddr::V4(std::net::Ipv4Addr::from(u32::from(l) + 1))));
            }
        }
    }

    #[test]
    fn ranges_hold_exactly_their_addresses() {
        let v4 = IpRange::parse("203.0.113.77/24").expect("cidr");
        assert_eq!(v4.to_string(), "203.0.113.0/24");
        for (ip, inside) in [
            ("203.0.113.0", true),
            ("203.0.113.255", true),
            ("203.0.112.255", false),
            ("203.0.114.0", false),
            ("::ffff:203.0.113.9", true),
            ("2001:db8::1", false),
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(v4.contains(ip), inside, "{ip}");
        }
        let v6 = IpRange::parse("2001:db8::/32").expect("cidr");
        assert!(v6.contains("2001:db8:ffff::1".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::".parse().expect("ip")));
        assert!(!v6.contains("203.0.113.9".parse().expect("ip")));
        let all = IpRange::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        assert!(!all.contains("2001:db8::1".parse().expect("ip")));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0",
            "a/8",
            "10.0.0.0/-1",
            "::/129",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(IpRange::parse(bad), None, "{bad}");
        }
    }

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
