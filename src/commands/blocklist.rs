//! The DNS side of the command line: `dmarcwatch blocklist` (check the
//! monitored addresses now, print the changes and the current listings),
//! and the reverse-name catch-up that `ingest` runs after storing.

use crate::config::Config;
use crate::enrich;
use crate::enrich::blocklist::state::{self, Direction, Listing};
use crate::enrich::blocklist::{self, CheckReport};
use crate::store::{now, Store};
use std::io::{self, Write};

/// Look up the reverse names ingest left behind; problems are one warning
/// line on stderr, never an error: the reports are stored either way.
pub fn names_after_ingest(store: &mut Store, config: &Config, quiet: bool) {
    let warning = match super::runtime().map(|rt| rt.block_on(enrich::catch_up(store, config))) {
        Ok(Ok(stats)) => stats.warning(),
        Ok(Err(e)) => Some(format!("reverse DNS skipped: {e}")),
        Err(e) => Some(format!("reverse DNS skipped: {e:#}")),
    };
    if let (Some(w), false) = (warning, quiet) {
        eprintln!("dmarcwatch: warning: {w}");
    }
}

/// `dmarcwatch blocklist`: returns how many address × zone pairs are listed now.
pub fn run(
    store: &mut Store,
    config: &Config,
    json: bool,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let report = super::runtime()?.block_on(blocklist::check(store, config, now()))?;
    if !quiet {
        for w in report.warnings() {
            eprintln!("dmarcwatch: warning: {w}");
        }
    }
    if report.addresses > 0 && report.answered == 0 {
        anyhow::bail!(
            "no blocklist answered through {} (see the warnings above); check [blocklist] nameservers and the network",
            report.servers
        );
    }
    let listings = state::listings(store.conn())?;
    if json {
        print_json(&listings, out)?;
    } else {
        print_text(&report, &listings, out)?;
    }
    Ok(listings.len())
}

fn print_json(listings: &[Listing], out: &mut dyn Write) -> io::Result<()> {
    for l in listings {
        serde_json::to_writer(&mut *out, l)?;
        writeln!(out)?;
    }
    Ok(())
}

fn print_text(report: &CheckReport, listings: &[Listing], out: &mut dyn Write) -> io::Result<()> {
    if report.addresses == 0 {
        writeln!(
            out,
            "nothing to check: list addresses in [blocklist] ips, or ingest reports (from_reports = true watches the sources that pass SPF alignment)"
        )?;
    } else {
        writeln!(
            out,
            "checked {} addresses × {} zones in {:.1} s ({} in flight, {}/s per zone): {} listed, {} failed, {} changed",
            report.addresses,
            report.zones,
            report.elapsed.as_secs_f64(),
            report.concurrency,
            report.rate_per_zone,
            report.listed,
            report.failed,
            report.changes.len()
        )?;
    }
    for c in &report.changes {
        let what = match c.direction {
            Direction::Listed => "newly listed",
            Direction::Delisted => "delisted",
        };
        writeln!(
            out,
            "  {what}: {} on {} ({})",
            c.ip,
            c.zone,
            c.return_code.as_deref().unwrap_or("-")
        )?;
    }
    if listings.is_empty() {
        return writeln!(out, "no monitored address is listed");
    }
    writeln!(
        out,
        "{:<39} {:<28} {:<23} {:<19} REASON",
        "LISTED ADDRESS", "ZONE", "CODE", "SINCE"
    )?;
    for l in listings {
        let mut reason = l.reason.clone().unwrap_or_default();
        if let Some(e) = &l.last_error {
            reason = format!("(last check failed: {e}) {reason}");
        }
        writeln!(
            out,
            "{:<39} {:<28} {:<23} {:<19} {}",
            l.ip,
            l.zone,
            l.return_code.as_deref().unwrap_or("-"),
            l.since,
            reason.trim()
        )?;
    }
    Ok(())
}
