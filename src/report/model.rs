//! The values a DMARC aggregate report carries, as the rest of the program
//! sees them: plain owned data, enumerations lower-cased, absent values `None`.
//! Serialised as the `parse --json` shape of the interface spec.

use serde::Serialize;
use std::borrow::Cow;

/// An enumerated value (disposition, result, policy...): one of the RFC's
/// words, shared and never allocated, or the unknown text as the report
/// wrote it (lower-cased, with a warning).
pub type Keyword = Cow<'static, str>;

/// Which schema the report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RFC 7489 (and the older draft namespaces).
    Rfc7489,
    /// RFC 9990: namespace `urn:ietf:params:xml:ns:dmarc-2.0`.
    Rfc9990,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc7489 => "rfc7489",
            Format::Rfc9990 => "rfc9990",
        }
    }
}

/// `<policy_published>`: the DMARC record the receiver found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub domain: String,
    pub adkim: Option<Keyword>,
    pub aspf: Option<Keyword>,
    pub p: Option<Keyword>,
    pub sp: Option<Keyword>,
    pub np: Option<Keyword>,
    pub pct: Option<u32>,
    pub fo: Option<String>,
    pub testing: Option<Keyword>,
    pub discovery_method: Option<Keyword>,
}

/// Everything known before the first record: who reported, on what, when.
/// `(org_name, report_id, policy.domain, begin, end)` is a report's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportHeader {
    pub format: Format,
    pub org_name: String,
    pub email: Option<String>,
    pub extra_contact_info: Option<String>,
    pub report_id: String,
    pub begin: i64,
    pub end: i64,
    pub generator: Option<String>,
    /// `<error>` elements of report_metadata.
    pub errors: Vec<String>,
    pub policy: Policy,
}

/// `<reason>` of policy_evaluated (forwarded, local_policy, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reason {
    #[serde(rename = "type")]
    pub kind: Option<Keyword>,
    pub comment: Option<String>,
}

/// One `<dkim>` of auth_results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DkimResult {
    pub domain: Option<String>,
    pub selector: Option<String>,
    pub result: Option<Keyword>,
    pub human_result: Option<String>,
}

/// One `<spf>` of auth_results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpfResult {
    pub domain: Option<String>,
    pub scope: Option<Keyword>,
    pub result: Option<Keyword>,
    pub human_result: Option<String>,
}

/// One `<record>`: a source IP and what happened to its `count` messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Record {
    pub source_ip: Option<String>,
    pub count: u64,
    pub disposition: Option<Keyword>,
    pub dkim: Option<Keyword>,
    pub spf: Option<Keyword>,
    pub reasons: Vec<Reason>,
    pub header_from: Option<String>,
    pub envelope_from: Option<String>,
    pub envelope_to: Option<String>,
    pub dkim_results: Vec<DkimResult>,
    pub spf_results: Vec<SpfResult>,
}

impl Record {
    /// DMARC passes when policy_evaluated says dkim = pass or spf = pass.
    pub fn dmarc_pass(&self) -> bool {
        self.dkim.as_deref() == Some("pass") || self.spf.as_deref() == Some("pass")
    }
}

/// A whole report in memory: for tests, `parse --json` and small inputs.
/// Large inputs go through [`super::ReportSink`] record by record instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub header: ReportHeader,
    pub records: Vec<Record>,
    pub warnings: Vec<String>,
}
