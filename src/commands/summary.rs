//! `dmarcwatch summary`: per domain, the volume, DMARC pass rate, SPF and
//! DKIM alignment, and the sources failing most.

use super::percent;
use crate::store::queries::{self, DomainSummary};
use crate::store::{Store, StoreError};
use std::io::{self, Write};

pub const TOP_FAILING: usize = 5;

pub fn run(
    store: &Store,
    domain: Option<&str>,
    since: Option<i64>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    let domains = queries::summary(store.conn(), domain, since, TOP_FAILING)?;
    print(&domains, json, out).map_err(|e| StoreError::Invalid(format!("writing output: {e}")))
}

fn print(domains: &[DomainSummary], json: bool, out: &mut dyn Write) -> io::Result<()> {
    if json {
        for d in domains {
            serde_json::to_writer(&mut *out, d)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    if domains.is_empty() {
        writeln!(
            out,
            "No reports stored yet (run `dmarcwatch ingest PATH` or `dmarcwatch fetch`)."
        )?;
        return Ok(());
    }
    for d in domains {
        writeln!(
            out,
            "{}: {} reports, {} messages, DMARC pass {}, SPF aligned {}, DKIM aligned {}",
            d.domain,
            d.reports,
            d.messages,
            percent(d.pass_rate()),
            percent(d.spf_rate()),
            percent(d.dkim_rate())
        )?;
        for s in &d.top_failing {
            let name = s.ptr.as_deref().or(s.service.as_deref()).unwrap_or("");
            writeln!(
                out,
                "  failing: {:<39} {:>8} of {:>8} messages fail ({}) {}",
                s.source_ip,
                s.dmarc_fail_messages,
                s.messages,
                percent(s.fail_rate()),
                name
            )?;
        }
    }
    Ok(())
}
