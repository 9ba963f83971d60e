//! The data-segment and CP parsers on arbitrary bytes: never panic, the
//! zero-copy items cover the data area, and strict acceptance means lenient
//! mode found nothing to warn about.
#![no_main]

use hj212::{Message, Options, Segment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(segment) = Segment::parse(data, 0) {
        let cp = segment.cp();
        for item in segment.cp_items() {
            let end = item.offset + item.key.len() + item.value.map_or(0, |v| v.len() + 1);
            assert!(end <= data.len());
            let _ = item.factor();
        }
        assert!(segment.cp_items().count() <= cp.len() + 1);
        let _ = segment.header().count();
    }
    let lenient = Message::parse_segment(data, 0, &Options::lenient());
    if let Ok(strict) = Message::parse_segment(data, 0, &Options::strict()) {
        let lenient = lenient.expect("strict accepted, so lenient must");
        assert!(lenient.warnings.is_empty(), "{:?}", lenient.warnings);
        assert_eq!(strict, lenient);
    }
});
