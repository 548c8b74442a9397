//! Report e-mails for the mailbox tests and benchmarks: each carries one
//! small aggregate report (RFC 7489, as an XML attachment) with its own
//! report id, so N messages are N distinct reports; and e-mails with no
//! report at all, each different (failures are kept once per content).

/// Report `n`: reporter `mx.test.example`, id `dw-<n>`, two records.
pub fn report_email(n: usize) -> Vec<u8> {
    let begin = 1_700_000_000 + n as u64 * 86_400;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <report_metadata>\n\
         <org_name>mx.test.example</org_name><email>dmarc@mx.test.example</email>\n\
         <report_id>dw-{n}</report_id><date_range><begin>{begin}</begin><end>{end}</end></date_range>\n\
         </report_metadata>\n  <policy_published><domain>example.com</domain><p>none</p></policy_published>\n\
         <record><row><source_ip>192.0.2.{a}</source_ip><count>{c1}</count><policy_evaluated>\
         <disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>\
         <identifiers><header_from>example.com</header_from></identifiers>\
         <auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>\n\
         <record><row><source_ip>198.51.100.{b}</source_ip><count>1</count><policy_evaluated>\
         <disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>\
         <identifiers><header_from>example.com</header_from></identifiers>\
         <auth_results><spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>\n\
         </feedback>\n",
        end = begin + 86_399,
        a = n % 250 + 1,
        b = n % 200 + 1,
        c1 = n % 7 + 1,
    );
    format!(
        "From: DMARC <dmarc@mx.test.example>\r\nTo: reports@example.com\r\n\
         Subject: Report Domain: example.com Submitter: mx.test.example Report-ID: dw-{n}\r\n\
         Message-ID: <dw-{n}@mx.test.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nAn aggregate report.\r\n--b\r\n\
         Content-Type: application/xml\r\n\
         Content-Disposition: attachment; filename=\"mx.test.example!example.com!{begin}!{end}.xml\"\r\n\r\n\
         {xml}\r\n--b--\r\n",
        end = begin + 86_399,
        xml = xml.replace('\n', "\r\n"),
    )
    .into_bytes()
}

/// An e-mail with no report in it (different for each `n`).
pub fn no_report_email(n: usize) -> Vec<u8> {
    format!(
        "From: Someone <someone@example.org>\r\nTo: reports@example.com\r\n\
         Subject: Hello {n}\r\nMessage-ID: <hello-{n}@example.org>\r\n\
         Content-Type: text/plain\r\n\r\nNo report in here ({n}).\r\n"
    )
    .into_bytes()
}
