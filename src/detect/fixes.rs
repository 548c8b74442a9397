//! The fix steps of each kind: concrete, in the order a postmaster does
//! them, naming the platform, the domains and the command to run. Inputs
//! are already cleaned values.

use super::facts::Tally;

fn approve_step(domain: &str, approve: &[String]) -> Option<String> {
    (!approve.is_empty()).then(|| {
        let cmds: Vec<String> = approve
            .iter()
            .map(|a| format!("`dmarcwatch approve {a} --domain {domain}`"))
            .collect();
        format!("Then mark it as a known sender: {}.", cmds.join(", "))
    })
}

/// The platform passes SPF/DKIM for its own domains, not ours.
pub fn alignment_drift(domain: &str, platform: &str, t: &Tally, approve: &[String]) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some((spf, _)) = t.spf_unaligned.ranked().first() {
        steps.push(format!(
            "Configure a custom return-path (bounce domain) on {platform} under {domain}, \
             e.g. bounce.{domain}, and publish the DNS records {platform} gives for it, so that \
             SPF passes for a domain aligned with {domain}; now it passes for {spf}."
        ));
    }
    if let Some((dkim, _)) = t.dkim_unaligned.ranked().first() {
        steps.push(format!(
            "Set up DKIM signing with your own domain on {platform}: publish the selector \
             records (CNAME or TXT) it gives under {domain}, so that its mail is signed \
             d={domain}; now it signs d={dkim}."
        ));
    }
    if steps.is_empty() {
        steps.push(format!(
            "Make {platform} authenticate as {domain}: a return-path under {domain} for SPF, \
             or DKIM signing with d={domain}."
        ));
    }
    steps.push(format!(
        "Send a test message through {platform} and check its Authentication-Results \
         header: it should say dmarc=pass header.from={domain}."
    ));
    steps.extend(approve_step(domain, approve));
    steps.push(format!(
        "If you do not use {platform}, this is someone else sending as {domain}: do not \
         approve it, and keep (or move to) p=quarantine or p=reject."
    ));
    steps
}

/// Unauthenticated mail from a source.
pub fn failing_sender(domain: &str, source: &str, approve: &[String]) -> Vec<String> {
    let mut steps = vec![
        format!(
            "Find out whether {source} sends for you: a service, a branch office, a device, \
             a forgotten server."
        ),
        format!(
            "If it does, authorise it: add it to the SPF record of {domain} (or give it a \
             return-path under {domain}) and sign its mail with DKIM d={domain}."
        ),
    ];
    steps.extend(approve_step(domain, approve));
    steps.push(format!(
        "If it does not, it is spoofing {domain}: once your own senders pass, move the \
         DMARC policy to p=quarantine and then p=reject so receivers stop delivering it."
    ));
    steps
}

/// A source not seen before.
pub fn new_sender(domain: &str, source: &str, passes: bool, approve: &[String]) -> Vec<String> {
    let mut steps = Vec::new();
    if passes {
        steps.push(format!(
            "Nothing is broken: {source} passes DMARC. Confirm that someone in your \
             organisation set it up (it has DKIM keys or SPF authority for {domain})."
        ));
    } else {
        steps.push(format!(
            "Find out whether {source} sends for you; if it does, authorise it with SPF \
             (a return-path under {domain}) and DKIM d={domain}."
        ));
    }
    if let Some(step) = approve_step(domain, approve) {
        steps.push(step.replacen("Then mark", "Mark", 1));
    }
    steps.push(format!(
        "If nobody knows it, review the SPF includes and DKIM selectors of {domain} and \
         revoke what is not yours."
    ));
    steps
}

/// Receivers see another policy than the config expects.
pub fn policy_mismatch(domain: &str, expected: Option<&str>, testing: bool) -> Vec<String> {
    let mut steps = vec![format!(
        "Look at the published record: `dig +short TXT _dmarc.{domain}`."
    )];
    if testing {
        steps.push(format!(
            "Remove t=y from the record of {domain} once your senders pass: in testing mode \
             receivers apply the next weaker policy."
        ));
    }
    if let Some(p) = expected {
        steps.push(format!(
            "Publish p={p} in _dmarc.{domain} (keep the rua= tag), or, if the published \
             policy is what you want, set expected_policy under [[domain]] {domain} in the \
             config."
        ));
    }
    steps.push("Reports show the change a day or two later, when receivers report again.".into());
    steps
}

/// A receiver (or every receiver) stopped reporting.
pub fn reporter_silent(domain: &str, all: bool) -> Vec<String> {
    let mut steps = vec![
        format!(
            "Check that the record still asks for reports: `dig +short TXT _dmarc.{domain}` \
             must show rua=mailto:…"
        ),
        format!(
            "If the rua address is in another domain, that domain must authorise it: \
             {domain}._report._dmarc.<that domain> TXT \"v=DMARC1\"."
        ),
    ];
    if all {
        steps.push(
            "Check the report mailbox and dmarcwatch: is mail arriving (quota, spam filter, \
             forwarding), does `dmarcwatch fetch` run, and what do v_failures and the log say?"
                .into(),
        );
    } else {
        steps.push(
            "Receivers report only when they received mail from you: if you sent nothing to \
             them, the silence is expected."
                .into(),
        );
    }
    steps
}

/// An input that yielded no report.
pub fn report_unparsable(failure_id: i64, raw_kept: bool) -> Vec<String> {
    let mut steps = vec![
        "If it is not a DMARC report (spam or a person writing to the rua address), there is \
         nothing to do."
            .to_string(),
    ];
    if raw_kept {
        steps.push(format!(
            "To look at it: `sqlite3 dmarcwatch.db \"SELECT writefile('failure-{failure_id}.gz', \
             raw) FROM failures WHERE id = {failure_id}\"` then `gunzip failure-{failure_id}.gz`."
        ));
        steps.push(
            "After upgrading dmarcwatch, `dmarcwatch reprocess` reads it again; if it still \
             fails, report the file to the dmarcwatch project."
                .into(),
        );
    } else {
        steps.push(
            "The raw input was not kept ([database] keep_raw = false, or too large): fetch \
             it again from where it came to look at it."
                .into(),
        );
    }
    steps
}
