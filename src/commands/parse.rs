//! `dmarcwatch parse PATH...`: read reports, store nothing. For people, one
//! line per report and its warnings; with `--json`, the spec's JSON lines,
//! streamed record by record so a 1 GB report prints in constant memory.

use crate::extract::{self, ExtractLimits};
use crate::report::{Flow, Record, ReportError, ReportHeader, ReportSink};
use crate::source::Units;
use std::io::{self, Write};
use std::path::PathBuf;

/// Parse every unit behind `paths`; returns how many yielded no report.
pub fn run(
    paths: &[PathBuf],
    json: bool,
    limits: &ExtractLimits,
    out: &mut dyn Write,
) -> io::Result<usize> {
    let mut failed = 0;
    for unit in Units::new(paths, limits.max_message_bytes) {
        let (origin, outcome) = match unit {
            Ok(mut unit) => {
                let mut sink = PrintSink {
                    out: &mut *out,
                    json,
                    path: &unit.origin,
                    records: 0,
                    messages: 0,
                    open: false,
                    line: Vec::with_capacity(1024),
                };
                let file_name = unit.path.as_deref().and_then(|p| p.file_name()?.to_str());
                let outcome = extract::read_unit_ref(&mut unit.body, file_name, limits, &mut sink)?;
                (unit.origin, outcome)
            }
            Err(e) => {
                let outcome = extract::Outcome {
                    errors: vec![e.message],
                    ..Default::default()
                };
                (e.origin, outcome)
            }
        };
        if outcome.failed() {
            failed += 1;
            let error = outcome.error_text();
            if json {
                let line = serde_json::json!({"path": origin, "error": error});
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "{origin}: error: {error}")?;
            }
        } else {
            for e in &outcome.errors {
                eprintln!("{origin}: warning: {e}");
            }
        }
    }
    out.flush()?;
    Ok(failed)
}

struct PrintSink<'a> {
    out: &'a mut dyn Write,
    json: bool,
    path: &'a str,
    records: u64,
    messages: u64,
    /// A report line was begun and not yet ended.
    open: bool,
    /// Reused buffer for one record's JSON.
    line: Vec<u8>,
}

impl ReportSink for PrintSink<'_> {
    type Error = io::Error;

    fn header(&mut self, header: &ReportHeader) -> io::Result<Flow> {
        self.records = 0;
        self.messages = 0;
        self.open = true;
        if self.json {
            // The header object, left open for the records and warnings.
            let head = serde_json::to_string(header)?;
            let open = head.strip_suffix('}').unwrap_or(&head);
            let path = serde_json::to_string(self.path)?;
            write!(
                self.out,
                "{{\"path\":{path},\"report\":{open},\"records\":["
            )?;
        } else {
            write!(
                self.out,
                "{}: {} report {} for {} ({} .. {}, {})",
                self.path,
                header.org_name,
                header.report_id,
                header.policy.domain,
                header.begin,
                header.end,
                header.format.as_str()
            )?;
        }
        Ok(Flow::Records)
    }

    fn record(&mut self, record: Record) -> io::Result<()> {
        if self.json {
            // One write per record: serde's many small writes through
            // `dyn Write` cost more than the serialising.
            self.line.clear();
            if self.records > 0 {
                self.line.push(b',');
            }
            serde_json::to_writer(&mut self.line, &record)?;
            self.out.write_all(&self.line)?;
        }
        self.records += 1;
        self.messages += record.count;
        Ok(())
    }

    fn end(&mut self, warnings: Vec<String>) -> io::Result<()> {
        self.open = false;
        if self.json {
            let warnings = serde_json::to_string(&warnings)?;
            writeln!(self.out, "],\"warnings\":{warnings}}}}}")?;
        } else {
            writeln!(
                self.out,
                ": {} records, {} messages",
                self.records, self.messages
            )?;
            for w in warnings {
                writeln!(self.out, "  warning: {w}")?;
            }
        }
        Ok(())
    }

    fn failed(&mut self, error: ReportError) -> io::Result<()> {
        if !std::mem::take(&mut self.open) {
            return Ok(());
        }
        // A report cut short after its header (e.g. a size limit hit while
        // streaming): end the line begun, saying why it is incomplete.
        if self.json {
            let error = serde_json::to_string(&error.to_string())?;
            writeln!(self.out, "],\"warnings\":[],\"error\":{error}}}}}")
        } else {
            writeln!(self.out, ": failed after {} records: {error}", self.records)
        }
    }
}
