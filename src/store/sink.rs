//! Reports into tables as they stream out of the parser: records come in
//! batches and go in with multi-row INSERTs (ids assigned here, so their auth
//! results can follow in the same way); a report that fails half-way leaves
//! nothing (its rows are deleted: the ids it took are known, and cheaper to
//! delete than a savepoint is to keep), the per-day source totals added up in
//! memory and upserted once at the report's end, in key order and also many
//! rows per statement. Duplicates are recognised by their identity before any
//! record is read.

use crate::report::{DkimResult, Flow, Record, ReportError, ReportHeader, ReportSink, SpfResult};
use rusqlite::{params, CachedStatement, OptionalExtension, Statement, Transaction};
use std::collections::HashMap;
use std::net::IpAddr;

/// Rows per multi-row INSERT (the rest of a batch goes one by one).
const CHUNK: usize = 32;

/// The tables the sink writes, with their columns in binding order.
const RECORD_COLUMNS: &str = "records (id, report, source_ip, count, disposition, dkim, spf, \
     header_from, envelope_from, envelope_to, reasons)";
const DKIM_COLUMNS: &str = "dkim_results (record, seq, domain, selector, result, human_result)";
const SPF_COLUMNS: &str = "spf_results (record, seq, domain, scope, result, human_result)";
const DAILY_COLUMNS: &str = "source_daily (domain, day, source_ip, org_name, ip_key, messages, \
     dmarc_pass, spf_aligned, dkim_aligned, first_seen, last_seen)";
const TOTALS_COLUMNS: &str = "source_totals (domain, source_ip, ip_key, messages, dmarc_pass, \
     spf_aligned, dkim_aligned, first_seen, last_seen)";
/// What a report's totals for a source do to the row already there.
const ADD_TOTALS: &str = "DO UPDATE SET messages = messages + excluded.messages, \
     dmarc_pass = dmarc_pass + excluded.dmarc_pass, \
     spf_aligned = spf_aligned + excluded.spf_aligned, \
     dkim_aligned = dkim_aligned + excluded.dkim_aligned, \
     first_seen = min(first_seen, excluded.first_seen), \
     last_seen = max(last_seen, excluded.last_seen)";

/// A 16-byte key that orders addresses numerically, IPv4 as `::ffff:a.b.c.d`.
pub fn ip_key(ip: &IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Totals of one source within one report (or of a whole report).
#[derive(Default)]
struct SourceTotals {
    messages: u64,
    dmarc_pass: u64,
    spf_aligned: u64,
    dkim_aligned: u64,
}

impl SourceTotals {
    fn add(&mut self, other: &SourceTotals) {
        self.messages += other.messages;
        self.dmarc_pass += other.dmarc_pass;
        self.spf_aligned += other.spf_aligned;
        self.dkim_aligned += other.dkim_aligned;
    }
}

struct OpenReport {
    id: i64,
    /// The id of its first record.
    first_record_id: i64,
    domain: String,
    org_name: String,
    day: String,
    begin: i64,
    end: i64,
    records: u64,
    messages: u64,
    sources: HashMap<String, SourceTotals, foldhash::fast::RandomState>,
}

impl OpenReport {
    /// Add a record to the report's and its source's totals.
    fn count(&mut self, record: &Record) {
        self.records += 1;
        self.messages += record.count;
        let source = record.source_ip.as_deref().unwrap_or_default();
        let totals = match self.sources.get_mut(source) {
            Some(totals) => totals,
            None => self.sources.entry(source.to_string()).or_default(),
        };
        totals.messages += record.count;
        if record.dmarc_pass() {
            totals.dmarc_pass += record.count;
        }
        if record.spf.as_deref() == Some("pass") {
            totals.spf_aligned += record.count;
        }
        if record.dkim.as_deref() == Some("pass") {
            totals.dkim_aligned += record.count;
        }
    }
}

enum State {
    Idle,
    Skipping,
    Open(OpenReport),
}

/// What the sink did for one unit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkCounts {
    pub new_reports: usize,
    pub duplicates: usize,
    pub records: u64,
}

