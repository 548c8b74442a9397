//! DNS blocklist monitoring of our own sending addresses. [`check`] asks
//! every zone of `[blocklist] zones` about every monitored address
//! ([`targets`]), `concurrency` queries in flight and at most
//! `rate_per_zone` a second to each zone ([`pace`]), reads the answers
//! ([`query`]), and records them per address × zone ([`state`]); each change
//! of `listed` queues a `blocklist_listed` / `blocklist_delisted` alert
//! ([`alerts`]) in the same transaction. Failed queries change nothing.
//! The CLI runs it with `dmarcwatch blocklist`, the daemon on `schedule`.

pub mod alerts;
pub mod pace;
pub mod query;
pub mod state;
pub mod targets;
pub mod zones;

use super::dns::{Dns, Settings};
use super::EnrichError;
use crate::config::{BlocklistConfig, Config};
use crate::store::Store;
use futures::stream::{self, StreamExt};
use pace::{ZonePace, TRIP_AFTER};
use query::Verdict;
use state::Change;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What one check pass found and did.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub addresses: usize,
    pub zones: usize,
    /// Address × zone pairs answered: listed + not listed.
    pub answered: usize,
    pub listed: usize,
    /// Pairs without a usable answer (state kept).
    pub failed: usize,
    /// Per zone: failures and the first error seen.
    pub errors: BTreeMap<String, (usize, String)>,
    pub changes: Vec<Change>,
    /// Alerts queued (a change whose key is cooling down queues none).
    pub alerts: usize,
    pub concurrency: usize,
    pub rate_per_zone: u32,
    pub elapsed: Duration,
    pub servers: String,
}

impl CheckReport {
    /// One line per zone that failed, for a person.
    pub fn warnings(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|(zone, (n, first))| {
                format!(
                    "blocklist {zone} via {}: {n} of {} checks failed ({first}); the last known state is kept",
                    self.servers, self.addresses
                )
            })
            .collect()
    }

    /// Log the pass for the daemon's journal.
    pub fn log(&self) {
        tracing::info!(
            addresses = self.addresses,
            zones = self.zones,
            listed = self.listed,
            failed = self.failed,
            changes = self.changes.len(),
            elapsed_ms = self.elapsed.as_millis() as u64,
            "blocklist check done"
        );
        for w in self.warnings() {
            tracing::warn!("{w}");
        }
    }
}

/// Check the monitored addresses of `config` now (`[blocklist]`, or its
/// defaults when the section is absent).
pub async fn check(
    store: &mut Store,
    config: &Config,
    now: i64,
) -> Result<CheckReport, EnrichError> {
    let blocklist = config.blocklist.clone().unwrap_or_default();
    let targets = targets::monitored(store.conn(), &blocklist, now)?;
    let mut settings =
        Settings::from_config(&config.dns, &blocklist.nameservers).map_err(EnrichError::Config)?;
    settings.concurrency = blocklist.concurrency;
    let dns = Dns::new(&settings).map_err(EnrichError::Config)?;
    check_with(store, &dns, &blocklist, &targets, now).await
}

/// [`check`] with a given resolver and address list.
pub async fn check_with(
    store: &mut Store,
    dns: &Dns,
    blocklist: &BlocklistConfig,
    targets: &[IpAddr],
    now: i64,
) -> Result<CheckReport, EnrichError> {
    let started = Instant::now();
    let zones: Vec<(String, ZonePace)> = blocklist
        .zones
        .iter()
        .map(|z| {
            let zone = z.trim_matches('.').to_ascii_lowercase();
            (zone, ZonePace::new(blocklist.rate_per_zone))
        })
        .collect();
    // Address by address, each asking every zone: the zones run side by side.
    let pairs: Vec<(IpAddr, usize)> = targets
        .iter()
        .flat_map(|ip| (0..zones.len()).map(move |z| (*ip, z)))
        .collect();
    let zones = &zones;
    let verdicts: Vec<(IpAddr, usize, Verdict)> = stream::iter(pairs)
        .map(|(ip, z)| async move {
            let (zone, pace) = &zones[z];
            let verdict = if pace.tripped() {
                Verdict::Failed(format!(
                    "{zone}: not asked, {TRIP_AFTER} queries in a row failed in this pass"
                ))
            } else {
                let v = query::ask(dns, pace, ip, zone).await;
                pace.record(!matches!(v, Verdict::Failed(_)));
                v
            };
            (ip, z, verdict)
        })
        .buffer_unordered(blocklist.concurrency.max(1))
        .collect()
        .await;

    let mut report = CheckReport {
        addresses: targets.len(),
        zones: zones.len(),
        concurrency: blocklist.concurrency,
        rate_per_zone: blocklist.rate_per_zone,
        servers: dns.servers().to_string(),
        ..CheckReport::default()
    };
    let tx = store.conn_mut().transaction()?;
    for (ip, z, verdict) in &verdicts {
        let zone = zones[*z].0.as_str();
        match verdict {
            Verdict::Listed { .. } => {
                report.answered += 1;
                report.listed += 1;
            }
            Verdict::NotListed => report.answered += 1,
            Verdict::Failed(e) => {
                report.failed += 1;
                let entry = report
                    .errors
                    .entry(zone.to_string())
                    .or_insert_with(|| (0, e.clone()));
                entry.0 += 1;
            }
        }
        if let Some(change) = state::record(&tx, &ip.to_string(), zone, verdict, now)? {
            if alerts::raise(&tx, &change, now)?.is_some() {
                report.alerts += 1;
            }
            report.changes.push(change);
        }
    }
    tx.commit()?;
    report.elapsed = started.elapsed();
    Ok(report)
}
