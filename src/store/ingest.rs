//! One unit → one transaction: its reports (through the sink) and, when it
//! yielded nothing or lost a report, a row in `failures` with the error and,
//! with `keep_raw`, the raw bytes gzip'd so `reprocess` can read it again.
//! A unit is either wholly stored or not at all; storing it twice is a no-op.

use super::sink::{SinkCounts, StoreSink};
use super::{now, Store, StoreError};
use crate::extract::{self, ExtractLimits, Outcome};
use crate::report::relay::{relay, RelayError};
use crate::source::{Body, Unit};
use flate2::write::GzEncoder;
use rusqlite::{params, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};

/// What storing one unit did.
#[derive(Debug, Clone, Default)]
pub struct UnitResult {
    pub origin: String,
    pub outcome: Outcome,
    pub new_reports: usize,
    pub duplicates: usize,
    pub records: u64,
}

impl UnitResult {
    pub fn failed(&self) -> bool {
        self.outcome.failed()
    }
}

/// Totals over many units, for the closing line of `ingest`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub files: usize,
    pub new_reports: usize,
    pub duplicates: usize,
    pub errors: usize,
    pub records: u64,
}

impl IngestStats {
    pub fn add(&mut self, r: &UnitResult) {
        self.files += 1;
        self.new_reports += r.new_reports;
        self.duplicates += r.duplicates;
        self.records += r.records;
        if r.failed() {
            self.errors += 1;
        }
    }
}

impl std::fmt::Display for IngestStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files, {} reports new, {} duplicates, {} errors, {} records",
            self.files, self.new_reports, self.duplicates, self.errors, self.records
        )
    }
}

