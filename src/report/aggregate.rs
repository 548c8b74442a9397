//! The streaming aggregate-report reader: quick-xml events → a state machine
//! over a stack of [`Tag`]s → [`ReportSink`] calls. One pass, no DOM; memory
//! holds one record at a time (plus the records of a report whose metadata
//! comes after them, which real reporters do not do).
//!
//! Tolerance rules: names match by local name, any case; end tags close up to
//! the matching open element (stray and mismatched ends are tolerated); XML
//! syntax errors become warnings while the reader can go on; a document that
//! ends early keeps what was read, with a warning (a record it cuts short is
//! skipped, also with a warning). Strictness: a report needs reporter, report
//! id, policy domain and date range.

use super::model::{DkimResult, Format, Keyword, Policy, Reason, Record, ReportHeader, SpfResult};
use super::tags::Tag;
use super::text::Utf8Reader;
use super::values::{self, allowed};
use super::{Flow, ParseOptions, ReportError, ReportSink};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::BufRead;

const RFC9990_NAMESPACE: &str = "urn:ietf:params:xml:ns:dmarc-2.0";
/// Warnings kept per report; the rest are counted.
const MAX_WARNINGS: usize = 100;
/// XML syntax errors tolerated in one input before it is given up.
const MAX_SYNTAX_ERRORS: usize = 50;

/// What [`parse`] found in one input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ParseStats {
    /// Reports handed to the sink (header, records, end).
    pub reports: usize,
    /// Reports (or the whole input) given to `sink.failed`.
    pub failed: usize,
    /// Records handed to the sink.
    pub records: u64,
}

/// Read every `<feedback>` in `input` and hand them to `sink`.
/// Each report gets `header`, its records, then `end` — or `failed`.
/// An input with no report at all gets one `failed` call.
pub fn parse<R: BufRead, S: ReportSink>(
    input: R,
    options: &ParseOptions,
    sink: &mut S,
) -> Result<ParseStats, S::Error> {
    let mut reader = Reader::from_reader(Utf8Reader::new(input));
    let config = reader.config_mut();
    config.trim_text(true);
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut parser = Parser::new(options);
    let mut buf = Vec::with_capacity(4096);
    let mut syntax_errors = 0usize;
    let mut replacements_noted = false;
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf);
        // Noted as soon as the decoder meets them, so the warning goes to the
        // report being read (not after its end, where it would be lost).
        if !replacements_noted && reader.get_ref().had_replacements() {
            replacements_noted = true;
            parser.warn("invalid bytes for the encoding were replaced with U+FFFD".into());
        }
        match event {
            Ok(Event::Start(e)) => parser.start(&e, sink)?,
            Ok(Event::Empty(e)) => {
                parser.start(&e, sink)?;
                parser.end_innermost(sink)?;
            }
            Ok(Event::End(e)) => parser.end(Tag::from_name(e.name().into_inner()), sink)?,
            Ok(Event::Text(t)) => parser.text(&t.xml10_content()),
            Ok(Event::CData(t)) => parser.text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => parser.entity(&r),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(quick_xml::Error::Io(e)) => {
                parser.io_error(e.to_string(), sink)?;
                break;
            }
            Err(e) => {
                syntax_errors += 1;
                let at = reader.error_position();
                parser.warn(format!("XML error at byte {at}: {e}"));
                if syntax_errors >= MAX_SYNTAX_ERRORS {
                    parser.abort(
                        ReportError::Xml(format!(
                            "gave up after {syntax_errors} XML errors; last at byte {at}: {e}"
                        )),
                        sink,
                    )?;
                    break;
                }
            }
        }
    }
    parser.finish(sink)
}

/// One open report: its header as far as read, and records waiting for it.
#[derive(Default)]
struct Draft {
    format: Option<Format>,
    org_name: Option<String>,
    email: Option<String>,
    extra_contact_info: Option<String>,
    report_id: Option<String>,
    begin: Option<i64>,
    end: Option<i64>,
    bad_dates: Vec<String>,
    generator: Option<String>,
    errors: Vec<String>,
    policy: Policy,
    metadata_done: bool,
    policy_done: bool,
    /// `Some(flow)` once the header was handed to the sink.
    emitted: Option<Flow>,
    /// Records read before the header was complete.
    waiting: Vec<Record>,
    records_seen: u64,
    records_emitted: u64,
    warnings: Vec<String>,
    warnings_dropped: usize,
}

