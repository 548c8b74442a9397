//! The alert scenarios of `fixtures/alerts/` (see its make.py): a store in
//! a temp directory with the config's approvals, the reverse names the
//! enrichment stage would have found for the fixture's sources, ingest of a
//! scenario directory, and detection at a chosen time returning the alerts
//! it queued.

use dmarcwatch::alert::{outbox, StoredAlert};
use dmarcwatch::commands::Context;
use dmarcwatch::config::{self, Config};
use dmarcwatch::extract::ExtractLimits;
use dmarcwatch::source::Units;
use dmarcwatch::store::Store;
use std::path::PathBuf;

/// 2025-12-01 00:00:00 UTC: day 0 of the fixtures.
pub const D0: i64 = 1_764_547_200;
pub const DAY: i64 = 86_400;

/// example.com expects p=reject; its own /24 and Google Workspace are approved.
pub const CONFIG: &str = r#"
[[domain]]
name = "example.com"
expected_policy = "reject"
approved_sources = ["192.0.2.0/24", "service:Google Workspace"]
"#;

/// What enrichment knows of the fixture's sources: (ip, ptr, base, service).
const IP_INFO: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "209.85.220.41",
        "mail-sor-f41.google.com",
        "google.com",
        Some("Google Workspace"),
    ),
    (
        "209.85.220.99",
        "mail-sor-f99.google.com",
        "google.com",
        Some("Google Workspace"),
    ),
    (
        "54.240.8.10",
        "a8-10.smtp-out.amazonses.com",
        "amazonses.com",
        Some("Amazon SES"),
    ),
    (
        "54.240.8.77",
        "a8-77.smtp-out.amazonses.com",
        "amazonses.com",
        Some("Amazon SES"),
    ),
    (
        "203.0.113.20",
        "o20.mta.sendwave.example",
        "sendwave.example",
        None,
    ),
    (
        "203.0.113.21",
        "o21.mta.sendwave.example",
        "sendwave.example",
        None,
    ),
    (
        "203.0.113.22",
        "o22.mta.sendwave.example",
        "sendwave.example",
        None,
    ),
    (
        "203.0.113.23",
        "o23.mta.sendwave.example",
        "sendwave.example",
        None,
    ),
];

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/alerts")
        .join(name)
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub ctx: Context,
}

impl World {
    pub fn new(config_text: &str) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let config: Config = config::parse(config_text).expect("test config is valid");
        let ctx = Context {
            config,
            db_path: dir.path().join("dmarcwatch.db"),
            json: false,
            quiet: true,
        };
        let store = ctx.open_store().expect("open store");
        for (ip, ptr, base, service) in IP_INFO {
            store
                .conn()
                .execute(
                    "INSERT INTO ip_info (ip, ptr, base_domain, service, checked_at) \
                     VALUES (?1, ?2, ?3, ?4, 0)",
                    rusqlite::params![ip, ptr, base, service],
                )
                .expect("ip_info");
        }
        World { dir, store, ctx }
    }

    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// Ingest a scenario directory (or file) of fixtures/alerts.
    pub fn ingest(&mut self, scenario: &str) {
        let limits = ExtractLimits::default();
        for unit in Units::new(&[fixture(scenario)], limits.max_message_bytes) {
            let unit = unit.expect("readable fixture");
            self.store.ingest_unit(unit, &limits).expect("ingest works");
        }
    }

    /// Run detection at `now`; the alerts it queued, in queue order.
    pub fn detect(&mut self, now: i64) -> Vec<StoredAlert> {
        let ids = dmarcwatch::detect::run(self.store.conn(), &self.ctx.config, now)
            .expect("detection works");
        ids.iter()
            .map(|id| {
                outbox::load(self.store.conn(), id)
                    .expect("load")
                    .expect("queued alert exists")
            })
            .collect()
    }
}

/// `kind severity key` of each alert, for exact comparisons.
pub fn summary(alerts: &[StoredAlert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a.alert.kind.as_str(),
                a.alert.severity.as_str(),
                a.alert.key
            )
        })
        .collect()
}
