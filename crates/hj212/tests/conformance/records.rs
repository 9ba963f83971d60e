//! The 64 real-world frames of `tests/data/messages.jsonl` (copied from the
//! project's shared conformance set): what each source asserts, checked.
//!
//! Decisions where lenient mode judges differently from the record's
//! `valid` (which means "passes framing checks: ##, length, CRC, CRLF"):
//!
//! - 11 records are invalid only because the trailer is missing (the
//!   source string literal had no `\r\n`; 47–52, 54–56, 61) or is a lone
//!   `\n` (31). Lenient mode accepts them with a warning, as the issue asks
//!   for a missing trailer at end of input and as xiaoyao9184's own test
//!   expects for `\n` (`pack_not_null`); strict mode rejects them with
//!   `bad_trailer`.
//! - 63 is two valid frames glued together (粘包): the stream decoder
//!   yields both.
//! - 59 and 60 declare a length that does not reach (or overshoots) the
//!   CP terminator; we report `bad_length` (the root cause) rather than
//!   the `bad_crc_text` the garbage in the CRC slot would suggest.
//! - Records the source calls valid but that deviate from the standard
//!   (25, 26, 27, 37, 38, 42, 43, 46, 53, 57) parse in lenient mode with
//!   warnings and are rejected in strict mode: see [`STRICT_REJECTS`].

use hj212::{ErrorKind, Frame, Frames, Message, Options, Trailer};
use serde_json::{Map, Value};

const DATA: &str = include_str!("../data/messages.jsonl");

struct Record {
    index: usize,
    valid: bool,
    raw: Vec<u8>,
    expect: Value,
}

fn records() -> Vec<Record> {
    DATA.lines()
        .enumerate()
        .map(|(index, line)| {
            let v: Value = serde_json::from_str(line).expect("record is JSON");
            Record {
                index,
                valid: v["valid"].as_bool().expect("valid"),
                raw: v["raw"].as_str().expect("raw").as_bytes().to_vec(),
                expect: v["expect"].clone(),
            }
        })
        .collect()
}

/// Records the source calls invalid, and what we make of them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Invalid {
    /// Rejected in both modes with this kind.
    Fails(ErrorKind),
    /// Only the trailer is wrong: lenient accepts with a warning, strict
    /// rejects with `bad_trailer`.
    TrailerOnly,
    /// Two good frames in one read.
    TwoFrames,
    /// Above 1024 bytes (strict: `too_long`) with a wrong CRC (lenient:
    /// `crc_mismatch`).
    LongWithStaleCrc,
}

fn invalid_expectation(index: usize) -> Invalid {
    use ErrorKind::*;
    match index {
        // Stale or deliberately wrong CRCs.
        28 | 30 | 35 | 36 | 39 | 58 => Invalid::Fails(CrcMismatch),
        31 | 47..=52 | 54..=56 | 61 => Invalid::TrailerOnly,
        // 1025 > 1024 ("error contains Length"): too long in strict mode;
        // lenient mode accepts the length and finds the stale CRC.
        32 => Invalid::LongWithStaleCrc,
        // Declared lengths that do not end at the CP terminator.
        33 | 59 | 60 => Invalid::Fails(BadLength),
        // Half a frame at end of input.
        62 => Invalid::Fails(Truncated),
        63 => Invalid::TwoFrames,
        other => panic!("record {other} has no expectation"),
    }
}

/// Records the source calls valid that strict mode rejects, with why.
const STRICT_REJECTS: &[(usize, ErrorKind, &str)] = &[
    (25, ErrorKind::MalformedSegment, "no ';' before \"CP=\""),
    (26, ErrorKind::MalformedSegment, "',' instead of ';'"),
    (27, ErrorKind::MalformedCp, "has milliseconds"),
    (
        37,
        ErrorKind::MalformedCp,
        "not in the form of an HJ 212-2017 code",
    ),
    (
        38,
        ErrorKind::MalformedCp,
        "not in the form of an HJ 212-2017 code",
    ),
    (42, ErrorKind::MalformedCp, "has milliseconds"),
    (
        43,
        ErrorKind::MalformedCp,
        "ST 22 monitors air but factor w01008",
    ),
    (
        46,
        ErrorKind::MalformedCp,
        "ST 22 monitors air but factor w01008",
    ),
    (53, ErrorKind::MalformedSegment, "PNUM/PNO are missing"),
    (
        57,
        ErrorKind::MalformedCp,
        "ST 31 monitors air but factor w01001",
    ),
];

fn only_frame<'a>(raw: &'a [u8], opts: Options) -> Result<Frame<'a>, hj212::Error> {
    let mut frames = Frames::new(raw, opts);
    let first = frames.next().expect("one item");
    assert!(frames.next().is_none(), "more than one item");
    first
}