pub struct StoreSink<'t> {
    tx: &'t Transaction<'t>,
    origin: &'t str,
    now: i64,
    state: State,
    pub counts: SinkCounts,
    /// The id the next record gets. The transaction holds the write lock
    /// from before it was read, so no other writer can take it.
    next_record_id: i64,
    find_report: CachedStatement<'t>,
    insert_report: CachedStatement<'t>,
    records: RowInserts<'t>,
    dkim: RowInserts<'t>,
    spf: RowInserts<'t>,
    daily: RowInserts<'t>,
    totals: RowInserts<'t>,
}

impl<'t> StoreSink<'t> {
    pub fn new(tx: &'t Transaction<'t>, origin: &'t str, now: i64) -> rusqlite::Result<Self> {
        // Past every id in use, also by auth results whose record was
        // deleted by hand (foreign keys are not enforced): reusing one would
        // collide with them.
        let last_id: i64 = tx.query_row(
            "SELECT max(coalesce((SELECT max(id) FROM records), 0), \
             coalesce((SELECT max(record) FROM dkim_results), 0), \
             coalesce((SELECT max(record) FROM spf_results), 0))",
            [],
            |r| r.get(0),
        )?;
        Ok(StoreSink {
            tx,
            origin,
            now,
            state: State::Idle,
            counts: SinkCounts::default(),
            next_record_id: last_id + 1,
            find_report: tx.prepare_cached(
                "SELECT id FROM reports WHERE org_name = ?1 AND report_id = ?2 \
                 AND domain = ?3 AND begin_ts = ?4 AND end_ts = ?5",
            )?,
            insert_report: tx.prepare_cached(
                "INSERT INTO reports (org_name, report_id, domain, begin_ts, end_ts, format, \
                 email, extra_contact_info, generator, errors, adkim, aspf, p, sp, np, pct, fo, \
                 testing, discovery_method, origin, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20, ?21)",
            )?,
            records: RowInserts::new(tx, RECORD_COLUMNS, 11, "")?,
            dkim: RowInserts::new(tx, DKIM_COLUMNS, 6, "")?,
            spf: RowInserts::new(tx, SPF_COLUMNS, 6, "")?,
            daily: RowInserts::new(
                tx,
                DAILY_COLUMNS,
                11,
                &format!("ON CONFLICT (domain, day, source_ip, org_name) {ADD_TOTALS}"),
            )?,
            totals: RowInserts::new(
                tx,
                TOTALS_COLUMNS,
                9,
                &format!("ON CONFLICT (domain, source_ip) {ADD_TOTALS}"),
            )?,
        })
    }

    fn open_report(&mut self, h: &ReportHeader) -> rusqlite::Result<OpenReport> {
        let errors = (!h.errors.is_empty()).then(|| json(&h.errors));
        let p = &h.policy;
        self.insert_report.execute(params![
            h.org_name,
            h.report_id,
            p.domain,
            h.begin,
            h.end,
            h.format.as_str(),
            h.email,
            h.extra_contact_info,
            h.generator,
            errors,
            p.adkim,
            p.aspf,
            p.p,
            p.sp,
            p.np,
            p.pct,
            p.fo,
            p.testing,
            p.discovery_method,
            self.origin,
            self.now,
        ])?;
        Ok(OpenReport {
            id: self.tx.last_insert_rowid(),
            first_record_id: self.next_record_id,
            domain: p.domain.clone(),
            org_name: h.org_name.clone(),
            day: utc_day(h.begin),
            begin: h.begin,
            end: h.end,
            records: 0,
            messages: 0,
            sources: HashMap::default(),
        })
    }

    /// Store a batch of records of the open report: its totals counted in,
    /// its rows written.
    fn insert(&mut self, batch: &[Record]) -> rusqlite::Result<()> {
        let State::Open(open) = &mut self.state else {
            return Ok(());
        };
        for record in batch {
            open.count(record);
        }
        let (report, first_id) = (open.id, self.next_record_id);
        self.next_record_id += batch.len() as i64;
        self.write_rows(report, first_id, batch)
    }

