//! `dmarcwatch export --format csv|json`: every record with its report's
//! keys, one row each, streamed from `v_records` (constant memory).

use crate::store::{Store, StoreError};
use rusqlite::types::ValueRef;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

const COLUMNS: &str = "org_name, report_id, domain, begin_utc, end_utc, source_ip, count, \
    disposition, dkim, spf, dmarc_pass, header_from, envelope_from, envelope_to, \
    dkim_domains, spf_domains, dkim_results, spf_results, reasons, ptr, service";

pub fn run(
    store: &Store,
    format: ExportFormat,
    domain: Option<&str>,
    since: Option<i64>,
    out: &mut dyn Write,
) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM v_records \
         WHERE (?1 IS NULL OR domain = ?1) AND (?2 IS NULL OR begin_utc >= datetime(?2, 'unixepoch')) \
         ORDER BY record_id"
    );
    let mut stmt = store.conn().prepare(&sql)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let io = |e: std::io::Error| StoreError::Invalid(format!("writing output: {e}"));
    if format == ExportFormat::Csv {
        let header: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
        writeln!(out, "{}", header.join(",")).map_err(io)?;
    }
    let mut rows = stmt.query(rusqlite::params![domain, since])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        match format {
            ExportFormat::Csv => {
                let mut fields = Vec::with_capacity(names.len());
                for i in 0..names.len() {
                    fields.push(csv_field(&text(row.get_ref(i)?)));
                }
                writeln!(out, "{}", fields.join(",")).map_err(io)?;
            }
            ExportFormat::Json => {
                let mut obj = serde_json::Map::new();
                for (i, name) in names.iter().enumerate() {
                    obj.insert(name.clone(), json_value(row.get_ref(i)?));
                }
                serde_json::to_writer(&mut *out, &obj)
                    .map_err(|e| StoreError::Invalid(format!("writing output: {e}")))?;
                writeln!(out).map_err(io)?;
            }
        }
        count += 1;
    }
    out.flush().map_err(io)?;
    Ok(count)
}

fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn json_value(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned().into(),
    }
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'`
/// so a spreadsheet does not run report text as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting_and_formula_guard() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
