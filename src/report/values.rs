//! Turning element text into field values: trimming, lower-casing the
//! enumerations, checking them against the RFC lists (a value outside is kept
//! and named in a warning), numbers that real reporters write oddly.

use super::model::Keyword;
use std::borrow::Cow;
use std::net::IpAddr;

/// The RFC 7489 / RFC 9990 values of each enumerated field.
pub mod allowed {
    pub const ALIGNMENT: &[&str] = &["r", "s"];
    pub const POLICY: &[&str] = &["none", "quarantine", "reject"];
    pub const DISPOSITION: &[&str] = &["none", "quarantine", "reject", "pass"];
    pub const DMARC_RESULT: &[&str] = &["pass", "fail"];
    pub const DKIM_RESULT: &[&str] = &[
        "none",
        "pass",
        "fail",
        "policy",
        "neutral",
        "temperror",
        "permerror",
    ];
    pub const SPF_RESULT: &[&str] = &[
        "none",
        "neutral",
        "pass",
        "fail",
        "softfail",
        "temperror",
        "permerror",
    ];
    pub const SPF_SCOPE: &[&str] = &["helo", "mfrom"];
    pub const REASON: &[&str] = &[
        "forwarded",
        "sampled_out",
        "trusted_forwarder",
        "mailing_list",
        "local_policy",
        "other",
    ];
    pub const TESTING: &[&str] = &["n", "y"];
    pub const DISCOVERY: &[&str] = &["psl", "treewalk"];
}

/// Trimmed text, `None` when empty.
pub fn text(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A domain name: trimmed, lower-cased, without a trailing dot.
pub fn domain(raw: &str) -> Option<String> {
    let t = raw.trim().trim_end_matches('.');
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

/// An enumerated value, matched without regard to case: the RFC's own
/// (lower-case, static) word. `Err` carries the value lower-cased when it is
/// outside `allowed` (the caller keeps it and warns).
pub fn enumerated(raw: &str, allowed: &[&'static str]) -> Result<Option<Keyword>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match allowed.iter().find(|a| a.eq_ignore_ascii_case(t)) {
        Some(word) => Ok(Some(Cow::Borrowed(word))),
        None => Err(t.to_ascii_lowercase()),
    }
}

/// Epoch seconds; tolerates `1538204542.0` and surrounding space.
pub fn epoch(raw: &str) -> Option<i64> {
    let t = raw.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    let f = t.parse::<f64>().ok()?;
    (f.is_finite() && f.abs() < 1e15).then_some(f.trunc() as i64)
}

/// A message count: a non-negative integer (`12.0` tolerated).
pub fn count(raw: &str) -> Option<u64> {
    let t = raw.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Some(v);
    }
    let f = t.parse::<f64>().ok()?;
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1e15).then_some(f as u64)
}

/// A source address in canonical form (`::ffff:1.2.3.4` stays IPv6, zones
/// and brackets are not expected). `Err` gives the trimmed raw text back.
pub fn ip(raw: &str) -> Result<Option<String>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<IpAddr>() {
        // Dotted quads parse only in their canonical form (no leading
        // zeros, no short forms): the text is the address as written.
        Ok(IpAddr::V4(_)) => Ok(Some(t.to_string())),
        Ok(ip) => Ok(Some(ip.to_string())),
        Err(_) => Err(t.to_string()),
    }
}

/// `<id@host>` and `<id>` report ids lose their angle brackets.
pub fn report_id(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t)
        .trim();
    (!t.is_empty()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_lower_cased_and_checked() {
        assert_eq!(
            enumerated(" Pass ", allowed::DMARC_RESULT),
            Ok(Some("pass".into()))
        );
        assert_eq!(enumerated("", allowed::DMARC_RESULT), Ok(None));
        assert_eq!(
            enumerated("HardFail", allowed::SPF_RESULT),
            Err("hardfail".into())
        );
    }

    #[test]
    fn numbers_as_reporters_write_them() {
        assert_eq!(epoch("1538204542.0"), Some(1538204542));
        assert_eq!(epoch(" 1700000000\n"), Some(1700000000));
        assert_eq!(epoch("yesterday"), None);
        assert_eq!(count("12"), Some(12));
        assert_eq!(count("3.0"), Some(3));
        assert_eq!(count("-1"), None);
        assert_eq!(count("2.5"), None);
    }

    #[test]
    fn ids_and_addresses() {
        assert_eq!(report_id(" <abc@host> "), Some("abc@host".into()));
        assert_eq!(report_id("<>"), None);
        assert_eq!(ip("2001:DB8:0:0::1"), Ok(Some("2001:db8::1".into())));
        assert_eq!(ip("192.0.2.300"), Err("192.0.2.300".into()));
        assert_eq!(ip(" 192.0.2.10\n"), Ok(Some("192.0.2.10".into())));
        // Not canonical, so not taken for an address (octal or decimal?).
        assert_eq!(ip("192.0.2.010"), Err("192.0.2.010".into()));
        assert_eq!(ip("3221225985"), Err("3221225985".into()));
        assert_eq!(domain(" Example.COM. "), Some("example.com".into()));
    }
}
