//! Tests for `dmarcwatch::mail`: one per fixture in fixtures/mail (written by
//! fixtures/mail/generate.py), plus a check over the shared real-world corpus.

use std::path::{Path, PathBuf};

use dmarcwatch::mail::{parse_message, Message, Part};
use dmarcwatch::source::mbox::{is_separator, MboxMessages};

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZIP: &[u8] = b"PK\x03\x04";
const XML: &[u8] = b"<?xml";
const GZ_NAME: &str = "reporter.example!example.com!1700000000!1700086399.xml.gz";
const ZIP_NAME: &str = "google.com!example.com!1700000000!1700086399.zip";
const SES_NAME: &str = "amazonses.com!example.com!1700000000!1700086400.xml.gz";
const OUTLOOK_NAME: &str = "protection.outlook.com!example.com!1700000000!1700086400.xml.gz";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mail")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> Message {
    parse_message(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Asserts the message holds exactly one part, with this name and magic.
fn single_part<'a>(msg: &'a Message, name: Option<&str>, magic: &[u8]) -> &'a Part {
    assert_eq!(msg.parts.len(), 1, "parts: {:?}", summary(msg));
    let part = &msg.parts[0];
    assert_eq!(part.name.as_deref(), name);
    assert!(part.bytes.starts_with(magic), "{:?}", summary(msg));
    part
}

fn summary(msg: &Message) -> Vec<(Option<String>, Option<String>, usize)> {
    msg.parts
        .iter()
        .map(|p| (p.name.clone(), p.content_type.clone(), p.bytes.len()))
        .collect()
}

#[test]
fn multipart_gzip_attachment() {
    let msg = parse("multipart-gzip-attachment.eml");
    let part = single_part(&msg, Some(GZ_NAME), GZIP);
    assert_eq!(part.content_type.as_deref(), Some("application/gzip"));
    assert_eq!(msg.from_domain.as_deref(), Some("reporter.example"));
    assert_eq!(msg.subject.as_deref(), Some("Report Domain: example.com"));
    assert_eq!(msg.message_id.as_deref(), Some("gz-1@reporter.example"));
}

#[test]
fn google_single_part_zip_body() {
    let msg = parse("google-single-part-zip-body.eml");
    let part = single_part(&msg, Some(ZIP_NAME), ZIP);
    assert_eq!(part.content_type.as_deref(), Some("application/zip"));
    assert_eq!(msg.from_domain.as_deref(), Some("google.com"));
}

#[test]
fn forwarded_rfc822_attachment() {
    let msg = parse("forwarded-rfc822-attachment.eml");
    single_part(&msg, Some(ZIP_NAME), ZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("forwarder.example"));
}

#[test]
fn microsoft_mixed_related_alternative() {
    let msg = parse("microsoft-mixed-related-alternative.eml");
    single_part(&msg, Some(OUTLOOK_NAME), GZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("microsoft.com"));
}

#[test]
fn microsoft_colon_less_header() {
    let msg = parse("microsoft-colon-less-header.eml");
    let part = single_part(&msg, Some(OUTLOOK_NAME), GZIP);
    assert_eq!(part.content_type.as_deref(), Some("application/gzip"));
}