struct Parser<'o> {
    options: &'o ParseOptions,
    stack: Vec<Tag>,
    text: String,
    draft: Option<Draft>,
    record: Option<Record>,
    /// Warnings seen outside any report (attached to the next one).
    loose_warnings: Vec<String>,
    stats: ParseStats,
    /// The first element name of the input, for the "not a report" error.
    root: Option<String>,
}

impl<'o> Parser<'o> {
    fn new(options: &'o ParseOptions) -> Self {
        Parser {
            options,
            stack: Vec::with_capacity(16),
            text: String::new(),
            draft: None,
            record: None,
            loose_warnings: Vec::new(),
            stats: ParseStats::default(),
            root: None,
        }
    }

    fn parent(&self) -> Tag {
        self.stack
            .len()
            .checked_sub(2)
            .map_or(Tag::Other, |i| self.stack[i])
    }

    fn in_extensions(&self) -> bool {
        self.stack.contains(&Tag::Extensions)
    }

    fn warn(&mut self, message: String) {
        match self.draft.as_mut() {
            Some(d) => push_warning(d, message),
            None if self.loose_warnings.len() < MAX_WARNINGS => self.loose_warnings.push(message),
            None => {}
        }
    }

    fn record_warn(&mut self, message: String) {
        let n = self.draft.as_ref().map_or(0, |d| d.records_seen);
        self.warn(format!("record {n}: {message}"));
    }

    fn draft(&mut self) -> &mut Draft {
        let loose = &mut self.loose_warnings;
        self.draft.get_or_insert_with(|| Draft {
            warnings: std::mem::take(loose),
            ..Draft::default()
        })
    }