fn parse(raw: &[u8], opts: Options) -> Result<(Frame<'_>, Message), hj212::Error> {
    let frame = only_frame(raw, opts)?;
    let message = Message::parse(&frame, &opts)?;
    Ok((frame, message))
}

fn header<'a>(message: &'a Message, key: &str) -> Option<Option<&'a str>> {
    let field = match key {
        "QN" => &message.qn,
        "ST" => &message.st,
        "CN" => &message.cn,
        "PW" => &message.pw,
        "MN" => &message.mn,
        _ => return None,
    };
    Some(field.as_deref())
}

fn number_field(message: &Message, key: &str) -> Option<Option<u16>> {
    match key {
        "Flag" => Some(message.flag.map(u16::from)),
        "PNUM" => Some(message.pnum),
        "PNO" => Some(message.pno),
        _ => None,
    }
}

fn cp_value<'a>(message: &'a Message, key: &str) -> Option<&'a str> {
    match key.split_once('-') {
        _ if key == "DataTime" => message.cp.data_time.as_deref(),
        Some((code, field)) => message.cp.factor(code)?.get(field),
        None => message.cp.get(key),
    }
}

/// Where our split deliberately differs from the record's naive reference
/// split: record 26 has "QN=…534,ST=32" (comma typo in the standard), which
/// lenient mode repairs into QN and ST with a warning.
fn reference_split(index: usize, parsed: &Map<String, Value>) -> Map<String, Value> {
    let mut parsed = parsed.clone();
    if index == 26 {
        parsed.insert("QN".into(), "20160801085857534".into());
        parsed.insert("ST".into(), "32".into());
    }
    parsed
}

/// Compares the record's reference split (`expect.parsed`) with ours.
fn check_parsed(index: usize, message: &Message, parsed: &Map<String, Value>) {
    let parsed = &reference_split(index, parsed);
    for (key, value) in parsed {
        if key == "CP" {
            let cp = value.as_object().expect("CP object");
            for (k, v) in cp {
                let mut expected = v.as_str().expect("string");
                // The reference split is a Python dict (last duplicate
                // wins); we keep the first value and warn.
                if index == 56 && k == "H102-Rtd" {
                    expected = "0";
                }
                assert_eq!(
                    cp_value(message, k),
                    Some(expected),
                    "record {index} CP {k}"
                );
            }
            let ours = usize::from(message.cp.data_time.is_some())
                + message.cp.other.len()
                + message
                    .cp
                    .factors
                    .iter()
                    .map(|f| f.fields.len())
                    .sum::<usize>();
            assert_eq!(ours, cp.len(), "record {index}: CP entry count");
        } else if let Some(ours) = number_field(message, key) {
            let expected = value.as_str().expect("string").parse::<u16>().ok();
            assert_eq!(ours, expected, "record {index} {key}");
        } else {
            let ours = header(message, key).unwrap_or_else(|| panic!("unknown key {key}"));
            assert_eq!(ours, value.as_str(), "record {index} {key}");
        }
    }
    for key in ["QN", "ST", "CN", "PW", "MN"] {
        if !parsed.contains_key(key) {
            assert_eq!(
                header(message, key),
                Some(None),
                "record {index} {key} absent"
            );
        }
    }
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().expect("integer"),
        Value::String(s) => s
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("leading integer"),
        other => panic!("not a number: {other}"),
    }
}

/// Checks what the source itself asserts about a frame it calls valid.
fn check_asserted(
    record: &Record,
    frame: &Frame<'_>,
    message: &Message,
    asserted: &Map<String, Value>,
) {
    let index = record.index;
    for (key, value) in asserted {
        match key.as_str() {
            "crc" | "crc_hex" => {
                let text = value.as_str().unwrap().to_ascii_uppercase();
                assert_eq!(format!("{:04X}", frame.crc), text, "record {index} crc");
            }
            "data_len" | "declared_length" | "data_length_chars" => {
                assert_eq!(
                    frame.data.len() as u64,
                    number(value),
                    "record {index} {key}"
                );
            }
            "total_len_without_trailer" => {
                assert_eq!(frame.raw.len() as u64 - 2, number(value));
            }
            "header" => assert!(record.raw.starts_with(value.as_str().unwrap().as_bytes())),
            "footer" => assert_eq!(frame.trailer, Trailer::CrLf),
            "Flag" => {
                assert_eq!(message.flag.map(u64::from), Some(number(value)));
                if value.as_str().is_some_and(|s| s.contains("needs reply")) {
                    assert!(message.needs_ack());
                }
            }
            "region" => {
                assert_eq!(value, "");
                assert_eq!(
                    message.cp,
                    hj212::Cp::default(),
                    "record {index}: empty CP region"
                );
            }
            "segment_defect" => {
                assert!(!message.warnings.is_empty(), "record {index}: a warning");
                let err = parse(&record.raw, Options::strict()).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::MalformedSegment);
            }
            _ => match header(message, key) {
                Some(ours) => assert_eq!(ours, value.as_str(), "record {index} {key}"),
                None => assert_eq!(
                    cp_value(message, key),
                    value.as_str(),
                    "record {index} {key}"
                ),
            },
        }
    }
}

