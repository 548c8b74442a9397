//! Containers and limits of `dmarcwatch::unpack`, against fixtures/unpack/
//! (regenerate with `python3 fixtures/unpack/make.py`) and streams built here.

use std::io::{self, Cursor, Read, Write};

use dmarcwatch::unpack::{for_each_document, sniff, Container, Document, Limits, UnpackError};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use proptest::prelude::*;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/unpack/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The XML inside every fixture container.
fn report() -> Vec<u8> {
    fixture("plain.xml")
}

/// What `f` saw of one document: its name, the bytes read, and the read error if any.
#[derive(Debug)]
struct Seen {
    name: String,
    content: Vec<u8>,
    error: Option<io::Error>,
}

/// Unpack `input`, reading every document to its end.
fn run(input: &[u8], limits: &Limits) -> (Result<usize, UnpackError>, Vec<Seen>) {
    let mut seen = Vec::new();
    let result = for_each_document(
        &mut Cursor::new(input),
        limits,
        &mut |doc: Document<'_>| -> Result<(), UnpackError> {
            let mut content = Vec::new();
            let error = doc.reader.read_to_end(&mut content).err();
            seen.push(Seen {
                name: doc.name.to_string(),
                content,
                error,
            });
            Ok(())
        },
    );
    (result, seen)
}

/// Unpack with default limits; every document must read cleanly.
fn documents(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let (result, seen) = run(input, &Limits::default());
    assert_eq!(result, Ok(seen.len()));
    seen.into_iter()
        .map(|s| {
            assert!(s.error.is_none(), "{}: {:?}", s.name, s.error);
            (s.name, s.content)
        })
        .collect()
}