    fn start<S: ReportSink>(&mut self, e: &BytesStart<'_>, sink: &mut S) -> Result<(), S::Error> {
        // `<report_id>abc/report_id>` followed by the next element: the
        // broken end tag closes its element here.
        if let (Some(&top), false) = (self.stack.last(), self.text.is_empty()) {
            if strip_broken_close(&self.text, top).len() < self.text.len() {
                self.end_innermost(sink)?;
            }
        }
        let name = e.name().into_inner();
        if self.root.is_none() {
            self.root = Some(name.chars().take(64).collect());
        }
        let tag = Tag::from_name(name);
        self.text.clear();
        let parent = self.stack.last().copied().unwrap_or(Tag::Other);
        self.stack.push(tag);
        if self.in_extensions() {
            return Ok(());
        }
        match tag {
            Tag::Feedback => {
                if self.draft.is_some() {
                    self.warn("a new <feedback> began before the previous one ended".into());
                    self.finish_report(sink)?;
                }
                let format = namespace_format(e);
                self.draft().format = Some(format);
            }
            Tag::ReportMetadata | Tag::PolicyPublished => {
                self.draft();
            }
            Tag::Record => {
                self.close_record(sink)?;
                self.draft().records_seen += 1;
                self.record = Some(Record::default());
            }
            Tag::Dkim if parent == Tag::AuthResults => {
                if let Some(r) = self.record.as_mut() {
                    r.dkim_results.push(DkimResult::default());
                }
            }
            Tag::Spf if parent == Tag::AuthResults => {
                if let Some(r) = self.record.as_mut() {
                    r.spf_results.push(SpfResult::default());
                }
            }
            Tag::Reason if parent == Tag::PolicyEvaluated => {
                if let Some(r) = self.record.as_mut() {
                    r.reasons.push(Reason::default());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, t: &str) {
        if self.text.len() + t.len() <= 64 * 1024 {
            self.text.push_str(t);
        }
    }

    fn entity(&mut self, r: &quick_xml::events::BytesRef<'_>) {
        let resolved = match r.resolve_char_ref() {
            Ok(Some(c)) => Some(c),
            _ => match r.xml10_content().as_ref() {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => None,
            },
        };
        match resolved {
            Some(c) => self.text.push(c),
            None => {
                let raw = format!("&{};", r.xml10_content());
                self.text(&raw);
            }
        }
    }

    /// An end tag: close everything up to the matching open element; an end
    /// tag that matches nothing open is ignored.
    fn end<S: ReportSink>(&mut self, tag: Tag, sink: &mut S) -> Result<(), S::Error> {
        if tag == Tag::Other && self.stack.last() != Some(&Tag::Other) {
            // A stray unknown end (e.g. of an unescaped `<a@b>` in a text).
            return Ok(());
        }
        if !self.stack.contains(&tag) {
            return Ok(());
        }
        while let Some(&top) = self.stack.last() {
            self.end_innermost(sink)?;
            if top == tag {
                break;
            }
        }
        Ok(())
    }

    /// Close the innermost open element, giving it the text read.
    fn end_innermost<S: ReportSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let Some(&tag) = self.stack.last() else {
            return Ok(());
        };
        let parent = self.parent();
        let text = std::mem::take(&mut self.text);
        if !self.in_extensions() {
            self.close(tag, parent, &text, sink)?;
        }
        self.stack.pop();
        self.text = text;
        self.text.clear();
        Ok(())
    }

    fn close<S: ReportSink>(
        &mut self,
        tag: Tag,
        parent: Tag,
        raw: &str,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        // `<report_id>abc/report_id>`: a closing tag that lost its `<`.
        let raw = strip_broken_close(raw, tag);
        match (parent, tag) {
            (Tag::ReportMetadata, _) => self.metadata_field(tag, raw),
            (Tag::DateRange, Tag::Begin | Tag::End) => {
                let v = values::epoch(raw);
                let d = self.draft();
                if v.is_none() && !raw.trim().is_empty() {
                    d.bad_dates.push(raw.trim().chars().take(40).collect());
                }
                if tag == Tag::Begin {
                    d.begin = d.begin.or(v);
                } else {
                    d.end = d.end.or(v);
                }
            }
            (Tag::PolicyPublished, _) => self.policy_field(tag, raw),
            (Tag::Row | Tag::Record, Tag::SourceIp | Tag::Count)
            | (Tag::PolicyEvaluated, _)
            | (Tag::Reason, _)
            | (Tag::Identifiers, _)
            | (Tag::Dkim | Tag::Spf, _) => self.record_field(parent, tag, raw),
            (_, Tag::ReportMetadata) => self.draft().metadata_done = true,
            (_, Tag::PolicyPublished) => {
                let d = self.draft();
                if d.policy_done {
                    push_warning(
                        d,
                        "<policy_published> repeated; the first one is kept".into(),
                    );
                }
                d.policy_done = true;
            }
            (_, Tag::Record) => self.close_record(sink)?,
            (_, Tag::Feedback) => self.finish_report(sink)?,
            _ => {}
        }
        if matches!(tag, Tag::ReportMetadata | Tag::PolicyPublished) {
            self.try_emit_header(sink)?;
        }
        Ok(())
    }

    fn metadata_field(&mut self, tag: Tag, raw: &str) {
        let d = self.draft();
        match tag {
            Tag::OrgName => set_once(&mut d.org_name, values::text(raw)),
            Tag::Email => set_once(&mut d.email, values::text(raw)),
            Tag::ExtraContactInfo => set_once(&mut d.extra_contact_info, values::text(raw)),
            Tag::ReportId => set_once(&mut d.report_id, values::report_id(raw)),
            Tag::Generator => set_once(&mut d.generator, values::text(raw)),
            Tag::Error => d.errors.extend(values::text(raw)),
            _ => {}
        }
    }

    fn policy_field(&mut self, tag: Tag, raw: &str) {
        if self.draft().policy_done {
            return; // a repeated <policy_published>: the first one stands
        }
        let (slot, allowed, name): (&mut Option<Keyword>, &[&'static str], &str) = {
            let p = &mut self.draft.get_or_insert_with(Draft::default).policy;
            match tag {
                Tag::Domain => {
                    if p.domain.is_empty() {
                        p.domain = values::domain(raw).unwrap_or_default();
                    }
                    return;
                }
                Tag::Pct => {
                    let t = raw.trim();
                    match t.parse::<u32>() {
                        Ok(v) => p.pct = Some(v),
                        Err(_) if t.is_empty() => {}
                        Err(_) => {
                            let msg = format!("policy pct {t:?} is not a number; ignored");
                            self.warn(msg);
                        }
                    }
                    return;
                }
                Tag::Fo => {
                    p.fo = values::text(raw);
                    return;
                }
                Tag::Adkim => (&mut p.adkim, allowed::ALIGNMENT, "adkim"),
                Tag::Aspf => (&mut p.aspf, allowed::ALIGNMENT, "aspf"),
                Tag::P => (&mut p.p, allowed::POLICY, "p"),
                Tag::Sp => (&mut p.sp, allowed::POLICY, "sp"),
                Tag::Np => (&mut p.np, allowed::POLICY, "np"),
                Tag::Testing => (&mut p.testing, allowed::TESTING, "testing"),
                Tag::DiscoveryMethod => (
                    &mut p.discovery_method,
                    allowed::DISCOVERY,
                    "discovery_method",
                ),
                _ => return,
            }
        };
        if let Some(w) = set_enumerated(slot, raw, allowed, &format!("policy {name}")) {
            self.warn(w);
        }
    }

    fn record_field(&mut self, parent: Tag, tag: Tag, raw: &str) {
        let Some(r) = self.record.as_mut() else {
            return;
        };
        let warning = match (parent, tag) {
            (_, Tag::SourceIp) => match values::ip(raw) {
                Ok(v) => {
                    r.source_ip = v;
                    None
                }
                Err(bad) => {
                    let w = format!("source_ip {bad:?} is not an IP address; kept as is");
                    r.source_ip = Some(bad);
                    Some(w)
                }
            },
            (_, Tag::Count) => {
                // A missing or bad count is caught when the record closes.
                r.count = values::count(raw).unwrap_or(u64::MAX);
                None
            }
            (Tag::PolicyEvaluated, Tag::Disposition) => {
                set_enumerated(&mut r.disposition, raw, allowed::DISPOSITION, "disposition")
            }
            (Tag::PolicyEvaluated, Tag::Dkim) => set_enumerated(
                &mut r.dkim,
                raw,
                allowed::DMARC_RESULT,
                "policy_evaluated dkim",
            ),
            (Tag::PolicyEvaluated, Tag::Spf) => set_enumerated(
                &mut r.spf,
                raw,
                allowed::DMARC_RESULT,
                "policy_evaluated spf",
            ),
            (Tag::PolicyEvaluated, Tag::Reason) => {
                // `<reason><type/></reason>` says nothing: not kept.
                if r.reasons.last() == Some(&Reason::default()) {
                    r.reasons.pop();
                }
                None
            }
            (Tag::Reason, Tag::Type) => match r.reasons.last_mut() {
                Some(reason) => {
                    set_enumerated(&mut reason.kind, raw, allowed::REASON, "reason type")
                }
                None => None,
            },
            (Tag::Reason, Tag::Comment) => {
                if let Some(reason) = r.reasons.last_mut() {
                    reason.comment = values::text(raw);
                }
                None
            }
            (Tag::Identifiers, Tag::HeaderFrom) => {
                r.header_from = values::domain(raw);
                None
            }
            (Tag::Identifiers, Tag::EnvelopeFrom) => {
                r.envelope_from = values::domain(raw);
                None
            }
            (Tag::Identifiers, Tag::EnvelopeTo) => {
                r.envelope_to = values::domain(raw);
                None
            }
            (Tag::Dkim, _) => match r.dkim_results.last_mut() {
                Some(d) => match tag {
                    Tag::Domain => {
                        d.domain = values::domain(raw);
                        None
                    }
                    Tag::Selector => {
                        d.selector = values::text(raw);
                        None
                    }
                    Tag::Result => {
                        set_enumerated(&mut d.result, raw, allowed::DKIM_RESULT, "dkim result")
                    }
                    Tag::HumanResult => {
                        d.human_result = values::text(raw);
                        None
                    }
                    _ => None,
                },
                None => None,
            },
            (Tag::Spf, _) => match r.spf_results.last_mut() {
                Some(s) => match tag {
                    Tag::Domain => {
                        s.domain = values::domain(raw);
                        None
                    }
                    Tag::Scope => {
                        set_enumerated(&mut s.scope, raw, allowed::SPF_SCOPE, "spf scope")
                    }
                    Tag::Result => {
                        set_enumerated(&mut s.result, raw, allowed::SPF_RESULT, "spf result")
                    }
                    Tag::HumanResult => {
                        s.human_result = values::text(raw);
                        None
                    }
                    _ => None,
                },
                None => None,
            },
            _ => None,
        };
        if let Some(w) = warning {
            self.record_warn(w);
        }
    }

    /// A `<record>` ended (or the input did while one was open).
    fn close_record<S: ReportSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let Some(record) = self.record.take() else {
            return Ok(());
        };
        if record.count == u64::MAX {
            self.record_warn("<count> is missing or not a number; record skipped".into());
            return Ok(());
        }
        if record.source_ip.is_none() {
            self.record_warn("no <source_ip>".into());
        }
        let Some(d) = self.draft.as_mut() else {
            return Ok(());
        };
        match d.emitted {
            None => d.waiting.push(record),
            Some(Flow::Records) => {
                d.records_emitted += 1;
                self.stats.records += 1;
                sink.record(record)?;
            }
            Some(Flow::Skip) => d.records_emitted += 1,
        }
        Ok(())
    }

    /// Hand the header to the sink as soon as metadata and policy are read.
    fn try_emit_header<S: ReportSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let ready = self
            .draft
            .as_ref()
            .is_some_and(|d| d.emitted.is_none() && d.metadata_done && d.policy_done);
        if !ready {
            return Ok(());
        }
        match self.build_header() {
            Ok(header) => self.emit_header(header, sink),
            // Not fatal yet: report it when the report ends.
            Err(_) => Ok(()),
        }
    }

    fn emit_header<S: ReportSink>(
        &mut self,
        header: ReportHeader,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let flow = sink.header(&header)?;
        let Some(d) = self.draft.as_mut() else {
            return Ok(());
        };
        d.emitted = Some(flow);
        let waiting = std::mem::take(&mut d.waiting);
        d.records_emitted += waiting.len() as u64;
        if flow == Flow::Records {
            self.stats.records += waiting.len() as u64;
            for r in waiting {
                sink.record(r)?;
            }
        }
        Ok(())
    }

    fn build_header(&mut self) -> Result<ReportHeader, ReportError> {
        let hint = self.options.reporter_hint.clone();
        let named = self.options.name_hint.as_ref();
        let d = self.draft.get_or_insert_with(Draft::default);
        let email_domain = d
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .and_then(|(_, dom)| values::domain(dom.trim_end_matches('>')));
        // What comes from the file name is said in a warning, once the
        // header is whole.
        let mut from_name: Vec<&str> = Vec::new();
        let org_name = match d.org_name.clone().or(email_domain).or(hint) {
            Some(name) => Some(name),
            None => named.map(|n| {
                from_name.push("reporter");
                n.receiver.clone()
            }),
        };
        let id_hint = d.report_id.clone();
        let missing = |what: &'static str| ReportError::Missing {
            what,
            report_id: id_hint.clone(),
        };
        let org_name = org_name.ok_or_else(|| missing("reporter (<org_name> and <email>)"))?;
        let report_id = d.report_id.clone().ok_or_else(|| missing("<report_id>"))?;
        let mut policy = d.policy.clone();
        if policy.domain.is_empty() {
            let n = named.ok_or_else(|| missing("policy domain (<policy_published><domain>)"))?;
            from_name.push("policy domain");
            policy.domain = n.domain.clone();
        }
        let (begin, end) = match (d.begin, d.end, named) {
            (Some(begin), Some(end), _) => (begin, end),
            (_, _, Some(n)) => {
                from_name.push("date range");
                (n.begin, n.end)
            }
            _ => {
                if let Some(bad) = d.bad_dates.first() {
                    return Err(ReportError::BadDate {
                        value: bad.clone(),
                        report_id,
                    });
                }
                return Err(missing("date range (<date_range><begin>/<end>)"));
            }
        };
        if let (false, Some(n)) = (from_name.is_empty(), named) {
            let message = format!(
                "{} taken from the file name {:?} (the report does not give it)",
                from_name.join(", "),
                n.name
            );
            push_warning(d, message);
        }
        Ok(ReportHeader {
            format: d.format.unwrap_or(Format::Rfc7489),
            org_name,
            email: d.email.clone(),
            extra_contact_info: d.extra_contact_info.clone(),
            report_id,
            begin,
            end,
            generator: d.generator.clone(),
            errors: d.errors.clone(),
            policy,
        })
    }

