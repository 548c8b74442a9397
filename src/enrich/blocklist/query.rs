//! One DNSBL question and how to read its answer. The query name is the
//! address reversed under the zone: `2.0.0.127.zen.spamhaus.org` for
//! 127.0.0.2, 32 reversed nibbles for IPv6 (RFC 5782). NXDOMAIN means not
//! listed; 127.0.0.0/8 answers are listings (with the TXT reason); the
//! 127.255.255.x answers Spamhaus gives for refused, rate-limited or
//! mistyped queries, other odd answers and timeouts are errors, which never
//! count as listed or as delisted.

use super::pace::ZonePace;
use crate::enrich::dns::{Dns, DnsFailure};
use std::net::{IpAddr, Ipv4Addr};

/// How one zone sees one address, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Listed {
        /// The 127.x.y.z answers, e.g. `127.0.0.2,127.0.0.4`.
        codes: Vec<Ipv4Addr>,
        /// The zone's TXT text, when it gives one.
        reason: Option<String>,
    },
    NotListed,
    /// No usable answer: keep the last known state.
    Failed(String),
}

impl Verdict {
    pub fn return_code(&self) -> Option<String> {
        match self {
            Verdict::Listed { codes, .. } => Some(
                codes
                    .iter()
                    .map(Ipv4Addr::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    }
}

/// The name to look up for `ip` in `zone`.
pub fn query_name(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_matches('.');
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(64 + zone.len());
            for byte in v6.octets().iter().rev() {
                name.push(nibble(byte & 0x0f));
                name.push('.');
                name.push(nibble(byte >> 4));
                name.push('.');
            }
            name.push_str(zone);
            name
        }
    }
}

fn nibble(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// Read the A answers of a DNSBL query (`None`: NXDOMAIN / no A record).
pub fn read_answer(zone: &str, answer: Option<&[Ipv4Addr]>) -> Verdict {
    let Some(codes) = answer else {
        return Verdict::NotListed;
    };
    for code in codes {
        if let Some(problem) = error_code(zone, *code) {
            return Verdict::Failed(problem);
        }
    }
    let mut codes = codes.to_vec();
    codes.sort();
    codes.dedup();
    Verdict::Listed {
        codes,
        reason: None,
    }
}

/// Why `code` is not a listing, or `None` when it is one.
fn error_code(zone: &str, code: Ipv4Addr) -> Option<String> {
    let [a, b, c, d] = code.octets();
    if a != 127 {
        return Some(format!(
            "{zone} answered {code}, not a 127.0.0.0/8 code: the resolver may rewrite NXDOMAIN; use [blocklist] nameservers"
        ));
    }
    if (b, c) == (255, 255) {
        let why = match d {
            252 => "the zone name is mistyped or not a blocklist",
            254 => "the zone refuses queries through public or open resolvers; query it through your own resolver in [blocklist] nameservers",
            255 => "the zone rate-limits these queries (too many from this resolver)",
            _ => "the zone reports an error for this query",
        };
        return Some(format!("{zone} answered {code}: {why}"));
    }
    if code == Ipv4Addr::new(127, 0, 0, 1) {
        return Some(format!(
            "{zone} answered 127.0.0.1, which is not a listing code (RFC 5782)"
        ));
    }
    None
}

/// Ask `zone` about `ip`: the A query, then the TXT reason when listed,
/// each in its turn of the zone's pace.
pub async fn ask(dns: &Dns, pace: &ZonePace, ip: IpAddr, zone: &str) -> Verdict {
    let name = query_name(ip, zone);
    pace.wait_turn().await;
    let answer = match dns.ipv4(&name).await {
        Ok(answer) => answer,
        Err(e) => return failed(zone, &e),
    };
    let verdict = read_answer(zone, answer.as_deref());
    let Verdict::Listed { codes, .. } = verdict else {
        return verdict;
    };
    // The listing stands even when the reason cannot be had.
    pace.wait_turn().await;
    let reason = match dns.txt(&name).await {
        Ok(texts) if !texts.is_empty() => Some(clip(&texts.join(" "))),
        _ => None,
    };
    Verdict::Listed { codes, reason }
}

fn failed(zone: &str, e: &DnsFailure) -> Verdict {
    Verdict::Failed(format!("{zone}: {e}"))
}

/// Zone text is untrusted: one line, bounded.
fn clip(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    one_line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_names() {
        assert_eq!(
            query_name("192.0.2.10".parse().expect("ip"), "zen.spamhaus.org."),
            "10.2.0.192.zen.spamhaus.org"
        );
        assert_eq!(
            query_name("2001:db8::1".parse().expect("ip"), "bl.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example"
        );
    }

    #[test]
    fn answers() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().expect("ip");
        assert_eq!(read_answer("z", None), Verdict::NotListed);
        assert_eq!(
            read_answer(
                "z",
                Some(&[ip("127.0.0.4"), ip("127.0.0.2"), ip("127.0.0.4")])
            ),
            Verdict::Listed {
                codes: vec![ip("127.0.0.2"), ip("127.0.0.4")],
                reason: None
            }
        );
        for bad in [
            "127.255.255.254",
            "127.255.255.255",
            "127.255.255.252",
            "127.0.0.1",
            "8.8.8.8",
        ] {
            assert!(
                matches!(read_answer("z", Some(&[ip(bad)])), Verdict::Failed(_)),
                "{bad}"
            );
        }
        // One error code spoils the whole answer.
        assert!(matches!(
            read_answer("z", Some(&[ip("127.0.0.2"), ip("127.255.255.254")])),
            Verdict::Failed(_)
        ));
    }
}
