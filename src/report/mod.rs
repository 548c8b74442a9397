//! DMARC aggregate reports (RFC 7489 and RFC 9990): the data model and the
//! streaming, tolerant XML reader. A pure function of bytes: no I/O beyond
//! the reader it is given, no clock, no config.

mod aggregate;
pub mod file_name;
pub mod model;
pub mod relay;
mod tags;
pub mod text;
pub mod values;

pub use aggregate::{parse, ParseStats};
pub use model::{
    DkimResult, Format, Keyword, Policy, Reason, Record, Report, ReportHeader, SpfResult,
};

use std::convert::Infallible;
use std::io::BufRead;

/// What the caller knows about the input that the XML may lack.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Reporter name to use when `<org_name>` and `<email>` are empty
    /// (the domain of the e-mail's From address).
    pub reporter_hint: Option<String>,
    /// What the document's file name says, when it follows RFC 7489's
    /// naming: policy domain, date range and receiver for a report that
    /// lacks them.
    pub name_hint: Option<file_name::NameHint>,
}

/// After a report's header, whether the sink wants its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Records,
    /// e.g. a report already stored: its records are read but not handed over.
    Skip,
}

/// Why a report (or a whole input) yielded nothing. One line, no file name
/// (the caller says which input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("report{} has no {what}", id_suffix(.report_id))]
    Missing {
        what: &'static str,
        report_id: Option<String>,
    },
    #[error("report {report_id:?} has a date that is not epoch seconds: {value:?}")]
    BadDate { value: String, report_id: String },
    #[error("no DMARC aggregate report found: the XML root element is <{root}>, not <feedback>")]
    NotAggregate { root: String },
    #[error("no DMARC aggregate report found: the input holds no XML element")]
    Empty,
    #[error("unreadable XML: {0}")]
    Xml(String),
    #[error("{0}")]
    Io(String),
}

fn id_suffix(id: &Option<String>) -> String {
    id.as_ref().map(|i| format!(" {i:?}")).unwrap_or_default()
}

/// Receives reports as they stream out of [`parse`]. For each report:
/// `header`, then its records, then `end` — or `failed` at any point after
/// `header` (the sink drops what it took of that report).
pub trait ReportSink {
    type Error;
    fn header(&mut self, header: &ReportHeader) -> Result<Flow, Self::Error>;
    fn record(&mut self, record: Record) -> Result<(), Self::Error>;
    /// Several records of the open report. The sink may take them (the
    /// default does) or leave them, for the caller to free or reuse.
    fn records(&mut self, batch: &mut Vec<Record>) -> Result<(), Self::Error> {
        batch.drain(..).try_for_each(|r| self.record(r))
    }
    fn end(&mut self, warnings: Vec<String>) -> Result<(), Self::Error>;
    fn failed(&mut self, error: ReportError) -> Result<(), Self::Error>;
}

/// A sink that keeps whole reports in memory, in input order.
#[derive(Debug, Default)]
pub struct Collect {
    pub reports: Vec<Result<Report, ReportError>>,
    open: Option<Report>,
}

impl ReportSink for Collect {
    type Error = Infallible;

    fn header(&mut self, header: &ReportHeader) -> Result<Flow, Infallible> {
        self.open = Some(Report {
            header: header.clone(),
            records: Vec::new(),
            warnings: Vec::new(),
        });
        Ok(Flow::Records)
    }

    fn record(&mut self, record: Record) -> Result<(), Infallible> {
        if let Some(r) = self.open.as_mut() {
            r.records.push(record);
        }
        Ok(())
    }

    fn end(&mut self, warnings: Vec<String>) -> Result<(), Infallible> {
        if let Some(mut r) = self.open.take() {
            r.warnings = warnings;
            self.reports.push(Ok(r));
        }
        Ok(())
    }

    fn failed(&mut self, error: ReportError) -> Result<(), Infallible> {
        self.open = None;
        self.reports.push(Err(error));
        Ok(())
    }
}

/// Parse a whole input into memory: every report, or why it failed.
pub fn parse_all(input: impl BufRead, options: &ParseOptions) -> Vec<Result<Report, ReportError>> {
    let mut sink = Collect::default();
    match parse(input, options, &mut sink) {
        Ok(_) => sink.reports,
        Err(never) => match never {},
    }
}
