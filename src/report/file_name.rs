//! What a report's file name says. RFC 7489 §7.2.1.1 names report files
//! `receiver!policy-domain!begin!end[!unique-id].xml[.gz|.zip]`, and the big
//! receivers follow it for their attachments and zip members. When a report
//! lacks its policy domain, date range or reporter, a person reading it
//! would take them from the name; the parser does the same (with a warning).

/// The parts of an RFC 7489 report file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameHint {
    /// The name as found, for warnings.
    pub name: String,
    pub receiver: String,
    pub domain: String,
    pub begin: i64,
    pub end: i64,
}

/// The hint in `name` (a path, a zip member path or an attachment name),
/// or `None` when its last component does not follow the convention.
pub fn parse(name: &str) -> Option<NameHint> {
    let base = name.rsplit(['/', '\\', ':']).next()?.trim();
    let mut parts = base.split('!');
    let (receiver, domain) = (parts.next()?, parts.next()?);
    let begin = parts.next()?;
    // The end is followed by "!unique-id.ext" or directly by ".ext".
    let end = parts.next()?;
    let end = end.split_once('.').map_or(end, |(digits, _)| digits);
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (begin, end) = (number(begin)?, number(end)?);
    let domain = super::values::domain(domain)?;
    let plausible = |d: &str| {
        d.contains('.')
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    let receiver = receiver.trim();
    (begin <= end && plausible(&domain) && !receiver.is_empty()).then(|| NameHint {
        name: base.to_string(),
        receiver: receiver.to_string(),
        domain,
        begin,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_names_as_receivers_write_them() {
        let h = parse("google.com!example.com!1700000000!1700086399.xml.gz").unwrap();
        assert_eq!(
            (h.receiver.as_str(), h.domain.as_str(), h.begin, h.end),
            ("google.com", "example.com", 1700000000, 1700086399)
        );
        // A unique id after the end, a path before the name, a zip member.
        let h = parse("in/Mail.Example!Example.ORG!1436017600!1436103999!42.xml").unwrap();
        assert_eq!((h.domain.as_str(), h.end), ("example.org", 1436103999));
        let h = parse("a.zip:yahoo.com!ngyn.org!1436017600!1436103999.xml").unwrap();
        assert_eq!(
            (h.receiver.as_str(), h.name.as_str()),
            ("yahoo.com", "yahoo.com!ngyn.org!1436017600!1436103999.xml")
        );
    }

    #[test]
    fn other_names_say_nothing() {
        for name in [
            "report.xml",
            "dmarc-invalid-2.xml",
            "google.com!example.com!yesterday!today.xml",
            "google.com!example.com!1700086399!1700000000.xml", // end before begin
            "google.com!localhost!1700000000!1700086399.xml",
            "!example.com!1700000000!1700086399.xml",
            "google.com!example.com!1700000000.xml",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }

    proptest::proptest! {
        /// Any name, however odd (attachment names come from strangers):
        /// no panic, and a hint only when it holds together.
        #[test]
        fn any_name_is_safe(name in "\\PC{0,80}", parts in proptest::collection::vec("[a-z0-9.!-]{0,12}", 0..7)) {
            for candidate in [name.clone(), parts.join("!")] {
                if let Some(h) = parse(&candidate) {
                    proptest::prop_assert!(h.begin <= h.end);
                    proptest::prop_assert!(h.domain.contains('.'));
                    proptest::prop_assert!(!h.receiver.is_empty());
                }
            }
        }
    }
}