    /// The current report is over (its `</feedback>`, a new `<feedback>`,
    /// or the end of the input).
    fn finish_report<S: ReportSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        self.close_record(sink)?;
        if self.draft.is_none() {
            return Ok(());
        }
        if self.draft.as_ref().is_some_and(|d| d.emitted.is_none()) {
            match self.build_header() {
                Ok(header) => self.emit_header(header, sink)?,
                Err(e) => {
                    self.draft = None;
                    self.stats.failed += 1;
                    return sink.failed(e);
                }
            }
        }
        let Some(mut d) = self.draft.take() else {
            return Ok(());
        };
        if let Some(b) = d.begin.zip(d.end).filter(|(b, e)| e < b) {
            push_warning(
                &mut d,
                format!("date range ends ({}) before it begins ({})", b.1, b.0),
            );
        }
        if d.warnings_dropped > 0 {
            d.warnings
                .push(format!("... and {} more warnings", d.warnings_dropped));
        }
        self.stats.reports += 1;
        sink.end(d.warnings)
    }

    /// A read error (decompression, size limit): the open report cannot be
    /// trusted, so it fails whole.
    fn io_error<S: ReportSink>(&mut self, message: String, sink: &mut S) -> Result<(), S::Error> {
        self.abort(ReportError::Io(message), sink)
    }

    fn abort<S: ReportSink>(&mut self, error: ReportError, sink: &mut S) -> Result<(), S::Error> {
        self.record = None;
        self.draft = None;
        self.stack.clear();
        self.stats.failed += 1;
        sink.failed(error)
    }

    /// End of input: close what is open, and say so if nothing was found.
    fn finish<S: ReportSink>(mut self, sink: &mut S) -> Result<ParseStats, S::Error> {
        if let Some(open) = self.stack.iter().rev().find(|t| **t != Tag::Other) {
            if self.draft.is_some() {
                let open = format!("{open:?}");
                self.warn(format!(
                    "the input ends inside <{}>: the report is truncated; what was read is kept",
                    snake_case(&open)
                ));
                if self.record.take().is_some() {
                    self.record_warn("the input ends inside this record; record skipped".into());
                }
            }
        }
        self.finish_report(sink)?;
        if self.stats.reports == 0 && self.stats.failed == 0 {
            self.stats.failed += 1;
            let error = match self.root.take() {
                Some(root) => ReportError::NotAggregate { root },
                None => ReportError::Empty,
            };
            sink.failed(error)?;
        }
        Ok(self.stats)
    }
}