#[test]
fn the_set_is_complete() {
    let all = records();
    assert_eq!(all.len(), 64);
    assert_eq!(all.iter().filter(|r| r.valid).count(), 41);
}

#[test]
fn valid_records_parse_to_what_their_sources_assert() {
    for record in records().iter().filter(|r| r.valid) {
        let index = record.index;
        let (frame, message) = parse(&record.raw, Options::lenient())
            .unwrap_or_else(|e| panic!("record {index}: {e}"));
        if let Some(parsed) = record.expect["parsed"].as_object() {
            check_parsed(index, &message, parsed);
        }
        if let Some(asserted) = record.expect["asserted_by_source"].as_object() {
            check_asserted(record, &frame, &message, asserted);
        }
        assert_eq!(
            frame.data.len() as u64,
            record.expect["computed"]["declared_len"].as_u64().unwrap(),
            "record {index}"
        );
    }
}

#[test]
fn valid_records_in_strict_mode() {
    for record in records().iter().filter(|r| r.valid) {
        let index = record.index;
        let lenient = parse(&record.raw, Options::lenient()).unwrap().1;
        match STRICT_REJECTS.iter().find(|(i, ..)| *i == index) {
            Some((_, kind, why)) => {
                let err = parse(&record.raw, Options::strict()).unwrap_err();
                assert_eq!(err.kind(), *kind, "record {index}: {err}");
                assert!(err.to_string().contains(why), "record {index}: {err}");
                assert!(
                    lenient.warnings.iter().any(|w| w.message.contains(why)),
                    "record {index}: {:?}",
                    lenient.warnings
                );
            }
            None => {
                let strict = parse(&record.raw, Options::strict())
                    .unwrap_or_else(|e| panic!("record {index}: {e}"))
                    .1;
                assert!(
                    lenient.warnings.is_empty(),
                    "record {index}: {:?}",
                    lenient.warnings
                );
                assert_eq!(strict, lenient);
            }
        }
    }
}

#[test]
fn invalid_records_fail_with_the_right_kind() {
    for record in records().iter().filter(|r| !r.valid) {
        let index = record.index;
        match invalid_expectation(index) {
            Invalid::Fails(kind) => {
                let first = Frames::new(&record.raw, Options::lenient()).next().unwrap();
                let err = first.expect_err("a framing error");
                assert_eq!(err.kind(), kind, "record {index}: {err}");
                assert_eq!(err.frame_offset(), 0);
                let strict = Frames::new(&record.raw, Options::strict()).next().unwrap();
                assert_eq!(strict.unwrap_err().kind(), kind, "record {index} strict");
            }
            Invalid::TrailerOnly => {
                let (_, message) = parse(&record.raw, Options::lenient())
                    .unwrap_or_else(|e| panic!("record {index}: {e}"));
                assert!(
                    message.warnings[0].message.contains("trailer")
                        || message.warnings[0].message.contains("\\n"),
                    "record {index}: {:?}",
                    message.warnings
                );
                if let Some(parsed) = record.expect["parsed"].as_object() {
                    check_parsed(index, &message, parsed);
                }
                let err = only_frame(&record.raw, Options::strict()).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::BadTrailer, "record {index}");
            }
            Invalid::LongWithStaleCrc => {
                let kind = |opts| {
                    Frames::new(&record.raw, opts)
                        .next()
                        .unwrap()
                        .unwrap_err()
                        .kind()
                };
                assert_eq!(kind(Options::lenient()), ErrorKind::CrcMismatch);
                assert_eq!(kind(Options::strict()), ErrorKind::TooLong);
            }
            Invalid::TwoFrames => {
                let frames: Vec<_> = Frames::new(&record.raw, Options::lenient())
                    .map(|f| f.expect("a good frame"))
                    .collect();
                assert_eq!(
                    frames.len() as u64,
                    number(&record.expect["asserted_by_source"]["frames"])
                );
                assert_eq!(frames[1].offset, frames[0].raw.len() as u64);
            }
        }
    }
}

