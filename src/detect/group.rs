//! Sources grouped the way a person thinks of them: by the sending service
//! when enrichment named it (`ip_info.service`), else by the base domain of
//! the reverse name (`ip_info.base_domain`), else by network: the /24 of an
//! IPv4 address, the /48 of an IPv6 one. A big provider's new addresses fall
//! into a group already known, so its IP churn is not news.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;

/// How a group was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Service,
    ReverseName,
    Network,
    /// The report gave no address.
    Unknown,
}

/// The group of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Stable key: `service:Amazon SES`, `ptr:esp.example`, `net:192.0.2.0/24`.
    pub key: String,
    /// For people: the service, the base domain, or the network.
    pub name: String,
    pub by: By,
}

impl By {
    pub fn describe(self) -> &'static str {
        match self {
            By::Service => "sending service",
            By::ReverseName => "reverse DNS (PTR) base domain",
            By::Network => "network (/24 IPv4, /48 IPv6)",
            By::Unknown => "no address in the reports",
        }
    }
}

/// The group of `ip` given what enrichment knows of it.
pub fn of(ip: &str, service: Option<&str>, base_domain: Option<&str>) -> Group {
    if let Some(s) = service.filter(|s| !s.trim().is_empty()) {
        return Group {
            key: format!("service:{s}"),
            name: s.to_string(),
            by: By::Service,
        };
    }
    if let Some(b) = base_domain.filter(|b| !b.trim().is_empty()) {
        let b = b.trim_end_matches('.').to_ascii_lowercase();
        return Group {
            key: format!("ptr:{b}"),
            name: b,
            by: By::ReverseName,
        };
    }
    match network(ip) {
        Some(net) => Group {
            key: format!("net:{net}"),
            name: net.to_string(),
            by: By::Network,
        },
        None => Group {
            key: "unknown".into(),
            name: "sources without an address".into(),
            by: By::Unknown,
        },
    }
}

/// The /24 (IPv4) or /48 (IPv6) around `ip`.
pub fn network(ip: &str) -> Option<IpNet> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Ipv4Net::new(v4, 24).ok().map(|n| IpNet::V4(n.trunc())),
        IpAddr::V6(v6) => Ipv6Net::new(v6, 48).ok().map(|n| IpNet::V6(n.trunc())),
    }
}

/// What to pass to `dmarcwatch approve` for a group of these addresses.
pub fn approve_hint(group: &Group, ips: &[&str]) -> Vec<String> {
    match group.by {
        By::Service => vec![format!("service:{}", group.name)],
        By::Network => vec![group.name.clone()],
        By::ReverseName => {
            let mut nets: Vec<String> = ips
                .iter()
                .filter_map(|ip| network(ip))
                .map(|n| n.to_string())
                .collect();
            nets.sort();
            nets.dedup();
            nets.truncate(3);
            nets
        }
        By::Unknown => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(
            of("209.85.220.41", Some("Google"), Some("google.com")).key,
            "service:Google"
        );
        assert_eq!(
            of("203.0.113.7", None, Some("ESP-Mail.net.")).key,
            "ptr:esp-mail.net"
        );
        assert_eq!(of("203.0.113.7", None, None).key, "net:203.0.113.0/24");
        assert_eq!(of("2001:db8:1:2::5", None, None).key, "net:2001:db8:1::/48");
        assert_eq!(of("", None, None).by, By::Unknown);
        let g = of("203.0.113.7", None, Some("esp.example"));
        assert_eq!(
            approve_hint(&g, &["203.0.113.7", "203.0.113.9", "198.51.100.1"]),
            vec!["198.51.100.0/24", "203.0.113.0/24"]
        );
    }
}
