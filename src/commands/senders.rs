//! `dmarcwatch senders` and `dmarcwatch approve`: who sends as our domains,
//! and marking the legitimate ones.

use super::percent;
use crate::store::queries::{self, Sender, SenderFilter};
use crate::store::{approvals, Store, StoreError};
use std::io::{self, Write};

pub fn run(
    store: &Store,
    filter: &SenderFilter,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    let senders = queries::senders(store.conn(), filter)?;
    print(&senders, json, out).map_err(|e| StoreError::Invalid(format!("writing output: {e}")))
}

fn print(senders: &[Sender], json: bool, out: &mut dyn Write) -> io::Result<()> {
    if json {
        for s in senders {
            serde_json::to_writer(&mut *out, s)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<39} {:>9} {:>7} {:<19} {:<19} {:<8} PTR / SERVICE",
        "DOMAIN", "SOURCE", "MESSAGES", "FAIL", "FIRST SEEN", "LAST SEEN", "FLAGS"
    )?;
    for s in senders {
        let mut flags = Vec::new();
        if s.approved {
            flags.push("approved");
        }
        if s.blocklisted {
            flags.push("LISTED");
        }
        let name = [s.ptr.as_deref(), s.service.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        writeln!(
            out,
            "{:<24} {:<39} {:>9} {:>7} {:<19} {:<19} {:<8} {}",
            s.domain,
            s.source_ip,
            s.messages,
            percent(s.fail_rate()),
            s.first_seen,
            s.last_seen,
            flags.join(","),
            name
        )?;
    }
    Ok(())
}

/// `dmarcwatch approve SOURCE [--domain D]`. Without `--domain`, the one
/// domain configured or stored; several make `--domain` required.
pub fn approve(store: &Store, source: &str, domain: Option<&str>) -> Result<String, StoreError> {
    let domain = match domain {
        Some(d) => d.to_ascii_lowercase(),
        None => {
            let known = queries::domains(store.conn(), None)?;
            match known.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(StoreError::Invalid(
                        "no domain known yet: say which with --domain".into(),
                    ))
                }
                many => {
                    return Err(StoreError::Invalid(format!(
                        "several domains are known ({}): say which with --domain",
                        many.join(", ")
                    )))
                }
            }
        }
    };
    approvals::approve(store.conn(), &domain, source, "command")?;
    Ok(domain)
}
