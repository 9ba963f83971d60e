//! `ecowarden hj212 parse` on arbitrary bytes: the JSON written straight from the borrowed
//! fields (`MessageView`) is one valid JSON object a line, and a message's borrowed view
//! turns back into the same owned message.
#![no_main]

use ecowarden::hj212_cli::{ParseArgs, parse};
use hj212::{Frames, Message, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&control, bytes)) = input.split_first() else {
        return;
    };
    let args = ParseArgs {
        strict: control & 1 != 0,
        reassemble: control & 2 != 0,
        file: None,
    };
    let mut out = Vec::new();
    parse(&args, &mut &bytes[..], &mut out).expect("in memory");
    let text = String::from_utf8(out).expect("UTF-8 JSON");
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(value.is_object());
    }
    let opts = if args.strict {
        Options::strict()
    } else {
        Options::lenient()
    };
    for frame in Frames::new(bytes, opts).flatten() {
        if let Ok(message) = Message::parse(&frame, &opts) {
            assert_eq!(message.view().into_owned(), message);
        }
    }
});