    /// The rows of `batch`, whose ids start at `first_id`: the records, then
    /// their auth results.
    fn write_rows(&mut self, report: i64, first_id: i64, batch: &[Record]) -> rusqlite::Result<()> {
        self.records.insert(batch, |stmt, at, i, r| {
            let reasons = (!r.reasons.is_empty()).then(|| json(&r.reasons));
            stmt.raw_bind_parameter(at + 1, first_id + i as i64)?;
            stmt.raw_bind_parameter(at + 2, report)?;
            stmt.raw_bind_parameter(at + 3, &r.source_ip)?;
            stmt.raw_bind_parameter(at + 4, r.count as i64)?;
            stmt.raw_bind_parameter(at + 5, r.disposition.as_deref())?;
            stmt.raw_bind_parameter(at + 6, r.dkim.as_deref())?;
            stmt.raw_bind_parameter(at + 7, r.spf.as_deref())?;
            stmt.raw_bind_parameter(at + 8, &r.header_from)?;
            stmt.raw_bind_parameter(at + 9, &r.envelope_from)?;
            stmt.raw_bind_parameter(at + 10, &r.envelope_to)?;
            stmt.raw_bind_parameter(at + 11, reasons)
        })?;
        self.dkim
            .insert_auth(first_id, batch, |r| &r.dkim_results)?;
        self.spf.insert_auth(first_id, batch, |r| &r.spf_results)
    }

    fn close_report(&mut self, open: OpenReport, warnings: &[String]) -> rusqlite::Result<()> {
        let warnings = (!warnings.is_empty()).then(|| json(warnings));
        self.tx.execute(
            "UPDATE reports SET records = ?1, messages = ?2, warnings = ?3 WHERE id = ?4",
            params![open.records as i64, open.messages as i64, warnings, open.id],
        )?;
        let mut sources: Vec<(&str, Option<[u8; 16]>, &SourceTotals)> = open
            .sources
            .iter()
            .map(|(ip, t)| {
                (
                    ip.as_str(),
                    ip.parse::<IpAddr>().ok().map(|a| ip_key(&a)),
                    t,
                )
            })
            .collect();
        // In key order: B-tree appends rather than inserts all over.
        sources.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let counts = |t: &SourceTotals| {
            [t.messages, t.dmarc_pass, t.spf_aligned, t.dkim_aligned].map(|n| n as i64)
        };
        self.daily.insert(&sources, |stmt, at, _, (ip, key, t)| {
            stmt.raw_bind_parameter(at + 1, &open.domain)?;
            stmt.raw_bind_parameter(at + 2, &open.day)?;
            stmt.raw_bind_parameter(at + 3, ip)?;
            stmt.raw_bind_parameter(at + 4, &open.org_name)?;
            stmt.raw_bind_parameter(at + 5, key.as_ref().map(|k| &k[..]))?;
            for (i, n) in counts(t).into_iter().enumerate() {
                stmt.raw_bind_parameter(at + 6 + i, n)?;
            }
            stmt.raw_bind_parameter(at + 10, open.begin)?;
            stmt.raw_bind_parameter(at + 11, open.end)
        })?;
        self.totals.insert(&sources, |stmt, at, _, (ip, key, t)| {
            stmt.raw_bind_parameter(at + 1, &open.domain)?;
            stmt.raw_bind_parameter(at + 2, ip)?;
            stmt.raw_bind_parameter(at + 3, key.as_ref().map(|k| &k[..]))?;
            for (i, n) in counts(t).into_iter().enumerate() {
                stmt.raw_bind_parameter(at + 4 + i, n)?;
            }
            stmt.raw_bind_parameter(at + 8, open.begin)?;
            stmt.raw_bind_parameter(at + 9, open.end)
        })?;
        let mut report_sum = SourceTotals::default();
        for t in open.sources.values() {
            report_sum.add(t);
        }
        self.tx.execute(
            "INSERT INTO domain_daily (domain, day, org_name, reports, messages, dmarc_pass, \
             spf_aligned, dkim_aligned) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7) \
             ON CONFLICT (domain, day, org_name) DO UPDATE SET reports = reports + 1, \
             messages = messages + excluded.messages, \
             dmarc_pass = dmarc_pass + excluded.dmarc_pass, \
             spf_aligned = spf_aligned + excluded.spf_aligned, \
             dkim_aligned = dkim_aligned + excluded.dkim_aligned",
            params![
                open.domain,
                open.day,
                open.org_name,
                report_sum.messages as i64,
                report_sum.dmarc_pass as i64,
                report_sum.spf_aligned as i64,
                report_sum.dkim_aligned as i64
            ],
        )?;
        self.counts.new_reports += 1;
        self.counts.records += open.records;
        Ok(())
    }
}