/// The error message when unpacking fails before any document starts.
fn failure(input: &[u8], limits: &Limits) -> String {
    let (result, seen) = run(input, limits);
    assert!(seen.is_empty(), "documents were handed out: {seen:?}");
    result.expect_err("unpacking should fail").to_string()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A stored (uncompressed) zip; a `None` body makes a directory entry.
fn zip_of(members: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in members {
        match body {
            Some(body) => {
                writer.start_file(*name, options).unwrap();
                writer.write_all(body).unwrap();
            }
            None => writer.add_directory(*name, options).unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// An XML document of exactly `len` bytes that does not compress well.
fn noisy_xml(len: usize) -> Vec<u8> {
    let mut xml = b"<feedback>".to_vec();
    let mut state: u32 = 12345;
    while xml.len() < len - b"</feedback>".len() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        xml.push(b'a' + (state >> 16) as u8 % 26);
    }
    xml.extend_from_slice(b"</feedback>");
    xml
}

/// A reader that counts the bytes taken from it.
struct Counting<R> {
    inner: R,
    taken: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken += n as u64;
        Ok(n)
    }
}

const MB: u64 = 1024 * 1024;

// --- sniffing ---------------------------------------------------------------

#[test]
fn sniff_decides_by_magic_bytes() {
    assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Container::Gzip);
    assert_eq!(sniff(b"PK\x03\x04"), Container::Zip);
    assert_eq!(sniff(b"PK\x05\x06"), Container::Zip);
    for second in [0x01, 0x5e, 0x9c, 0xda] {
        assert_eq!(sniff(&[0x78, second, 0, 0]), Container::Zlib);
    }
    assert_eq!(sniff(b"<?xml"), Container::Xml);
    assert_eq!(sniff(b" \r\n\t<feedback>"), Container::Xml);
    assert_eq!(sniff(b"\xef\xbb\xbf\n<feedback>"), Container::Xml);
    assert_eq!(sniff(b"\xff\xfe \0<\0?\0"), Container::Xml);
    assert_eq!(sniff(b"\xfe\xff\0<\0?"), Container::Xml);
    assert_eq!(sniff(b""), Container::Unknown);
    assert_eq!(sniff(b"   "), Container::Unknown);
    assert_eq!(sniff(b"unused"), Container::Unknown);
    assert_eq!(sniff(b"\x78\x00"), Container::Unknown);
    assert_eq!(sniff(b"PK\x01\x02"), Container::Unknown);
}

// --- plain XML ----------------------------------------------------------------

#[test]
fn plain_xml_is_one_unnamed_document() {
    assert_eq!(documents(&report()), vec![(String::new(), report())]);
}

#[test]
fn bom_and_leading_whitespace_are_handed_over_as_is() {
    let bom = fixture("bom.xml");
    assert!(bom.starts_with(b"\xef\xbb\xbf\r\n  <?xml"));
    assert_eq!(documents(&bom), vec![(String::new(), bom)]);
}

#[test]
fn utf16_xml_with_bom_is_a_document() {
    let utf16: Vec<u8> = "\u{feff}<feedback/>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(documents(&utf16), vec![(String::new(), utf16)]);
}

// --- gzip -------------------------------------------------------------------

#[test]
fn gzip_report() {
    assert_eq!(
        documents(&fixture("report.xml.gz")),
        vec![(String::new(), report())]
    );
}

#[test]
fn multi_member_gzip_concatenates() {
    assert_eq!(
        documents(&fixture("multi-member.xml.gz")),
        vec![(String::new(), report())]
    );
}

#[test]
fn nested_gzip_is_unwrapped() {
    assert_eq!(
        documents(&fixture("nested.xml.gz.gz")),
        vec![(String::new(), report())]
    );
}

#[test]
fn trailing_garbage_after_gzip_is_ignored() {
    let input = fixture("trailing-garbage.xml.gz");
    assert!(input.ends_with(b"-- junk after the stream --\r\n"));
    assert_eq!(documents(&input), vec![(String::new(), report())]);
}

#[test]
fn a_cut_gzip_header_after_the_last_member_is_garbage_too() {
    let mut input = gzip(&report());
    input.extend_from_slice(b"\x1f\x8b\x08");
    assert_eq!(documents(&input), vec![(String::new(), report())]);
}

#[test]
fn truncated_gzip_fails_while_streaming() {
    let (result, seen) = run(&fixture("truncated.xml.gz"), &Limits::default());
    assert_eq!(result, Ok(1));
    let error = seen[0].error.as_ref().expect("a read error");
    assert_eq!(error.to_string(), "gzip stream is truncated");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(seen[0].content.len() > 1024, "{}", seen[0].content.len());
    assert!(seen[0].content.starts_with(b"<?xml version=\"1.0\""));
}

#[test]
fn gzip_truncated_before_its_content_starts_fails_up_front() {
    let whole = gzip(&report());
    let msg = failure(&whole[..whole.len() - 40], &Limits::default());
    assert_eq!(msg, "gzip stream is truncated");
}

#[test]
fn corrupt_gzip_checksum_is_reported_at_the_end() {
    let xml = noisy_xml(5000);
    let mut input = gzip(&xml);
    let crc_at = input.len() - 8;
    input[crc_at] ^= 0xff;
    let (result, seen) = run(&input, &Limits::default());
    assert_eq!(result, Ok(1));
    assert_eq!(seen[0].content, xml);
    assert_eq!(
        seen[0].error.as_ref().map(ToString::to_string).as_deref(),
        Some("gzip stream is corrupt (corrupt gzip stream does not have a matching checksum)")
    );
}

#[test]
fn gzip_of_unused_is_not_xml() {
    assert_eq!(
        failure(&fixture("unused.gz"), &Limits::default()),
        "gzip content is not XML (starts with \"unused\")"
    );
}

#[test]
fn empty_gzip_is_not_xml() {
    assert_eq!(
        failure(&gzip(b""), &Limits::default()),
        "gzip content is not XML (it is empty)"
    );
}

// --- zip ----------------------------------------------------------------------

#[test]
fn zip_members_skip_directories_and_macosx() {
    let docs = documents(&fixture("report.zip"));
    let names: Vec<&str> = docs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["a.xml", "reports/b.xml"]);
    assert_eq!(docs[0].1, report());
    let second = String::from_utf8(docs[1].1.clone()).unwrap();
    assert!(second.contains("<report_id>unpack-fixture-2</report_id>"));
}

#[test]
fn zip_member_with_empty_name() {
    assert_eq!(
        documents(&fixture("empty-member-name.zip")),
        vec![(String::new(), report())]
    );
}

#[test]
fn empty_zip_holds_no_report() {
    let input = fixture("empty.zip");
    assert!(input.starts_with(b"PK\x05\x06"));
    assert_eq!(
        failure(&input, &Limits::default()),
        "zip archive holds no report file"
    );
}

#[test]
fn zip_of_only_directories_and_macosx_holds_no_report() {
    let input = zip_of(&[
        ("dir/", None),
        ("__MACOSX/._a.xml", Some(b"\0\x05\x16\x07")),
    ]);
    assert_eq!(
        failure(&input, &Limits::default()),
        "zip archive holds no report file"
    );
}

#[test]
fn gzip_in_zip() {
    assert_eq!(
        documents(&fixture("gzip-in-zip.zip")),
        vec![("report.xml.gz".to_string(), report())]
    );
}

