//! The frame decoder on arbitrary bytes: never panics, and a stream fed in
//! chunks yields exactly what the whole buffer yields; a parsed view detaches and attaches
//! again as it was.
#![no_main]

use hj212::{Decoder, Frames, Message, MessageView, Options};
use libfuzzer_sys::fuzz_target;

/// A frame or error reduced to what must not depend on chunking.
type Outcome = Result<(u64, Vec<u8>), (hj212::ErrorKind, u64, u64)>;

fn outcome(item: Result<hj212::Frame<'_>, hj212::Error>, opts: &Options) -> Outcome {
    match item {
        Ok(frame) => {
            // The owned layer must not panic either, whatever the segment.
            let _ = Message::parse(&frame, opts);
            // A view detached from the frame's bytes attaches to a copy of them as it was
            // (GBK-decoded texts are owned: such a view does not detach).
            if let Ok(view) = MessageView::parse(&frame, opts)
                && let Some(detached) = view.detach(frame.raw)
            {
                let copy = frame.raw.to_vec();
                assert_eq!(detached.attach(&copy), Some(view));
            }
            Ok((frame.offset, frame.raw.to_vec()))
        }
        Err(e) => Err((e.kind(), e.frame_offset(), e.offset())),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, bytes)) = input.split_first() else {
        return;
    };
    let opts = if control & 0x80 != 0 {
        Options::strict()
    } else {
        Options::lenient()
    };
    let chunk = usize::from(control & 0x7F).max(1);

    let whole: Vec<Outcome> = Frames::new(bytes, opts)
        .map(|item| outcome(item, &opts))
        .collect();

    let mut decoder = Decoder::new(opts);
    let mut chunked = Vec::new();
    for piece in bytes.chunks(chunk) {
        decoder.push(piece);
        while let Some(item) = decoder.next_frame() {
            chunked.push(outcome(item, &opts));
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_frame() {
        chunked.push(outcome(item, &opts));
    }
    assert_eq!(whole, chunked);
    assert_eq!(decoder.buffered(), 0);
});
