//! The element names of aggregate reports, matched by local name (any
//! namespace prefix dropped) and case-insensitively, as one small enum so the
//! parser's state is a stack of integers, not of strings.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Feedback,
    Version,
    ReportMetadata,
    OrgName,
    Email,
    ExtraContactInfo,
    ReportId,
    DateRange,
    Begin,
    End,
    Error,
    Generator,
    PolicyPublished,
    Domain,
    Adkim,
    Aspf,
    P,
    Sp,
    Np,
    Pct,
    Fo,
    Testing,
    DiscoveryMethod,
    Record,
    Row,
    SourceIp,
    Count,
    PolicyEvaluated,
    Disposition,
    Dkim,
    Spf,
    Reason,
    Type,
    Comment,
    Identifiers,
    HeaderFrom,
    EnvelopeFrom,
    EnvelopeTo,
    AuthResults,
    Selector,
    Scope,
    Result,
    HumanResult,
    Extensions,
    Other,
}

impl Tag {
    /// `name` may carry a prefix (`ns1:feedback`); case does not matter.
    pub fn from_name(name: &str) -> Tag {
        let bytes = name.as_bytes();
        let local = match bytes.iter().rposition(|&b| b == b':') {
            Some(i) => &bytes[i + 1..],
            None => bytes,
        };
        // Nearly every report writes lower case: match as is first.
        match Tag::from_lower(local) {
            Tag::Other if local.iter().any(u8::is_ascii_uppercase) => {
                let mut buf = [0u8; 24];
                if local.len() > buf.len() {
                    return Tag::Other;
                }
                let lower = &mut buf[..local.len()];
                lower.copy_from_slice(local);
                lower.make_ascii_lowercase();
                Tag::from_lower(lower)
            }
            tag => tag,
        }
    }

    fn from_lower(lower: &[u8]) -> Tag {
        match lower {
            b"feedback" => Tag::Feedback,
            b"version" => Tag::Version,
            b"report_metadata" => Tag::ReportMetadata,
            b"org_name" => Tag::OrgName,
            b"email" => Tag::Email,
            b"extra_contact_info" => Tag::ExtraContactInfo,
            b"report_id" => Tag::ReportId,
            b"date_range" => Tag::DateRange,
            b"begin" => Tag::Begin,
            b"end" => Tag::End,
            b"error" => Tag::Error,
            b"generator" => Tag::Generator,
            b"policy_published" => Tag::PolicyPublished,
            b"domain" => Tag::Domain,
            b"adkim" => Tag::Adkim,
            b"aspf" => Tag::Aspf,
            b"p" => Tag::P,
            b"sp" => Tag::Sp,
            b"np" => Tag::Np,
            b"pct" => Tag::Pct,
            b"fo" => Tag::Fo,
            b"testing" => Tag::Testing,
            b"discovery_method" => Tag::DiscoveryMethod,
            b"record" => Tag::Record,
            b"row" => Tag::Row,
            b"source_ip" => Tag::SourceIp,
            b"count" => Tag::Count,
            b"policy_evaluated" => Tag::PolicyEvaluated,
            b"disposition" => Tag::Disposition,
            b"dkim" => Tag::Dkim,
            b"spf" => Tag::Spf,
            b"reason" => Tag::Reason,
            b"type" => Tag::Type,
            b"comment" => Tag::Comment,
            b"identifiers" | b"identities" => Tag::Identifiers,
            b"header_from" => Tag::HeaderFrom,
            b"envelope_from" => Tag::EnvelopeFrom,
            b"envelope_to" => Tag::EnvelopeTo,
            b"auth_results" => Tag::AuthResults,
            b"selector" => Tag::Selector,
            b"scope" => Tag::Scope,
            b"result" => Tag::Result,
            b"human_result" => Tag::HumanResult,
            b"extensions" | b"extension" => Tag::Extensions,
            _ => Tag::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tag;

    #[test]
    fn prefix_and_case_are_ignored() {
        assert_eq!(Tag::from_name("ns1:Feedback"), Tag::Feedback);
        assert_eq!(Tag::from_name("REPORT_METADATA"), Tag::ReportMetadata);
        assert_eq!(Tag::from_name("identities"), Tag::Identifiers);
        assert_eq!(Tag::from_name("xs:schema"), Tag::Other);
        assert_eq!(
            Tag::from_name("a_very_long_element_name_beyond_the_buffer"),
            Tag::Other
        );
    }
}
