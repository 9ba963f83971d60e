//! `ecowarden hj212 parse` throughput: JSON lines written per second for a capture of hourly
//! uploads (2061, six factors with Min/Avg/Max/Flag, 2017 edition), parsed in lenient mode
//! into memory, best of several rounds.
//!
//! `cargo bench -p ecowarden --bench hj212_parse [-- FRAMES]` (default 20,000 frames)

use std::time::{Duration, Instant};

use ecowarden::hj212_cli::{ParseArgs, parse};

/// The binary's allocator, so the figure is the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use hj212::build::{Station, Upload, upload};
use hj212::{Factor, Version};

fn main() {
    let frames: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let station = |i: u32| Station {
        version: Version::V2017,
        st: "31".into(),
        pw: "123456".into(),
        mn: format!("35010200000{i:04}"),
    };
    let mut input = Vec::new();
    for i in 0..frames {
        let hour = i % 24;
        let factors = ["a00000", "a01011", "a19001", "a21026", "a21002", "a34013"]
            .iter()
            .zip(1..)
            .map(|(code, k)| {
                let v = f64::from(i % 389) * 0.71 + f64::from(k);
                Factor::new(*code)
                    .with("Min", format!("{:.3}", v * 0.9))
                    .with("Avg", format!("{v:.3}"))
                    .with("Max", format!("{:.3}", v * 1.2))
                    .with("Flag", "N")
            })
            .collect();
        let qn = format!("20250307{hour:02}0000{:03}", i % 1000);
        let data_time = format!("20250307{hour:02}0000");
        let message = upload(
            &station(i % 2000),
            Upload::Hourly,
            &qn,
            &data_time,
            factors,
            true,
        );
        input.extend(message.to_frame());
    }
    let args = ParseArgs {
        strict: false,
        reassemble: false,
        file: None,
    };
    let mut out = Vec::with_capacity(input.len() * 3);
    let mut best = Duration::MAX;
    for _ in 0..7 {
        out.clear();
        let start = Instant::now();
        parse(&args, &mut &input[..], &mut out).expect("in memory");
        best = best.min(start.elapsed());
    }
    let secs = best.as_secs_f64();
    let mb = |bytes: usize| bytes as f64 / 1e6;
    println!(
        "hj212 parse: {frames} frames, {:.1} MB in, {:.1} MB JSON out, best of 7 {:.1} ms: \
         {:.0} MB/s JSON written ({:.0} MB/s read, {:.0} frames/s)",
        mb(input.len()),
        mb(out.len()),
        secs * 1e3,
        mb(out.len()) / secs,
        mb(input.len()) / secs,
        f64::from(frames) / secs,
    );
}