fn push_warning(d: &mut Draft, message: String) {
    if d.warnings.len() < MAX_WARNINGS {
        d.warnings.push(message);
    } else {
        d.warnings_dropped += 1;
    }
}

fn set_once(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// Store an enumerated value; a value outside the RFC is kept and the
/// warning text returned.
fn set_enumerated(
    slot: &mut Option<Keyword>,
    raw: &str,
    allowed: &[&'static str],
    what: &str,
) -> Option<String> {
    match values::enumerated(raw, allowed) {
        Ok(v) => {
            *slot = v;
            None
        }
        Err(v) => {
            let w = format!("unknown {what} {v:?} kept as is");
            *slot = Some(Keyword::Owned(v));
            Some(w)
        }
    }
}

fn namespace_format(e: &BytesStart<'_>) -> Format {
    let is_9990 = e
        .attributes()
        .flatten()
        .any(|a| a.key.as_ref().starts_with("xmlns") && a.value.as_ref() == RFC9990_NAMESPACE);
    if is_9990 {
        Format::Rfc9990
    } else {
        Format::Rfc7489
    }
}

/// `abc/report_id>` → `abc` when the element is `report_id`.
fn strip_broken_close(raw: &str, tag: Tag) -> &str {
    let trimmed = raw.trim_end();
    if !trimmed.ends_with('>') {
        return raw;
    }
    let Some(cut) = trimmed.rfind('/') else {
        return raw;
    };
    let name = &trimmed[cut + 1..trimmed.len() - 1];
    if tag != Tag::Other && Tag::from_name(name) == tag {
        &raw[..cut]
    } else {
        raw
    }
}

/// `PolicyPublished` → `policy_published`, for messages.
fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