#[test]
fn sources_error_texts_match_our_kinds() {
    // xiaoyao9184 asserts the error text mentions "Crc" / "Length"; its
    // length check is the standard's 1024, as in strict mode.
    for record in records() {
        let Some(asserted) = record.expect["asserted_by_source"].as_object() else {
            continue;
        };
        if let Some(text) = asserted.get("error_contains").and_then(Value::as_str) {
            let err = Frames::new(&record.raw, Options::strict())
                .next()
                .unwrap()
                .unwrap_err();
            let expected = match text {
                "Crc" => ErrorKind::CrcMismatch,
                "Length" => ErrorKind::TooLong,
                other => panic!("unexpected {other}"),
            };
            assert_eq!(err.kind(), expected, "record {}", record.index);
        }
        if asserted.get("truncated") == Some(&Value::Bool(true)) {
            let err = Frames::new(&record.raw, Options::lenient())
                .next()
                .unwrap()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Truncated);
        }
    }
}

#[test]
fn truncated_record_waits_in_a_stream_decoder() {
    // "A stream decoder must wait for more bytes, not error out."
    let record = &records()[62];
    let mut decoder = hj212::Decoder::new(Options::lenient());
    decoder.push(&record.raw);
    assert!(decoder.next_frame().is_none());
    assert_eq!(decoder.buffered(), record.raw.len());
}

#[test]
fn xiaoyao9184_reserialisation_is_reproduced() {
    // Record 29 is the library's own output after setPw("000000"): our
    // builder gives the same bytes, with the CRC in upper case.
    let record = &records()[29];
    let (_, message) = parse(&record.raw, Options::strict()).unwrap();
    let rebuilt = message.to_frame();
    let mut expected = record.raw.clone();
    let crc = expected.len() - 6..expected.len() - 2;
    expected[crc].make_ascii_uppercase();
    assert_eq!(
        String::from_utf8(rebuilt).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn split_upload_from_the_standard_reassembles() {
    let all = records();
    let mut reassembler = hj212::Reassembler::new(hj212::Limits::default());
    for index in [21, 22] {
        let (frame, message) = parse(&all[index].raw, Options::strict()).unwrap();
        reassembler.push(message, frame.offset, 0);
    }
    let merged = reassembler.pop().expect("merged");
    assert!(merged.complete);
    let codes: Vec<_> = merged.message.cp.codes().collect();
    assert_eq!(codes, ["w00000", "w01001", "w01018"]);
    // The same data as the unsplit 2061 upload (record 10).
    let (_, whole) = parse(&all[10].raw, Options::strict()).unwrap();
    assert_eq!(merged.message.cp, whole.cp);
}

/// The frames of the set whose length and trailer are right (`\r\n`).
static WELL_FRAMED: std::sync::LazyLock<Vec<Vec<u8>>> = std::sync::LazyLock::new(|| {
    records()
        .iter()
        .flat_map(|r| {
            Frames::new(&r.raw, Options::lenient())
                .flatten()
                .filter(|f| f.trailer == Trailer::CrLf)
                .map(|f| f.raw.to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
});

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

    /// Framing errors first, then the CRC, then content: one damaged byte
    /// inside a well-framed frame is a CRC mismatch, whatever the byte (a
    /// `&` of the CP terminator, a `;`, a `#`). No flip can make another
    /// valid frame: CRC-16 detects every error burst of up to 16 bits.
    #[test]
    fn one_flipped_data_byte_is_a_crc_mismatch(
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        at in proptest::prelude::any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut frame = pick.get(&WELL_FRAMED).clone();
        let data = 6..frame.len() - 6;
        let i = data.start + at.index(data.len());
        frame[i] ^= flip;
        for opts in [Options::lenient(), Options::strict()] {
            let first = Frames::new(&frame, opts).next().unwrap();
            let kind = first.map(|_| ()).map_err(|e| (e.kind(), e.frame_offset()));
            proptest::prop_assert_eq!(kind, Err((ErrorKind::CrcMismatch, 0)), "byte {}", i);
        }
    }
}

/// Every frame of the set that parses, detached from its bytes and attached to a copy of
/// them (as the bytes move to the archive's thread), reads as the view parsed from them.
#[test]
fn every_parsed_frame_detaches_and_attaches_as_it_was_parsed() {
    let mut detached = 0;
    for record in records() {
        for frame in Frames::new(&record.raw, Options::lenient()).flatten() {
            let Ok(view) = hj212::MessageView::parse(&frame, &Options::lenient()) else {
                continue;
            };
            let index = record.index;
            let d = view
                .detach(&record.raw)
                .unwrap_or_else(|| panic!("record {index}: every text is the frame's"));
            let moved = record.raw.clone();
            assert_eq!(d.attach(&moved), Some(view), "record {index}");
            detached += 1;
        }
    }
    assert!(detached >= 50, "{detached} frames detached");
}
