//! Fuzz the whole `dmarcwatch parse` pipeline on one unit of bytes: once as
//! a whole e-mail (`Body::Message`, the mbox / IMAP path) and once as a
//! stream (`Body::Reader`, the file path: container sniffing, then e-mail
//! fallback). Neither may panic, hang or blow memory, and a unit that yields
//! no report must say why in one line.
//!
//! Limits are smaller than the defaults so that decompression bombs hit a
//! limit quickly instead of spending libFuzzer's time and RSS budget; the
//! code paths are the same.

#![no_main]

use dmarcwatch::extract::{read_unit, ExtractLimits, Outcome};
use dmarcwatch::report::Collect;
use dmarcwatch::source::Body;
use dmarcwatch::unpack::Limits;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fn limits() -> ExtractLimits {
    ExtractLimits {
        unpack: Limits {
            max_compressed_bytes: 4 * 1024 * 1024,
            max_xml_bytes: 16 * 1024 * 1024,
            max_zip_members: 64,
            max_depth: 3,
        },
        max_message_bytes: 8 * 1024 * 1024,
    }
}

fn check(outcome: &Outcome, sink: &Collect) {
    let ok = sink.reports.iter().filter(|r| r.is_ok()).count();
    assert_eq!(outcome.reports, ok, "outcome and sink disagree on reports");
    if outcome.failed() {
        let text = outcome.error_text();
        assert!(!text.trim().is_empty(), "failed unit with an empty error");
    }
    for e in &outcome.errors {
        assert!(!e.trim().is_empty(), "empty error line");
        assert!(!e.contains(['\n', '\r']), "multi-line error: {e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();

    let mut sink = Collect::default();
    let outcome = match read_unit(Body::Message(data.to_vec()), &limits, &mut sink) {
        Ok(o) => o,
        Err(never) => match never {},
    };
    check(&outcome, &sink);

    let mut sink = Collect::default();
    let reader = Box::new(Cursor::new(data.to_vec()));
    let outcome = match read_unit(Body::Reader(reader), &limits, &mut sink) {
        Ok(o) => o,
        Err(never) => match never {},
    };
    check(&outcome, &sink);
});