#[test]
fn zip_in_gzip() {
    assert_eq!(
        documents(&fixture("zip-in-gzip.zip.gz")),
        vec![("a.xml".to_string(), report())]
    );
}

#[test]
fn zip_in_zip_names_join_with_colon() {
    let inner = zip_of(&[("a.xml", Some(&report()))]);
    let outer = zip_of(&[("inner.zip", Some(&inner))]);
    assert_eq!(
        documents(&outer),
        vec![("inner.zip:a.xml".to_string(), report())]
    );
}

#[test]
fn zip_member_that_is_not_xml() {
    let input = zip_of(&[("readme.txt", Some(b"hello"))]);
    assert_eq!(
        failure(&input, &Limits::default()),
        "zip member \"readme.txt\" content is not XML (starts with \"hello\")"
    );
}

#[test]
fn broken_zip_is_unreadable() {
    let whole = fixture("report.zip");
    let msg = failure(&whole[..whole.len() - 30], &Limits::default());
    assert!(msg.starts_with("zip archive is unreadable ("), "{msg}");
}

// --- zlib and unknown input ---------------------------------------------------

#[test]
fn raw_zlib_stream() {
    assert_eq!(
        documents(&fixture("raw.zlib")),
        vec![(String::new(), report())]
    );
}

#[test]
fn truncated_zlib_is_reported() {
    let whole = zlib(&report());
    let msg = failure(&whole[..whole.len() / 2], &Limits::default());
    assert_eq!(msg, "zlib stream is truncated");
}

#[test]
fn garbage_is_not_a_report() {
    assert_eq!(
        failure(&fixture("garbage.bin"), &Limits::default()),
        "not a report: neither XML, gzip, zip nor zlib \
         (starts with \"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR\")"
    );
}

#[test]
fn empty_input_is_not_a_report() {
    assert_eq!(
        failure(b"", &Limits::default()),
        "not a report: neither XML, gzip, zip nor zlib (it is empty)"
    );
}

// --- limits -------------------------------------------------------------------

#[test]
fn xml_limit_stops_a_gzip_bomb_at_the_limit() {
    let limits = Limits {
        max_xml_bytes: MB,
        ..Limits::default()
    };
    let mut xml = b"<feedback>".to_vec();
    xml.resize(2 * MB as usize, b' ');
    let (result, seen) = run(&gzip(&xml), &limits);
    assert_eq!(result, Ok(1));
    assert_eq!(seen[0].content.len() as u64, MB);
    let error = seen[0].error.as_ref().expect("a read error");
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert_eq!(
        error.to_string(),
        "XML document is larger than the limit of 1 MB (raise [limits] max_xml_bytes)"
    );
}

#[test]
fn xml_of_exactly_the_limit_passes() {
    let xml = noisy_xml(5000);
    let limits = Limits {
        max_xml_bytes: 5000,
        ..Limits::default()
    };
    let (result, seen) = run(&xml, &limits);
    assert_eq!(result, Ok(1));
    assert!(seen[0].error.is_none());
    let over = Limits {
        max_xml_bytes: 4999,
        ..Limits::default()
    };
    let (_, seen) = run(&xml, &over);
    assert_eq!(seen[0].content.len(), 4999);
    assert_eq!(
        seen[0].error.as_ref().map(ToString::to_string).as_deref(),
        Some("XML document is larger than the limit of 4999 bytes (raise [limits] max_xml_bytes)")
    );
}

#[test]
fn plain_xml_is_streamed_not_slurped() {
    let xml = noisy_xml(2 * MB as usize);
    let mut source = Counting {
        inner: Cursor::new(&xml),
        taken: 0,
    };
    let mut first = [0u8; 100];
    let count = for_each_document(
        &mut source,
        &Limits::default(),
        &mut |doc: Document<'_>| -> Result<(), UnpackError> {
            doc.reader.read_exact(&mut first).map_err(UnpackError::from)
        },
    );
    assert_eq!(count, Ok(1));
    assert_eq!(&first[..10], b"<feedback>");
    assert!(source.taken < 64 * 1024, "read {} bytes", source.taken);
}

#[test]
fn compressed_limit_stops_a_large_gzip_while_streaming() {
    let input = gzip(&noisy_xml(100_000));
    assert!(input.len() > 50_000);
    let limits = Limits {
        max_compressed_bytes: 20_000,
        ..Limits::default()
    };
    let (result, seen) = run(&input, &limits);
    assert_eq!(result, Ok(1));
    assert_eq!(
        seen[0].error.as_ref().map(ToString::to_string).as_deref(),
        Some(
            "compressed input is larger than the limit of 20000 bytes \
             (raise [limits] max_compressed_bytes)"
        )
    );
    assert!(seen[0].content.len() < 60_000, "{}", seen[0].content.len());
}

