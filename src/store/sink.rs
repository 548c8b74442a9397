//! Reports into tables as they stream out of the parser: one prepared insert
//! per record and auth result, a savepoint per report (a report that fails
//! half-way leaves nothing), the per-day source totals added up in memory and
//! written once at the report's end. Duplicates are recognised by their
//! identity before any record is read.

use crate::report::{Flow, Record, ReportError, ReportHeader, ReportSink};
use rusqlite::{params, OptionalExtension, Statement, Transaction};
use std::collections::HashMap;
use std::net::IpAddr;

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
    domain: String,
    org_name: String,
    day: String,
    begin: i64,
    end: i64,
    records: u64,
    messages: u64,
    sources: HashMap<String, SourceTotals>,
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
    find_report: Statement<'t>,
    insert_report: Statement<'t>,
    insert_record: Statement<'t>,
    insert_dkim: Statement<'t>,
    insert_spf: Statement<'t>,
}

impl<'t> StoreSink<'t> {
    pub fn new(tx: &'t Transaction<'t>, origin: &'t str, now: i64) -> rusqlite::Result<Self> {
        Ok(StoreSink {
            tx,
            origin,
            now,
            state: State::Idle,
            counts: SinkCounts::default(),
            find_report: tx.prepare(
                "SELECT id FROM reports WHERE org_name = ?1 AND report_id = ?2 \
                 AND domain = ?3 AND begin_ts = ?4 AND end_ts = ?5",
            )?,
            insert_report: tx.prepare(
                "INSERT INTO reports (org_name, report_id, domain, begin_ts, end_ts, format, \
                 email, extra_contact_info, generator, errors, adkim, aspf, p, sp, np, pct, fo, \
                 testing, discovery_method, origin, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20, ?21)",
            )?,
            insert_record: tx.prepare(
                "INSERT INTO records (report, source_ip, count, disposition, dkim, spf, \
                 header_from, envelope_from, envelope_to, reasons) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            insert_dkim: tx.prepare(
                "INSERT INTO dkim_results (record, seq, domain, selector, result, human_result) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            insert_spf: tx.prepare(
                "INSERT INTO spf_results (record, seq, domain, scope, result, human_result) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
        })
    }

    fn open_report(&mut self, h: &ReportHeader) -> rusqlite::Result<OpenReport> {
        self.tx.execute_batch("SAVEPOINT report")?;
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
            domain: p.domain.clone(),
            org_name: h.org_name.clone(),
            day: utc_day(h.begin),
            begin: h.begin,
            end: h.end,
            records: 0,
            messages: 0,
            sources: HashMap::new(),
        })
    }

    fn insert(&mut self, record: &Record) -> rusqlite::Result<()> {
        let State::Open(open) = &mut self.state else {
            return Ok(());
        };
        let reasons = (!record.reasons.is_empty()).then(|| json(&record.reasons));
        self.insert_record.execute(params![
            open.id,
            record.source_ip,
            record.count as i64,
            record.disposition,
            record.dkim,
            record.spf,
            record.header_from,
            record.envelope_from,
            record.envelope_to,
            reasons,
        ])?;
        let record_id = self.tx.last_insert_rowid();
        for (seq, d) in record.dkim_results.iter().enumerate() {
            self.insert_dkim.execute(params![
                record_id,
                seq as i64,
                d.domain,
                d.selector,
                d.result,
                d.human_result
            ])?;
        }
        for (seq, s) in record.spf_results.iter().enumerate() {
            self.insert_spf.execute(params![
                record_id,
                seq as i64,
                s.domain,
                s.scope,
                s.result,
                s.human_result
            ])?;
        }
        open.records += 1;
        open.messages += record.count;
        let source = record.source_ip.clone().unwrap_or_default();
        let totals = open.sources.entry(source).or_default();
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
        Ok(())
    }

    fn close_report(&mut self, open: OpenReport, warnings: &[String]) -> rusqlite::Result<()> {
        let warnings = (!warnings.is_empty()).then(|| json(warnings));
        self.tx.execute(
            "UPDATE reports SET records = ?1, messages = ?2, warnings = ?3 WHERE id = ?4",
            params![open.records as i64, open.messages as i64, warnings, open.id],
        )?;
        let mut daily = self.tx.prepare_cached(
            "INSERT INTO source_daily (domain, day, source_ip, org_name, ip_key, messages, \
             dmarc_pass, spf_aligned, dkim_aligned, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (domain, day, source_ip, org_name) DO UPDATE SET \
             messages = messages + excluded.messages, \
             dmarc_pass = dmarc_pass + excluded.dmarc_pass, \
             spf_aligned = spf_aligned + excluded.spf_aligned, \
             dkim_aligned = dkim_aligned + excluded.dkim_aligned, \
             first_seen = min(first_seen, excluded.first_seen), \
             last_seen = max(last_seen, excluded.last_seen)",
        )?;
        let mut totals = self.tx.prepare_cached(
            "INSERT INTO source_totals (domain, source_ip, ip_key, messages, dmarc_pass, \
             spf_aligned, dkim_aligned, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (domain, source_ip) DO UPDATE SET \
             messages = messages + excluded.messages, \
             dmarc_pass = dmarc_pass + excluded.dmarc_pass, \
             spf_aligned = spf_aligned + excluded.spf_aligned, \
             dkim_aligned = dkim_aligned + excluded.dkim_aligned, \
             first_seen = min(first_seen, excluded.first_seen), \
             last_seen = max(last_seen, excluded.last_seen)",
        )?;
        let mut report_sum = SourceTotals::default();
        let mut sources: Vec<_> = open.sources.iter().collect();
        sources.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (ip, t) in sources {
            let key = ip.parse::<IpAddr>().ok().map(|a| ip_key(&a).to_vec());
            let (m, p, s, d) = (
                t.messages as i64,
                t.dmarc_pass as i64,
                t.spf_aligned as i64,
                t.dkim_aligned as i64,
            );
            daily.execute(params![
                open.domain,
                open.day,
                ip,
                open.org_name,
                key,
                m,
                p,
                s,
                d,
                open.begin,
                open.end,
            ])?;
            totals.execute(params![
                open.domain,
                ip,
                key,
                m,
                p,
                s,
                d,
                open.begin,
                open.end
            ])?;
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
        self.tx.execute_batch("RELEASE report")?;
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
        self.insert(&record)
    }

    fn end(&mut self, warnings: Vec<String>) -> rusqlite::Result<()> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Open(open) => self.close_report(open, &warnings),
            State::Idle | State::Skipping => Ok(()),
        }
    }

    fn failed(&mut self, _error: ReportError) -> rusqlite::Result<()> {
        if let State::Open(_) = std::mem::replace(&mut self.state, State::Idle) {
            self.tx
                .execute_batch("ROLLBACK TO report; RELEASE report")?;
        }
        Ok(())
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
