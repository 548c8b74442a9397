//! Small RFC 7489 aggregate reports written on the fly: one report for
//! example.com covering the last day, one record per source with its
//! message count and policy_evaluated DKIM/SPF results.

/// One record: (source IP, messages, dkim, spf), e.g. ("192.0.2.1", 10, "pass", "fail").
pub type Row<'a> = (&'a str, u64, &'a str, &'a str);

/// The report `id` from `receiver.example` for example.com, ending now.
pub fn report_xml(id: &str, rows: &[Row]) -> String {
    let records: String = rows
        .iter()
        .map(|(ip, count, dkim, spf)| {
            format!(
                "<record><row><source_ip>{ip}</source_ip><count>{count}</count>\
                 <policy_evaluated><disposition>none</disposition><dkim>{dkim}</dkim>\
                 <spf>{spf}</spf></policy_evaluated></row>\
                 <identifiers><header_from>example.com</header_from></identifiers>\
                 <auth_results><spf><domain>example.com</domain><result>{spf}</result></spf>\
                 </auth_results></record>"
            )
        })
        .collect();
    let now = chrono::Utc::now().timestamp();
    format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>receiver.example</org_name>\
         <email>dmarc@receiver.example</email><report_id>{id}</report_id><date_range>\
         <begin>{}</begin><end>{}</end></date_range></report_metadata>\
         <policy_published><domain>example.com</domain><p>reject</p></policy_published>\
         {records}</feedback>",
        now - 86400,
        now - 1
    )
}

/// Write report `id` into the working directory and `dmarcwatch ingest` it.
pub fn ingest(work: &super::workdir::Workdir, id: &str, rows: &[Row]) -> std::process::Output {
    let file = work.path(&format!("{id}.xml"));
    std::fs::write(&file, report_xml(id, rows)).expect("write report");
    work.dmarcwatch(&["ingest", &file.display().to_string()])
}