#[test]
fn compressed_limit_stops_reading_a_large_zip() {
    let input = zip_of(&[("a.xml", Some(&noisy_xml(MB as usize)))]);
    let limits = Limits {
        max_compressed_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut source = Counting {
        inner: Cursor::new(&input),
        taken: 0,
    };
    let result = for_each_document(&mut source, &limits, &mut |_doc: Document<'_>| {
        panic!("no document expected")
    });
    assert_eq!(
        result.map_err(|e: UnpackError| e.to_string()),
        Err("compressed input is larger than the limit of 65536 bytes \
             (raise [limits] max_compressed_bytes)"
            .to_string())
    );
    assert!(source.taken < 96 * 1024, "read {} bytes", source.taken);
}

#[test]
fn too_many_zip_members() {
    let body = report();
    let names = ["1.xml", "2.xml", "3.xml", "4.xml", "5.xml"];
    let members: Vec<(&str, Option<&[u8]>)> =
        names.iter().map(|n| (*n, Some(body.as_slice()))).collect();
    let limits = Limits {
        max_zip_members: 3,
        ..Limits::default()
    };
    assert_eq!(
        failure(&zip_of(&members), &limits),
        "zip archive has 5 members, more than the limit of 3 (raise [limits] max_zip_members)"
    );
    assert_eq!(documents(&zip_of(&members[..3])).len(), 3);
}

#[test]
fn nesting_deeper_than_the_limit() {
    let depth = |max_depth| Limits {
        max_depth,
        ..Limits::default()
    };
    let msg = "containers nest deeper than the limit of 1 (raise [limits] max_depth)";
    assert_eq!(failure(&fixture("nested.xml.gz.gz"), &depth(1)), msg);
    assert_eq!(failure(&fixture("gzip-in-zip.zip"), &depth(1)), msg);
    assert_eq!(run(&fixture("nested.xml.gz.gz"), &depth(2)).0, Ok(1));
    assert_eq!(
        failure(&fixture("report.xml.gz"), &depth(0)),
        "containers nest deeper than the limit of 0 (raise [limits] max_depth)"
    );
    assert_eq!(run(&report(), &depth(0)).0, Ok(1));
}

// --- the caller's errors ------------------------------------------------------

#[derive(Debug, PartialEq)]
enum CallerError {
    Unpack(String),
    Stop(String),
}

impl From<UnpackError> for CallerError {
    fn from(e: UnpackError) -> Self {
        CallerError::Unpack(e.to_string())
    }
}

#[test]
fn an_error_from_f_stops_the_walk() {
    let mut calls = 0;
    let result = for_each_document(
        &mut Cursor::new(fixture("report.zip")),
        &Limits::default(),
        &mut |doc: Document<'_>| {
            calls += 1;
            Err(CallerError::Stop(doc.name.to_string()))
        },
    );
    assert_eq!(result, Err(CallerError::Stop("a.xml".to_string())));
    assert_eq!(calls, 1);
}

#[test]
fn unpack_errors_convert_into_the_callers_type() {
    let result = for_each_document(
        &mut Cursor::new(fixture("unused.gz")),
        &Limits::default(),
        &mut |_doc: Document<'_>| Ok(()),
    );
    assert_eq!(
        result,
        Err(CallerError::Unpack(
            "gzip content is not XML (starts with \"unused\")".to_string()
        ))
    );
}

#[test]
fn a_failing_source_is_a_read_error() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let result = for_each_document(&mut Broken, &Limits::default(), &mut |_doc: Document<
        '_,
    >| {
        Ok::<(), UnpackError>(())
    });
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("reading the input failed (disk on fire)".to_string())
    );
}

// --- bad input never panics -------------------------------------------------------

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        magic in prop::sample::select(vec![
            &b""[..], b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"PK\x05\x06",
            b"\x78\x9c", b"<", b"\xef\xbb\xbf<",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut input = magic.to_vec();
        input.extend_from_slice(&tail);
        let _ = run(&input, &Limits::default());
    }

    #[test]
    fn cut_or_flipped_containers_never_panic(cut in 0usize..1200, flip in 0usize..1200) {
        for name in ["report.zip", "multi-member.xml.gz", "raw.zlib", "zip-in-gzip.zip.gz"] {
            let mut input = fixture(name);
            if flip < input.len() {
                input[flip] ^= 0x5a;
            }
            input.truncate(cut.max(1));
            let _ = run(&input, &Limits::default());
        }
    }
}