impl ReportSink for StoreSink<'_> {
    type Error = rusqlite::Error;

    fn header(&mut self, h: &ReportHeader) -> rusqlite::Result<Flow> {
        let existing: Option<i64> = self
            .find_report
            .query_row(
                params![h.org_name, h.report_id, h.policy.domain, h.begin, h.end],
                |r| r.get(0),
            )
            .optional()?;
        if existing.is_some() {
            self.counts.duplicates += 1;
            self.state = State::Skipping;
            return Ok(Flow::Skip);
        }
        let open = self.open_report(h)?;
        self.state = State::Open(open);
        Ok(Flow::Records)
    }

    fn record(&mut self, record: Record) -> rusqlite::Result<()> {
        self.insert(std::slice::from_ref(&record))
    }

    /// The batch is left as it is: the relay hands it back to the reading
    /// thread, which frees what it allocated.
    fn records(&mut self, batch: &mut Vec<Record>) -> rusqlite::Result<()> {
        self.insert(batch)
    }

    fn end(&mut self, warnings: Vec<String>) -> rusqlite::Result<()> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Open(open) => self.close_report(open, &warnings),
            State::Idle | State::Skipping => Ok(()),
        }
    }

    /// Take back what the report wrote: its row, its records and their auth
    /// results (its totals are only written at its end). The unit's other
    /// reports stay.
    fn failed(&mut self, _error: ReportError) -> rusqlite::Result<()> {
        if let State::Open(open) = std::mem::replace(&mut self.state, State::Idle) {
            let first = open.first_record_id;
            for table in ["dkim_results", "spf_results"] {
                let sql = format!("DELETE FROM {table} WHERE record >= ?1");
                self.tx.prepare_cached(&sql)?.execute([first])?;
            }
            self.tx
                .prepare_cached("DELETE FROM records WHERE id >= ?1")?
                .execute([first])?;
            self.tx
                .prepare_cached("DELETE FROM reports WHERE id = ?1")?
                .execute([open.id])?;
        }
        Ok(())
    }
}

/// One table's INSERT (or upsert) for one row and for [`CHUNK`] rows,
/// prepared once per connection.
struct RowInserts<'t> {
    one: CachedStatement<'t>,
    chunk: CachedStatement<'t>,
    columns: usize,
}

impl<'t> RowInserts<'t> {
    /// `table` is `name (column, ...)` with `columns` names; `upsert` an
    /// `ON CONFLICT` clause, or empty.
    fn new(
        tx: &'t Transaction<'t>,
        table: &str,
        columns: usize,
        upsert: &str,
    ) -> rusqlite::Result<Self> {
        let row = format!("({})", vec!["?"; columns].join(", "));
        let sql = |rows: usize| {
            format!(
                "INSERT INTO {table} VALUES {} {upsert}",
                vec![row.as_str(); rows].join(", ")
            )
        };
        Ok(RowInserts {
            one: tx.prepare_cached(&sql(1))?,
            chunk: tx.prepare_cached(&sql(CHUNK))?,
            columns,
        })
    }

