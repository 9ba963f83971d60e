//! Property tests: build → parse round-trips exactly; a stream decoded in
//! random chunks gives what it gives whole; arbitrary bytes never panic.

use hj212::build::frame;
use hj212::codes::{COMMANDS, FACTORS, SYSTEMS};
use hj212::{
    Cp, Decoder, ErrorKind, FACTOR_FIELDS, Factor, Frames, Message, Options, PLAIN_KEYS, Segment,
    Version,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

fn timestamp(millis: bool) -> impl Strategy<Value = String> {
    (
        2000u16..2100,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        0u16..1000,
    )
        .prop_map(move |(y, mo, d, h, mi, s, ms)| {
            let base = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}");
            if millis {
                format!("{base}{ms:03}")
            } else {
                base
            }
        })
}

/// Text that cannot contain the separators `; , = &`.
fn value() -> impl Strategy<Value = String> {
    "[^;,=&]{0,12}"
}

fn factors() -> impl Strategy<Value = Vec<Factor>> {
    let codes: Vec<&str> = FACTORS.iter().map(|f| f.code).collect();
    subsequence(codes, 0..6).prop_flat_map(|codes| {
        codes
            .into_iter()
            .map(|code| {
                (
                    subsequence(FACTOR_FIELDS.to_vec(), 1..5),
                    proptest::collection::vec(value(), 5),
                )
                    .prop_map(move |(fields, values)| Factor {
                        code: code.to_owned(),
                        fields: fields.into_iter().map(str::to_owned).zip(values).collect(),
                    })
            })
            .collect::<Vec<_>>()
    })
}

fn cp() -> impl Strategy<Value = Cp> {
    (
        proptest::option::of(timestamp(false)),
        subsequence(PLAIN_KEYS.to_vec(), 0..4),
        proptest::collection::vec(value(), 4),
        factors(),
    )
        .prop_map(|(data_time, keys, values, factors)| Cp {
            data_time,
            other: keys.into_iter().map(str::to_owned).zip(values).collect(),
            factors,
        })
}

fn message() -> impl Strategy<Value = Message> {
    let version = select(vec![Version::V2005, Version::V2017, Version::V2025]);
    let st = select(SYSTEMS.iter().map(|s| s.code).collect::<Vec<_>>());
    let cn = select(COMMANDS.iter().map(|c| c.code).collect::<Vec<_>>());
    (
        (version, proptest::option::of(timestamp(true)), st, cn),
        (
            "[A-Za-z0-9]{1,24}",
            "[A-Za-z0-9]{1,24}",
            any::<bool>(),
            any::<bool>(),
        ),
        (2u16..30, any::<u16>(), any::<bool>(), cp()),
        proptest::collection::vec(("Z[a-z]{1,4}", value()), 0..2),
    )
        .prop_map(
            |((version, qn, st, cn), (pw, mn, ack, split), (pnum, pno, rf, cp), extra)| {
                let mut m = Message::new(version);
                m.qn = qn;
                m.st = Some(st.to_owned());
                m.cn = Some(cn.to_owned());
                m.pw = Some(pw);
                m.mn = Some(mn);
                m.flag = Some(version.flag_bits() | u8::from(ack) | (u8::from(split) << 1));
                if split {
                    m.pnum = Some(pnum);
                    m.pno = Some(pno % pnum + 1);
                }
                if rf && version == Version::V2025 {
                    m.rf = Some("1".into());
                }
                m.extra = extra;
                m.cp = cp;
                m
            },
        )
}

/// A frame or error, reduced to what must not depend on chunking.
type Outcome = Result<(u64, Vec<u8>, Option<Message>), (ErrorKind, u64, u64)>;

fn outcome(item: Result<hj212::Frame<'_>, hj212::Error>) -> Outcome {
    item.map(|f| {
        (
            f.offset,
            f.raw.to_vec(),
            Message::parse(&f, &Options::lenient()).ok(),
        )
    })
    .map_err(|e| (e.kind(), e.frame_offset(), e.offset()))
}

const GOOD: &[u8] = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

/// Pieces of a hostile stream: good frames, damaged frames, garbage.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(GOOD.to_vec()),
        1 => (0..GOOD.len()).prop_map(|n| GOOD[..n].to_vec()),
        1 => (6..GOOD.len(), any::<u8>()).prop_map(|(i, b)| {
            let mut bad = GOOD.to_vec();
            bad[i] = b;
            bad
        }),
        1 => proptest::collection::vec(select(b"#\r\n 0123456789&=;xCP".to_vec()), 0..20),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn build_then_parse_round_trips(m in message()) {
        let bytes = m.to_frame();
        let frame = Frames::new(&bytes, Options::lenient()).next().unwrap().unwrap();
        let mut parsed = Message::parse(&frame, &Options::lenient()).unwrap();
        parsed.warnings.clear();
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.to_frame(), bytes);
    }

    #[test]
    fn chunked_stream_equals_whole(
        pieces in proptest::collection::vec(piece(), 0..12),
        chunks in proptest::collection::vec(1usize..200, 1..50),
        strict in any::<bool>(),
    ) {
        let stream = pieces.concat();
        let opts = if strict { Options::strict() } else { Options::lenient() };
        let whole: Vec<Outcome> = Frames::new(&stream, opts).map(outcome).collect();

        let mut decoder = Decoder::new(opts);
        let mut chunked = Vec::new();
        let mut rest = &stream[..];
        for size in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*size).min(rest.len()));
            rest = later;
            decoder.push(now);
            while let Some(item) = decoder.next_frame() {
                chunked.push(outcome(item));
            }
        }
        decoder.finish();
        while let Some(item) = decoder.next_frame() {
            chunked.push(outcome(item));
        }
        prop_assert_eq!(whole, chunked);
        // Every good frame in the input was found.
        let good = pieces.iter().filter(|p| p[..] == *GOOD).count();
        let found = Frames::new(&stream, Options::lenient())
            .filter(|f| f.as_ref().is_ok_and(|f| f.raw == GOOD))
            .count();
        prop_assert!(found >= good);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        for opts in [Options::lenient(), Options::strict()] {
            for frame in Frames::new(&bytes, opts).flatten() {
                let _ = Message::parse(&frame, &opts);
            }
            let _ = Message::parse_segment(&bytes, 0, &opts);
        }
        if let Ok(segment) = Segment::parse(&bytes, 0) {
            let _ = segment.header().count() + segment.cp_items().count();
        }
    }

    #[test]
    fn framed_arbitrary_segments_never_panic(segment in "[A-Za-z0-9=;,&\\-# ]{0,200}") {
        let bytes = frame(segment.as_bytes());
        for opts in [Options::lenient(), Options::strict()] {
            let f = Frames::new(&bytes, opts).next().unwrap().unwrap();
            let _ = Message::parse(&f, &opts);
        }
    }
}
