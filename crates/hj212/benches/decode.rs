//! Throughput of the framing path on typical hourly uploads (2061, 200–600
//! bytes per frame): frame + CRC + zero-copy field split, against a plain
//! `memchr` scan of the same bytes for `##` as the floor.
//!
//! `cargo bench -p hj212 --bench decode`

use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use hj212::build::{Station, Upload, upload};
use hj212::{Factor, Frames, Message, Options, Segment, Version};

fn main() {
    divan::main();
}

/// Factor codes of a wastewater outlet and a flue-gas stack.
const WATER: &[&str] = &[
    "w00000", "w01001", "w01018", "w21003", "w21011", "w21001", "w01010",
];
const GAS: &[&str] = &[
    "a00000", "a01011", "a01012", "a01013", "a01014", "a19001", "a21026", "a21002", "a34013",
];

/// 1024 hourly frames (≈390 KB, one top-of-hour burst of a small city)
/// from many outlets, 2–6 factors each.
static STREAM: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for i in 0..1024u32 {
        let (st, codes) = if i % 2 == 0 {
            ("32", WATER)
        } else {
            ("31", GAS)
        };
        let station = Station {
            version: Version::V2017,
            st: st.into(),
            pw: "123456".into(),
            mn: format!("88888880{:06}", i % 5000),
        };
        let n = 2 + (i as usize * 7) % 5;
        let factors = codes[..n]
            .iter()
            .enumerate()
            .map(|(k, code)| {
                let v = f64::from(i % 997) * 0.37 + k as f64;
                Factor::new(*code)
                    .with("Min", format!("{:.2}", v * 0.8))
                    .with("Avg", format!("{v:.2}"))
                    .with("Max", format!("{:.2}", v * 1.3))
                    .with("Flag", "N")
            })
            .collect();
        let hour = i % 24;
        let message = upload(
            &station,
            Upload::Hourly,
            &format!("20240123{hour:02}0000{:03}", i % 1000),
            &format!("20240123{hour:02}0000"),
            factors,
            i % 3 == 0,
        );
        out.extend_from_slice(&message.to_frame());
    }
    out
});

fn sizes() -> (usize, usize, usize) {
    let frames: Vec<usize> = Frames::new(&STREAM, Options::lenient())
        .map(|f| f.unwrap().raw.len())
        .collect();
    let min = *frames.iter().min().unwrap();
    let max = *frames.iter().max().unwrap();
    (min, max, STREAM.len() / frames.len())
}

/// Frame + CRC + split every header field and CP item (the hot path of a
/// receiver that routes and stores raw frames).
#[divan::bench]
fn decode_crc_split(bencher: Bencher) {
    let (min, max, mean) = sizes();
    assert!(min >= 200 && max <= 600, "frames of {min}–{max} bytes");
    eprintln!(
        "stream: {} bytes, frames {min}–{max} bytes (mean {mean})",
        STREAM.len()
    );
    bencher.counter(BytesCount::of_slice(&*STREAM)).bench(|| {
        let mut fields = 0usize;
        for item in Frames::new(black_box(&STREAM), Options::lenient()) {
            let frame = item.unwrap();
            let segment = Segment::parse(frame.data, frame.offset).unwrap();
            for item in segment.header() {
                fields += item.key.len() + item.value.map_or(0, <[u8]>::len);
            }
            for item in segment.cp_items() {
                if let Some((code, field)) = item.factor() {
                    fields += code.len() + field.len();
                }
                fields += item.value.map_or(0, <[u8]>::len);
            }
        }
        fields
    });
}

/// Frame + CRC only.
#[divan::bench]
fn decode_crc(bencher: Bencher) {
    bencher.counter(BytesCount::of_slice(&*STREAM)).bench(|| {
        Frames::new(black_box(&STREAM), Options::lenient())
            .map(|f| f.unwrap().data.len())
            .sum::<usize>()
    });
}

/// The floor: find every `##` with `memchr::memmem`.
#[divan::bench]
fn memchr_scan(bencher: Bencher) {
    let finder = memchr::memmem::Finder::new(b"##");
    bencher
        .counter(BytesCount::of_slice(&*STREAM))
        .bench(|| finder.find_iter(black_box(&STREAM)).count());
}

/// The owned, typed message on top (allocates; for comparison).
#[divan::bench]
fn parse_messages(bencher: Bencher) {
    let opts = Options::lenient();
    bencher.counter(BytesCount::of_slice(&*STREAM)).bench(|| {
        Frames::new(black_box(&STREAM), opts)
            .map(|f| Message::parse(&f.unwrap(), &opts).unwrap().cp.factors.len())
            .sum::<usize>()
    });
}