    /// Insert `rows`; `bind(statement, at, i, row)` binds the values of
    /// `rows[i]` from parameter `at + 1`.
    fn insert<T>(
        &mut self,
        rows: &[T],
        bind: impl Fn(&mut Statement<'t>, usize, usize, &T) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let whole = rows.len() - rows.len() % CHUNK;
        for (c, chunk) in rows[..whole].chunks_exact(CHUNK).enumerate() {
            for (j, row) in chunk.iter().enumerate() {
                bind(&mut self.chunk, j * self.columns, c * CHUNK + j, row)?;
            }
            self.chunk.raw_execute()?;
        }
        for (i, row) in rows.iter().enumerate().skip(whole) {
            bind(&mut self.one, 0, i, row)?;
            self.one.raw_execute()?;
        }
        Ok(())
    }

    /// The DKIM or SPF results of a batch whose record ids start at
    /// `first_id`, numbered in order within each record.
    fn insert_auth<'b, T: AuthRow + 'b>(
        &mut self,
        first_id: i64,
        batch: &'b [Record],
        results: impl Fn(&'b Record) -> &'b [T],
    ) -> rusqlite::Result<()> {
        let rows: Vec<(i64, i64, &T)> = (first_id..)
            .zip(batch)
            .flat_map(|(id, r)| (0..).zip(results(r)).map(move |(seq, x)| (id, seq, x)))
            .collect();
        self.insert(&rows, |stmt, at, _, (record, seq, x)| {
            let (domain, second, result, human_result) = x.columns();
            stmt.raw_bind_parameter(at + 1, record)?;
            stmt.raw_bind_parameter(at + 2, seq)?;
            stmt.raw_bind_parameter(at + 3, domain)?;
            stmt.raw_bind_parameter(at + 4, second)?;
            stmt.raw_bind_parameter(at + 5, result)?;
            stmt.raw_bind_parameter(at + 6, human_result)
        })
    }
}

/// What `dkim_results` (selector) and `spf_results` (scope) share: the
/// two tables have the same shape.
trait AuthRow {
    /// `(domain, selector or scope, result, human_result)`.
    fn columns(&self) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>);
}

impl AuthRow for DkimResult {
    fn columns(&self) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>) {
        let d = self;
        (
            d.domain.as_deref(),
            d.selector.as_deref(),
            d.result.as_deref(),
            d.human_result.as_deref(),
        )
    }
}

impl AuthRow for SpfResult {
    fn columns(&self) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>) {
        let s = self;
        (
            s.domain.as_deref(),
            s.scope.as_deref(),
            s.result.as_deref(),
            s.human_result.as_deref(),
        )
    }
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

