//! `ecowarden hj212 parse` throughput: JSON lines written per second for a capture of hourly
//! uploads (2061, six factors with Min/Avg/Max/Flag, 2017 edition), parsed in lenient mode
//! into memory, best of several rounds, timed by the thread's CPU time where the system
//! reports it (the machine is shared: wall time there measures the neighbours).
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
    let (mut best_wall, mut best_cpu) = (Duration::MAX, None::<Duration>);
    for _ in 0..7 {
        out.clear();
        let (wall, cpu) = (Instant::now(), thread_cpu());
        parse(&args, &mut &input[..], &mut out).expect("in memory");
        best_wall = best_wall.min(wall.elapsed());
        if let (Some(start), Some(end)) = (cpu, thread_cpu()) {
            best_cpu = Some(best_cpu.map_or(end - start, |best| best.min(end - start)));
        }
    }
    let mb = |bytes: usize| bytes as f64 / 1e6;
    let (what, best) = match best_cpu {
        Some(cpu) => ("CPU", cpu),
        None => ("wall", best_wall),
    };
    let secs = best.as_secs_f64();
    println!(
        "hj212 parse: {frames} frames, {:.1} MB in, {:.1} MB JSON out, best of 7 {:.1} ms {what} \
         ({:.1} ms wall): {:.0} MB/s JSON written ({:.0} MB/s read, {:.0} frames/s)",
        mb(input.len()),
        mb(out.len()),
        secs * 1e3,
        best_wall.as_secs_f64() * 1e3,
        mb(out.len()) / secs,
        mb(input.len()) / secs,
        f64::from(frames) / secs,
    );
}

/// The CPU time this thread has run (Linux), so that a round is timed the same whether
/// or not other work shares the cores; `None` elsewhere, and the wall clock is used.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}
