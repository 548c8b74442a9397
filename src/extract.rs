//! One unit (file, stream or e-mail) → reports into a [`ReportSink`]: sniff
//! whether the bytes are a container/XML or an e-mail, take the e-mail apart,
//! unpack each candidate part and parse each document. Collects one line per
//! problem, each naming where in the unit it happened.

use crate::mail;
use crate::report::{self, Flow, ParseOptions, Record, ReportError, ReportHeader, ReportSink};
use crate::source::Body;
use crate::unpack::{self, Container, Limits, UnpackError};
use std::io::{BufRead, Read};

/// What one unit gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Reports read whole (duplicates included).
    pub reports: usize,
    pub records: u64,
    /// One line per problem: "attachment x.zip, member a.xml: why".
    pub errors: Vec<String>,
}

impl Outcome {
    /// True when the unit yielded no report: it counts as failed.
    pub fn failed(&self) -> bool {
        self.reports == 0
    }

    /// The error text for a unit that yielded nothing.
    pub fn error_text(&self) -> String {
        if self.errors.is_empty() {
            "no DMARC aggregate report found".to_string()
        } else {
            self.errors.join("; ")
        }
    }
}

/// Size limits and the largest e-mail read into memory.
#[derive(Debug, Clone)]
pub struct ExtractLimits {
    pub unpack: Limits,
    pub max_message_bytes: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            unpack: Limits::default(),
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Read every report in `body` into `sink`. `Err` only when the sink fails.
pub fn read_unit<S: ReportSink>(
    mut body: Body,
    limits: &ExtractLimits,
    sink: &mut S,
) -> Result<Outcome, S::Error> {
    read_unit_ref(&mut body, None, limits, sink)
}

/// [`read_unit`] leaving the body with the caller (who may keep its bytes).
/// `file_name` is the unit's file name, when it has one: an RFC 7489 name
/// fills in what a report inside lacks (see [`report::file_name`]).
pub fn read_unit_ref<S: ReportSink>(
    body: &mut Body,
    file_name: Option<&str>,
    limits: &ExtractLimits,
    sink: &mut S,
) -> Result<Outcome, S::Error> {
    let mut out = Outcome::default();
    match body {
        Body::Message(bytes) => read_message(bytes, limits, sink, &mut out)?,
        Body::Reader(reader) => {
            let prefix = match reader.fill_buf() {
                Ok(p) => p,
                Err(e) => {
                    out.errors.push(format!("cannot read: {e}"));
                    return Ok(out);
                }
            };
            if unpack::sniff(prefix) != Container::Unknown {
                let options = ParseOptions::default();
                let place = Place {
                    label: "",
                    name: file_name,
                };
                read_documents(reader, place, &options, limits, sink, &mut out)?;
            } else {
                match read_bounded(reader, limits.max_message_bytes) {
                    Ok(bytes) => read_message(&bytes, limits, sink, &mut out)?,
                    Err(e) => out.errors.push(e),
                }
            }
        }
    }
    Ok(out)
}

fn read_bounded(reader: &mut dyn Read, max: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "e-mail larger than {} MB; not read (raise [limits] max_message_bytes)",
            max / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

/// An e-mail: every candidate part that sniffs as a container or XML.
fn read_message<S: ReportSink>(
    raw: &[u8],
    limits: &ExtractLimits,
    sink: &mut S,
    out: &mut Outcome,
) -> Result<(), S::Error> {
    let message = match mail::parse_message(raw) {
        Ok(m) => m,
        Err(e) => {
            out.errors.push(e.to_string());
            return Ok(());
        }
    };
    let options = ParseOptions {
        reporter_hint: message.from_domain.clone(),
        name_hint: None,
    };
    let mut candidates = 0;
    for (i, part) in message.parts.iter().enumerate() {
        if unpack::sniff(&part.bytes) == Container::Unknown {
            continue;
        }
        candidates += 1;
        let label = match &part.name {
            Some(name) => format!("attachment {name:?}"),
            None => format!("part {}", i + 1),
        };
        let mut bytes = part.bytes.as_slice();
        let place = Place {
            label: &label,
            name: part.name.as_deref(),
        };
        read_documents(&mut bytes, place, &options, limits, sink, out)?;
    }
    if candidates == 0 {
        // Content types are the sender's text: escaped, so the error
        // stays one line.
        let types: Vec<String> = message
            .parts
            .iter()
            .filter_map(|p| p.content_type.as_deref())
            .map(|t| t.escape_debug().to_string())
            .collect();
        out.errors.push(if types.is_empty() {
            "no report attachment in the e-mail".to_string()
        } else {
            format!(
                "no report attachment in the e-mail (parts: {})",
                types.join(", ")
            )
        });
    }
    Ok(())
}

/// Errors that stop reading a container: its own, or the sink's.
enum Stop<E> {
    Unpack(UnpackError),
    Sink(E),
}

impl<E> From<UnpackError> for Stop<E> {
    fn from(e: UnpackError) -> Self {
        Stop::Unpack(e)
    }
}

/// Where a container came from: the label for messages ("attachment
/// \"x.zip\"", or nothing for a file) and its file or attachment name.
#[derive(Clone, Copy)]
struct Place<'a> {
    label: &'a str,
    name: Option<&'a str>,
}

fn read_documents<S: ReportSink>(
    input: &mut dyn Read,
    at: Place<'_>,
    options: &ParseOptions,
    limits: &ExtractLimits,
    sink: &mut S,
    out: &mut Outcome,
) -> Result<(), S::Error> {
    let label = at.label;
    let mut on_document = |doc: unpack::Document<'_>| -> Result<(), Stop<S::Error>> {
        let place = join_place(label, doc.name);
        // The zip member's name, else the attachment's or file's.
        let name_hint = report::file_name::parse(doc.name)
            .or_else(|| at.name.and_then(report::file_name::parse));
        let options = ParseOptions {
            name_hint,
            ..options.clone()
        };
        let mut located = Located {
            sink: &mut *sink,
            place: &place,
            errors: &mut out.errors,
        };
        let stats = report::parse(doc.reader, &options, &mut located).map_err(Stop::Sink)?;
        out.reports += stats.reports;
        out.records += stats.records;
        Ok(())
    };
    match unpack::for_each_document(input, &limits.unpack, &mut on_document) {
        Ok(_) => Ok(()),
        Err(Stop::Sink(e)) => Err(e),
        Err(Stop::Unpack(e)) => {
            out.errors.push(prefixed(label, &e.to_string()));
            Ok(())
        }
    }
}