#[test]
fn amazon_ses_unquoted_name() {
    let msg = parse("amazon-ses-unquoted-name.eml");
    let part = single_part(&msg, Some(SES_NAME), GZIP);
    assert_eq!(
        part.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(msg.from_domain.as_deref(), Some("amazonses.com"));
}

#[test]
fn rfc2231_split_names() {
    let msg = parse("rfc2231-split-names.eml");
    assert_eq!(msg.parts.len(), 2, "{:?}", summary(&msg));
    for part in &msg.parts {
        assert_eq!(part.name.as_deref(), Some(SES_NAME));
        assert!(part.bytes.starts_with(GZIP));
    }
}

#[test]
fn trustwave_contenttype_typo_part() {
    let msg = parse("trustwave-contenttype-typo-part.eml");
    let part = single_part(&msg, Some(GZ_NAME), GZIP);
    assert_eq!(part.content_type.as_deref(), Some("application/gzip"));
}

#[test]
fn trustwave_contenttype_typo_message() {
    let msg = parse("trustwave-contenttype-typo-message.eml");
    single_part(&msg, Some(GZ_NAME), GZIP);
}

#[test]
fn unknown_type_base64_body() {
    let msg = parse("unknown-type-base64-body.eml");
    single_part(&msg, None, ZIP);
}

#[test]
fn forwarded_inline_base64_in_text() {
    let msg = parse("forwarded-inline-base64-in-text.eml");
    single_part(&msg, None, ZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("forwarder.example"));
}

#[test]
fn fastmail_mime_headers_in_body() {
    let msg = parse("fastmail-mime-headers-in-body.eml");
    single_part(&msg, Some(GZ_NAME), GZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("fastmail.example"));
}

#[test]
fn pobox_boundary_in_body() {
    let msg = parse("pobox-boundary-in-body.eml");
    single_part(&msg, Some(GZ_NAME), GZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("pobox.example"));
}

#[test]
fn leading_junk_mbox_from_line() {
    let msg = parse("leading-junk-mbox-from-line.eml");
    single_part(&msg, Some(GZ_NAME), GZIP);
    assert_eq!(msg.from_domain.as_deref(), Some("reporter.example"));
    assert_eq!(msg.message_id.as_deref(), Some("gz-1@reporter.example"));
}

#[test]
fn plain_xml_attachment() {
    let msg = parse("plain-xml-attachment.eml");
    let part = single_part(&msg, Some("report.xml"), XML);
    assert_eq!(part.content_type.as_deref(), Some("text/xml"));
}

#[test]
fn inline_xml_part_is_quoted_printable_decoded() {
    let msg = parse("inline-xml-part.eml");
    let part = single_part(&msg, None, XML);
    let text = String::from_utf8_lossy(&part.bytes);
    assert!(text.contains("<org_name>xml.example</org_name>"), "{text}");
    assert!(!text.contains("=\n"), "soft line breaks left: {text}");
}

#[test]
fn text_plain_body_is_xml() {
    let msg = parse("text-plain-body-is-xml.eml");
    single_part(&msg, None, b"<feedback>");
}

#[test]
fn no_report_plain_text() {
    let msg = parse("no-report-plain-text.eml");
    assert!(msg.parts.is_empty(), "{:?}", summary(&msg));
    assert_eq!(msg.from_domain.as_deref(), Some("example.org"));
}

#[test]
fn not_an_email_is_an_error() {
    for input in [&b""[..], b"\n \r\n\t", b"just some words\nand more\n"] {
        let err = parse_message(input).expect_err("not an e-mail");
        assert!(!err.to_string().contains('\n'));
    }
}

#[test]
fn hostile_input_does_not_panic() {
    let raw = fixture("microsoft-colon-less-header.eml");
    for cut in (0..raw.len()).step_by(7) {
        let _ = parse_message(&raw[..cut]);
    }
    let _ = parse_message(&[0x1f, 0x8b, 0x08, 0x00, b':', b'\n', 0xff, 0xfe]);
}

#[test]
fn mbox_is_split_at_from_lines() {
    let data = fixture("two-messages.mbox");
    assert!(is_separator(&data[..64]));
    assert!(!is_separator(&fixture("google-single-part-zip-body.eml")));
    let messages: Vec<Vec<u8>> = MboxMessages::new(&data[..], 1 << 20)
        .map(|m| m.expect("in-memory read").bytes)
        .collect();
    assert_eq!(messages.len(), 2);
    let first = parse_message(&messages[0]).expect("first message");
    let second = parse_message(&messages[1]).expect("second message");
    single_part(&first, Some(GZ_NAME), GZIP);
    single_part(&second, Some(ZIP_NAME), ZIP);
}

/// Every `eml-aggregate` e-mail of the shared corpus yields a report-like part.
#[test]
fn corpus_aggregate_emails_yield_a_report_part() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(corpus.join("MANIFEST.tsv")) else {
        eprintln!("skipped: no corpus at {}", corpus.display());
        return;
    };
    let files = aggregate_emails(&manifest, &corpus);
    assert!(!files.is_empty(), "no eml-aggregate rows in MANIFEST.tsv");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| check_corpus_email(path).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Paths of MANIFEST.tsv rows with kind `eml-aggregate` and container `eml`.
/// Only the trailing notes column is ever quoted, so splitting on tabs is enough
/// for the leading columns.
fn aggregate_emails(manifest: &str, corpus: &Path) -> Vec<PathBuf> {
    let mut rows = manifest
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>());
    let header = rows.next().unwrap_or_default();
    let column = |name: &str| header.iter().position(|&h| h == name);
    let (Some(path), Some(kind), Some(container)) =
        (column("path"), column("kind"), column("container"))
    else {
        panic!("MANIFEST.tsv lacks path/kind/container columns");
    };
    rows.filter(|row| row.get(kind) == Some(&"eml-aggregate"))
        .filter(|row| row.get(container) == Some(&"eml"))
        .filter_map(|row| row.get(path).map(|p| corpus.join(p)))
        .collect()
}

fn check_corpus_email(path: &Path) -> Result<(), String> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let msg = parse_message(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
    let found = msg.parts.iter().any(|p| {
        p.bytes.starts_with(GZIP)
            || p.bytes.starts_with(ZIP)
            || p.bytes.windows(9).any(|w| w == b"<feedback")
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "{}: no report part in {:?}",
            path.display(),
            summary(&msg)
        ))
    }
}