impl Store {
    /// Store every report of `unit` in one transaction.
    pub fn ingest_unit(
        &mut self,
        unit: Unit,
        limits: &ExtractLimits,
    ) -> Result<UnitResult, StoreError> {
        let Unit { origin, body, path } = unit;
        let (mut body, capture) = match body {
            // A stream without a file behind it (stdin): keep what it gives,
            // up to the size of a compressed input.
            Body::Reader(reader) if self.keep_raw && path.is_none() => {
                let cap = limits.unpack.max_compressed_bytes;
                let capture = Arc::new(Mutex::new(Capture::new(cap)));
                let tee = Tee {
                    inner: reader,
                    capture: Arc::clone(&capture),
                };
                (Body::Reader(Box::new(tee)), Some(capture))
            }
            body => (body, None),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let received = now();
        let file_name = path.as_deref().and_then(|p| p.file_name()?.to_str());
        let (outcome, counts) = read_into(&tx, &origin, file_name, received, &mut body, limits)?;
        if !outcome.errors.is_empty() {
            let raw = match (&body, capture, &path) {
                (Body::Message(bytes), _, _) if self.keep_raw => Some(bytes.clone()),
                (_, Some(c), _) => c.lock().ok().and_then(|mut c| c.take()),
                (_, None, Some(file)) if self.keep_raw => {
                    read_bounded(file, limits.max_message_bytes)
                }
                _ => None,
            };
            record_failure(&tx, &origin, received, &outcome, raw.as_deref())?;
        }
        tx.commit()?;
        Ok(result(origin, outcome, counts))
    }

    /// Read again every kept failed input; what now yields reports is stored
    /// and its failure marked resolved. Returns one result per input tried.
    pub fn reprocess(&mut self, limits: &ExtractLimits) -> Result<Vec<UnitResult>, StoreError> {
        let pending: Vec<(i64, String, Vec<u8>)> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, origin, raw FROM failures \
                 WHERE raw IS NOT NULL AND resolved_at IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut results = Vec::new();
        for (id, origin, gz) in pending {
            let raw = gunzip(&gz).map_err(|e| {
                StoreError::Invalid(format!(
                    "failure {id} ({origin}): kept bytes unreadable: {e}"
                ))
            })?;
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let received = now();
            let mut body = Body::Reader(Box::new(io::Cursor::new(raw)));
            // The origin of a kept file is its path: its name still counts.
            let (outcome, counts) =
                read_into(&tx, &origin, Some(&origin), received, &mut body, limits)?;
            if outcome.errors.is_empty() {
                tx.execute(
                    "UPDATE failures SET resolved_at = ?1 WHERE id = ?2",
                    params![received, id],
                )?;
            } else {
                tx.execute(
                    "UPDATE failures SET error = ?1, partial = ?2, attempts = attempts + 1 \
                     WHERE id = ?3",
                    params![outcome.error_text(), !outcome.failed(), id],
                )?;
            }
            tx.commit()?;
            results.push(result(origin, outcome, counts));
        }
        Ok(results)
    }
}

/// Read `body` on a second thread while its reports go into `tx` on this
/// one: parsing and inserting overlap.
fn read_into(
    tx: &rusqlite::Transaction<'_>,
    origin: &str,
    file_name: Option<&str>,
    received: i64,
    body: &mut Body,
    limits: &ExtractLimits,
) -> Result<(Outcome, SinkCounts), StoreError> {
    let mut sink = StoreSink::new(tx, origin, received)?;
    let outcome = relay(&mut sink, |relay_sink| {
        extract::read_unit_ref(body, file_name, limits, relay_sink)
    })
    .map_err(|e| match e {
        RelayError::Sink(e) => StoreError::Sql(e),
        RelayError::Lost => StoreError::Invalid(format!(
            "{origin}: the reading thread stopped before the input ended (a bug: please report it)"
        )),
    })?;
    Ok((outcome, sink.counts))
}

fn result(origin: String, outcome: Outcome, counts: SinkCounts) -> UnitResult {
    UnitResult {
        origin,
        outcome,
        new_reports: counts.new_reports,
        duplicates: counts.duplicates,
        records: counts.records,
    }
}

/// A failed input, once per content: seen again, its row is updated.
fn record_failure(
    tx: &rusqlite::Transaction<'_>,
    origin: &str,
    received: i64,
    outcome: &Outcome,
    raw: Option<&[u8]>,
) -> Result<(), StoreError> {
    let digest = hex(&Sha256::digest(raw.unwrap_or(origin.as_bytes())));
    let gz = match raw {
        Some(bytes) => Some(gzip(bytes).map_err(|e| StoreError::Invalid(e.to_string()))?),
        None => None,
    };
    tx.execute(
        "INSERT INTO failures (origin, received_at, error, partial, digest, raw, raw_bytes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (digest) DO UPDATE SET origin = excluded.origin, \
         received_at = excluded.received_at, error = excluded.error, \
         partial = excluded.partial, attempts = attempts + 1, \
         raw = coalesce(excluded.raw, raw), raw_bytes = coalesce(excluded.raw_bytes, raw_bytes)",
        params![
            origin,
            received,
            outcome.error_text(),
            !outcome.failed(),
            digest,
            gz,
            raw.map(|r| r.len() as i64),
        ],
    )?;
    Ok(())
}

/// A file's bytes, when it is no larger than `max` (else none are kept).
fn read_bounded(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok();
    let mut bytes = Vec::new();
    file?.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The bytes a stream gave, up to a bound; past it, nothing is kept.
struct Capture {
    bytes: Vec<u8>,
    max: u64,
    complete: bool,
}

impl Capture {
    fn new(max: u64) -> Self {
        Capture {
            bytes: Vec::new(),
            max,
            complete: true,
        }
    }

    fn push(&mut self, data: &[u8]) {
        if !self.complete {
            return;
        }
        if self.bytes.len() as u64 + data.len() as u64 > self.max {
            self.complete = false;
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(data);
        }
    }

    fn take(&mut self) -> Option<Vec<u8>> {
        self.complete.then(|| std::mem::take(&mut self.bytes))
    }
}

/// A reader that copies what is consumed from it into a [`Capture`].
struct Tee {
    inner: Box<dyn BufRead + Send>,
    capture: Arc<Mutex<Capture>>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Tee {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The data consumed is what fill_buf last returned (no new read).
        if let (Ok(buf), Ok(mut capture)) = (self.inner.fill_buf(), self.capture.lock()) {
            capture.push(&buf[..amt.min(buf.len())]);
        } else if let Ok(mut capture) = self.capture.lock() {
            capture.complete = false;
        }
        self.inner.consume(amt);
    }
}