fn join_place(label: &str, member: &str) -> String {
    match (label.is_empty(), member.is_empty()) {
        (_, true) => label.to_string(),
        (true, false) => format!("member {member:?}"),
        (false, false) => format!("{label}, member {member:?}"),
    }
}

fn prefixed(place: &str, message: &str) -> String {
    if place.is_empty() {
        message.to_string()
    } else {
        format!("{place}: {message}")
    }
}

/// Passes everything on, noting each failure with where it happened.
struct Located<'a, S> {
    sink: &'a mut S,
    place: &'a str,
    errors: &'a mut Vec<String>,
}

impl<S: ReportSink> ReportSink for Located<'_, S> {
    type Error = S::Error;

    fn header(&mut self, header: &ReportHeader) -> Result<Flow, S::Error> {
        self.sink.header(header)
    }

    fn record(&mut self, record: Record) -> Result<(), S::Error> {
        self.sink.record(record)
    }

    fn records(&mut self, batch: &mut Vec<Record>) -> Result<(), S::Error> {
        self.sink.records(batch)
    }

    fn end(&mut self, warnings: Vec<String>) -> Result<(), S::Error> {
        self.sink.end(warnings)
    }

    fn failed(&mut self, error: ReportError) -> Result<(), S::Error> {
        self.errors.push(prefixed(self.place, &error.to_string()));
        self.sink.failed(error)
    }
}
