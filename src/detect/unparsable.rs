//! report_unparsable: an input that yielded no report (a row of
//! `v_failures` not yet resolved, stored within the window), with the
//! error and where the raw bytes are. Raised once per input. An e-mail with
//! no attachment at all is most likely not a report (spam, a person writing
//! to the rua address): info; anything else lost data: warning.

use super::{fixes, Settings, ONCE};
use crate::alert::escape::{clean, value};
use crate::alert::{Alert, Kind, Severity};
use crate::store::StoreError;
use rusqlite::{params, Connection};
use serde_json::json;

pub fn detect(conn: &Connection, s: &Settings, now: i64) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, origin, received_at, error, partial, raw IS NOT NULL, attempts \
         FROM failures WHERE resolved_at IS NULL AND received_at > ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![now - s.window], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, bool>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut alerts = Vec::new();
    for row in rows {
        let (id, origin, received, error, partial, raw_kept, attempts) = row?;
        let origin = value(&origin);
        let error = clean(&error, 400);
        let not_a_report = !partial && error.starts_with("no report attachment in the e-mail");
        let severity = if not_a_report {
            Severity::Info
        } else {
            Severity::Warning
        };
        let mut a = Alert::new(
            Kind::ReportUnparsable,
            severity,
            None,
            format!("report_unparsable:{id}"),
        );
        a.cooldown_secs = ONCE;
        a.title = if partial {
            format!("A report in {origin} could not be read (others in it were stored)")
        } else {
            format!("No DMARC report could be read from {origin}")
        };
        a.summary = format!(
            "{origin}: {error}. {} It is failure {id} in v_failures.",
            if raw_kept {
                "Its raw bytes are kept in the database (gzip'd)."
            } else {
                "Its raw bytes were not kept."
            }
        );
        a.evidence = json!({
            "failure_id": id,
            "origin": origin,
            "error": error,
            "received_at": crate::store::queries::datetime(received),
            "partial": partial,
            "raw_kept": raw_kept,
            "attempts": attempts,
        });
        a.fix_steps = fixes::report_unparsable(id, raw_kept);
        alerts.push(a);
    }
    Ok(alerts)
}
