//! What is known of the common blocklist zones: where to ask for removal,
//! and what their return codes mean. Used in the words of the alerts only;
//! any zone works without an entry here.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Spamhaus,
    Barracuda,
    SpamCop,
    Mailspike,
    Uceprotect,
    Psbl,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("spamhaus.org", Operator::Spamhaus),
    ("spamhaus.net", Operator::Spamhaus),
    ("barracudacentral.org", Operator::Barracuda),
    ("spamcop.net", Operator::SpamCop),
    ("mailspike.net", Operator::Mailspike),
    ("uceprotect.net", Operator::Uceprotect),
    ("psbl.surriel.com", Operator::Psbl),
];

fn operator(zone: &str) -> Option<Operator> {
    let zone = zone.trim_matches('.').to_ascii_lowercase();
    OPERATORS
        .iter()
        .find(|(domain, _)| {
            zone == *domain
                || zone
                    .strip_suffix(domain)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
        .map(|(_, op)| *op)
}

/// The operator's lookup / removal page for `zone`, when known.
pub fn delisting_page(zone: &str) -> Option<&'static str> {
    Some(match operator(zone)? {
        Operator::Spamhaus => "https://check.spamhaus.org/",
        Operator::Barracuda => "https://www.barracudacentral.org/rbl/removal-request",
        Operator::SpamCop => "https://www.spamcop.net/bl.shtml",
        Operator::Mailspike => "https://mailspike.org/",
        Operator::Uceprotect => "https://www.uceprotect.net/en/rblcheck.php",
        Operator::Psbl => "https://psbl.org/",
    })
}

/// What a return code (`127.0.0.4`; the first of a list) means on `zone`.
pub fn code_meaning(zone: &str, code: &str) -> Option<&'static str> {
    let first = code.split(',').next()?;
    let last: u8 = first.rsplit('.').next()?.trim().parse().ok()?;
    match operator(zone)? {
        Operator::Spamhaus => match last {
            2 => Some("Spamhaus SBL: a known spam source or spam operation"),
            3 => Some("Spamhaus CSS: recently sent low-reputation, snowshoe mail"),
            4..=7 => Some("Spamhaus XBL: the host looks infected or hijacked, e.g. by a bot"),
            9 => Some("Spamhaus DROP: a hijacked or criminal network"),
            10 | 11 => Some("Spamhaus PBL: an end-user range that should not send mail directly"),
            _ => None,
        },
        Operator::SpamCop => {
            Some("SpamCop: recipients reported spam from it; it expires 24 h after the last report")
        }
        Operator::Barracuda => Some("Barracuda BRBL: poor sending reputation"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones() {
        assert_eq!(
            delisting_page("zen.spamhaus.org."),
            Some("https://check.spamhaus.org/")
        );
        assert_eq!(delisting_page("notspamhaus.org"), None);
        assert!(code_meaning("zen.spamhaus.org", "127.0.0.4").is_some_and(|m| m.contains("XBL")));
        assert!(code_meaning("zen.spamhaus.org", "127.0.0.10").is_some_and(|m| m.contains("PBL")));
        assert_eq!(code_meaning("bl.example.net", "127.0.0.2"), None);
    }
}