/// `YYYY-MM-DD` of an epoch second, UTC.
pub fn utc_day(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, Policy, ReportError, ReportHeader};
    use crate::store::Store;

    fn header(id: &str) -> ReportHeader {
        ReportHeader {
            format: Format::Rfc7489,
            org_name: "receiver.example".into(),
            email: None,
            extra_contact_info: None,
            report_id: id.into(),
            begin: 1_700_000_000,
            end: 1_700_086_399,
            generator: None,
            errors: Vec::new(),
            policy: Policy {
                domain: "example.com".into(),
                ..Policy::default()
            },
        }
    }

    /// Record `i` of report `tag`: its address, selectors and SPF domain all
    /// say which record it is, and it has `i % 4` DKIM and `i % 3` SPF results.
    fn record(tag: usize, i: usize) -> Record {
        let name = format!("r{tag}-{i}");
        Record {
            source_ip: Some(format!("10.{tag}.{}.{}", i / 256, i % 256)),
            count: i as u64 + 1,
            dkim: Some(if i.is_multiple_of(2) { "pass" } else { "fail" }.into()),
            spf: Some("fail".into()),
            dkim_results: (0..i % 4)
                .map(|k| DkimResult {
                    domain: Some("example.com".into()),
                    selector: Some(format!("{name}-{k}")),
                    result: Some("pass".into()),
                    human_result: None,
                })
                .collect(),
            spf_results: (0..i % 3)
                .map(|k| SpfResult {
                    domain: Some(format!("{name}-{k}.example")),
                    ..SpfResult::default()
                })
                .collect(),
            ..Record::default()
        }
    }

    /// Report `tag` with `n` records, in batches of `batch`; with `fail`, it
    /// fails after its last batch instead of ending.
    fn feed(sink: &mut StoreSink<'_>, tag: usize, n: usize, batch: usize, fail: bool) {
        assert_eq!(
            sink.header(&header(&tag.to_string())).unwrap(),
            Flow::Records
        );
        let records: Vec<Record> = (0..n).map(|i| record(tag, i)).collect();
        for chunk in records.chunks(batch) {
            let mut batch = chunk.to_vec();
            sink.records(&mut batch).unwrap();
            assert_eq!(batch, chunk, "the batch is left for the relay to reuse");
        }
        if fail {
            sink.failed(ReportError::Xml("cut off".into())).unwrap();
        } else {
            sink.end(Vec::new()).unwrap();
        }
    }

    #[test]
    fn ids_skip_auth_results_left_by_a_hand_deleted_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        {
            let mut sink = StoreSink::new(&tx, "test", 0).unwrap();
            feed(&mut sink, 1, 8, 8, false);
        }
        // As a user pruning by hand with the sqlite3 shell would leave it.
        tx.execute_batch("DELETE FROM records WHERE id > 4")
            .unwrap();
        {
            let mut sink = StoreSink::new(&tx, "test", 0).unwrap();
            feed(&mut sink, 2, 8, 8, false);
            assert_eq!(sink.counts.records, 8);
        }
        tx.commit().unwrap();
    }

    #[test]
    fn batched_rows_belong_to_their_record_and_a_failed_report_leaves_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let tx = store.conn_mut().transaction().unwrap();
        {
            let mut sink = StoreSink::new(&tx, "test", 0).unwrap();
            // Sizes around the chunk size, and a report that fails after
            // some of its rows were written.
            feed(&mut sink, 1, 3 * CHUNK + 7, 2 * CHUNK + 5, false);
            feed(&mut sink, 2, 2 * CHUNK + 1, CHUNK, true);
            feed(&mut sink, 3, CHUNK - 1, 256, false);
            feed(&mut sink, 4, 1, 1, false);
            assert_eq!(sink.counts.new_reports, 3);
            assert_eq!(sink.counts.records, (3 * CHUNK + 7 + CHUNK - 1 + 1) as u64);
        }
        tx.commit().unwrap();
        let c = store.conn();
        let n = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(n("SELECT count(*) FROM reports WHERE report_id = '2'"), 0);
        assert_eq!(
            n("SELECT count(*) FROM records WHERE source_ip LIKE '10.2.%'"),
            0
        );
        for table in ["dkim_results", "spf_results"] {
            let orphans = format!(
                "SELECT count(*) FROM {table} WHERE record NOT IN (SELECT id FROM records)"
            );
            assert_eq!(n(&orphans), 0, "{table} rows of the failed report are gone");
        }
        // Every stored record, read back in id order with the auth results
        // that point at its id, is the one written.
        let mut stmt = c
            .prepare(
                "SELECT rep.report_id || ' ' || r.source_ip || ' ' || r.count || ' ' || r.dkim \
                 || ' [' || coalesce((SELECT group_concat(selector, ',') FROM \
                    (SELECT selector FROM dkim_results WHERE record = r.id ORDER BY seq)), '') \
                 || '] [' || coalesce((SELECT group_concat(domain, ',') FROM \
                    (SELECT domain FROM spf_results WHERE record = r.id ORDER BY seq)), '') || ']' \
                 FROM records r JOIN reports rep ON rep.id = r.report ORDER BY r.id",
            )
            .unwrap();
        let stored: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let written: Vec<String> = [(1, 3 * CHUNK + 7), (3, CHUNK - 1), (4, 1)]
            .into_iter()
            .flat_map(|(tag, n)| (0..n).map(move |i| (tag, record(tag, i))))
            .map(|(tag, r)| {
                let list = |v: Vec<String>| v.join(",");
                format!(
                    "{tag} {} {} {} [{}] [{}]",
                    r.source_ip.unwrap_or_default(),
                    r.count,
                    r.dkim.unwrap_or_default(),
                    list(
                        r.dkim_results
                            .into_iter()
                            .filter_map(|d| d.selector)
                            .collect()
                    ),
                    list(r.spf_results.into_iter().filter_map(|s| s.domain).collect()),
                )
            })
            .collect();
        assert_eq!(stored, written);
        // The per-source totals saw every record of the stored reports once.
        assert_eq!(
            n("SELECT sum(messages) FROM source_totals"),
            n("SELECT sum(count) FROM records")
        );
        assert_eq!(
            n("SELECT sum(dkim_aligned) FROM source_daily"),
            n("SELECT coalesce(sum(count), 0) FROM records WHERE dkim = 'pass'")
        );
    }
}
