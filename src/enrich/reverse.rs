//! Reverse names of report sources, forward-confirmed (FCrDNS): the PTR
//! name counts only when its own A/AAAA lookup gives the address back, so
//! nobody can pass their server off as Google by its PTR alone.
//!
//! [`catch_up`] runs behind ingestion: it looks up every source address
//! whose cached answer is missing or expired, a bounded number at a time,
//! and writes the answers in batches. A failed lookup is retried after
//! `[dns] retry_after`; when nothing answers at all (offline), the pass
//! stops after the first batch and says so once.

use super::dns::{Dns, DnsFailure, Settings};
use super::ip_cache::{self, Ttl};
use super::services::ServiceMap;
use super::EnrichError;
use crate::config::Config;
use crate::store::{now, Store};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// PTR names tried for forward confirmation; more is a misconfiguration.
const MAX_NAMES: usize = 4;
/// Addresses looked up in one pass at most; the rest wait for the next.
const MAX_PER_PASS: usize = 50_000;

/// What the reverse lookup of one address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReverseName {
    /// The PTR name, and its A/AAAA gives the address back.
    Confirmed(String),
    /// A PTR name whose forward lookup does not include the address.
    Unconfirmed(String),
    /// No PTR record.
    None,
}

/// PTR of `ip`, then the forward lookup of each name (at most four).
pub async fn lookup(dns: &Dns, ip: IpAddr) -> Result<ReverseName, DnsFailure> {
    let names = dns.ptr_names(ip).await?;
    let Some(first) = names.first() else {
        return Ok(ReverseName::None);
    };
    let mut forward_failure = None;
    for name in names.iter().take(MAX_NAMES) {
        match dns.addresses(name, ip).await {
            Ok(addrs) if addrs.contains(&ip) => return Ok(ReverseName::Confirmed(name.clone())),
            Ok(_) => {}
            Err(e) => forward_failure = Some(e),
        }
    }
    match forward_failure {
        // Unconfirmed only when every forward lookup answered.
        Some(e) => Err(e),
        None => Ok(ReverseName::Unconfirmed(first.clone())),
    }
}

/// What one catch-up pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUp {
    pub looked_up: usize,
    pub confirmed: usize,
    pub unconfirmed: usize,
    pub no_name: usize,
    pub failed: usize,
    /// Left for the next pass because no server answered.
    pub postponed: usize,
    /// Failures by reason ("no answer in time" → 12).
    pub failures: BTreeMap<String, usize>,
    /// Where the queries went.
    pub servers: String,
}

impl CatchUp {
    /// One line for a person when lookups failed; `None` when all went well.
    pub fn warning(&self) -> Option<String> {
        if self.failed == 0 {
            return None;
        }
        let reasons: Vec<String> = self
            .failures
            .iter()
            .map(|(reason, n)| format!("{n} × {reason}"))
            .collect();
        let mut line = format!(
            "reverse DNS via {}: {} of {} lookups failed ({})",
            self.servers,
            self.failed,
            self.looked_up,
            reasons.join(", ")
        );
        if self.postponed > 0 {
            line.push_str(&format!(
                "; no server answered, {} more addresses wait for the next pass",
                self.postponed
            ));
        }
        line.push_str("; names already known are kept. Check [dns] nameservers and the network");
        Some(line)
    }

    /// Log the pass for the daemon's journal: a summary, and the warning.
    pub fn log(&self) {
        if self.looked_up > 0 {
            tracing::info!(
                looked_up = self.looked_up,
                confirmed = self.confirmed,
                unconfirmed = self.unconfirmed,
                no_name = self.no_name,
                failed = self.failed,
                "reverse DNS catch-up done"
            );
        }
        if let Some(w) = self.warning() {
            tracing::warn!("{w}");
        }
    }
}

