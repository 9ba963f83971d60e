//! Proof that the framing path (frame → CRC → zero-copy field split) makes
//! no heap allocation per frame, with a counting global allocator.
//!
//! The counter is per thread, so tests running in parallel in this binary
//! do not disturb each other. The allocator wrapper needs `unsafe` (the
//! `GlobalAlloc` trait is unsafe); the crate itself forbids unsafe code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hj212::{Decoder, Frames, Options, Segment};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The conformance frames that pass framing, 50 times over.
fn stream() -> Vec<u8> {
    let good: Vec<u8> = include_str!("../data/messages.jsonl")
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["valid"] == true)
        .flat_map(|record| record["raw"].as_str().unwrap().as_bytes().to_vec())
        .collect();
    good.repeat(50)
}

/// Touches every field so nothing is optimised away; returns a checksum.
fn split_all(frame: &hj212::Frame<'_>) -> usize {
    let segment = Segment::parse(frame.data, frame.offset).expect("segment");
    let header: usize = segment
        .header()
        .map(|i| i.key.len() + i.value.map_or(0, <[u8]>::len))
        .sum();
    let cp: usize = segment
        .cp_items()
        .map(|i| {
            i.factor()
                .map_or(i.key.len(), |(code, field)| code.len() + field.len())
        })
        .sum();
    header + cp
}

#[test]
fn framing_path_allocates_nothing_per_frame() {
    let input = stream();
    let mut frames = 0;
    let mut checksum = 0;
    let allocations = allocations_during(|| {
        for item in Frames::new(&input, Options::lenient()) {
            let frame = item.expect("good frame");
            checksum += split_all(&frame);
            frames += 1;
        }
    });
    assert_eq!(frames, 41 * 50);
    assert!(checksum > 0);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations for {frames} frames"
    );
}

#[test]
fn streaming_decoder_allocates_nothing_after_warm_up() {
    let input = stream();
    let mut decoder = Decoder::new(Options::lenient());
    let feed = |decoder: &mut Decoder| {
        let mut frames = 0;
        for chunk in input.chunks(1460) {
            decoder.push(chunk);
            while let Some(item) = decoder.next_frame() {
                split_all(&item.expect("good frame"));
                frames += 1;
            }
        }
        frames
    };
    feed(&mut decoder); // the buffer reaches its working size
    let mut frames = 0;
    let allocations = allocations_during(|| frames = feed(&mut decoder));
    assert!(frames > 2000);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations for {frames} frames"
    );
}