/// Look up the reverse names of every source address not known yet (or
/// expired), with `[dns]`'s servers and concurrency. Does nothing when
/// `[dns] reverse = false`.
pub async fn catch_up(store: &mut Store, config: &Config) -> Result<CatchUp, EnrichError> {
    let services = ServiceMap::new(&config.services);
    ip_cache::refresh_services(store.conn_mut(), &services)?;
    if !config.dns.reverse {
        return Ok(CatchUp::default());
    }
    let settings = Settings::from_config(&config.dns, &[]).map_err(EnrichError::Config)?;
    let dns = Dns::new(&settings).map_err(EnrichError::Config)?;
    let ttl = Ttl::from_config(&config.dns);
    catch_up_with(store, &dns, &services, &ttl, settings.concurrency).await
}

/// [`catch_up`] with a given resolver: batches of due addresses, looked up
/// `concurrency` at a time, each batch written in one transaction. When the
/// server stays silent ([`Silence`]), the rest wait for the next pass:
/// offline, a pass costs one timeout, not one per address.
pub async fn catch_up_with(
    store: &mut Store,
    dns: &Dns,
    services: &ServiceMap,
    ttl: &Ttl,
    concurrency: usize,
) -> Result<CatchUp, EnrichError> {
    let concurrency = concurrency.max(1);
    let mut stats = CatchUp {
        servers: dns.servers().to_string(),
        ..CatchUp::default()
    };
    let silence = Silence::new(concurrency);
    // One scan for the whole pass; the batches are slices of it.
    let due = ip_cache::due(store.conn(), now(), MAX_PER_PASS)?;
    for batch in due.chunks(concurrency * 8) {
        let silence = &silence;
        let answers: Vec<(IpAddr, Result<ReverseName, DnsFailure>)> = stream::iter(batch.to_vec())
            .map(|ip| async move {
                if silence.gave_up() {
                    return None;
                }
                let answer = lookup(dns, ip).await;
                silence.record(&answer);
                Some((ip, answer))
            })
            .buffer_unordered(concurrency)
            .filter_map(|answer| async move { answer })
            .collect()
            .await;
        for (ip, answer) in &answers {
            stats.count(answer);
            if let Err(e) = answer {
                tracing::debug!(%ip, "reverse DNS lookup failed: {e}");
            }
        }
        ip_cache::save(store.conn_mut(), &answers, services, ttl, now())?;
        if silence.gave_up() {
            stats.postponed = ip_cache::due_count(store.conn(), now())?;
            break;
        }
    }
    Ok(stats)
}

/// When to stop asking: the first answer of the pass was silence (no
/// server reachable: no new lookups start), or `limit` lookups in a row got
/// silence (the network went away mid-pass).
struct Silence {
    in_a_row: AtomicUsize,
    answered: AtomicBool,
    limit: usize,
}

impl Silence {
    fn new(limit: usize) -> Silence {
        Silence {
            in_a_row: AtomicUsize::new(0),
            answered: AtomicBool::new(false),
            limit,
        }
    }

    fn record(&self, answer: &Result<ReverseName, DnsFailure>) {
        match answer {
            Err(e) if e.is_silence() => {
                self.in_a_row.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                self.in_a_row.store(0, Ordering::Relaxed);
                self.answered.store(true, Ordering::Relaxed);
            }
        }
    }

    fn gave_up(&self) -> bool {
        let silent = self.in_a_row.load(Ordering::Relaxed);
        silent >= self.limit || (silent > 0 && !self.answered.load(Ordering::Relaxed))
    }
}

impl CatchUp {
    fn count(&mut self, answer: &Result<ReverseName, DnsFailure>) {
        self.looked_up += 1;
        match answer {
            Ok(ReverseName::Confirmed(_)) => self.confirmed += 1,
            Ok(ReverseName::Unconfirmed(_)) => self.unconfirmed += 1,
            Ok(ReverseName::None) => self.no_name += 1,
            Err(e) => {
                self.failed += 1;
                *self.failures.entry(e.to_string()).or_default() += 1;
            }
        }
    }
}
