//! The identifier newtypes on arbitrary text: region code, unified social credit code, case
//! number and money. Never a panic, and whatever parses prints back to text that parses to
//! the same value (what is stored is what was read).
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use ecowarden::ids::{CaseNo, CreditCode, Money, RegionCode};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: FromStr + Display + PartialEq + std::fmt::Debug>(s: &str) {
    if let Ok(v) = s.parse::<T>() {
        let again: T = v
            .to_string()
            .parse()
            .unwrap_or_else(|_| panic!("{v} does not parse back"));
        assert_eq!(again, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<RegionCode>(s);
    round_trip::<CreditCode>(s);
    round_trip::<CaseNo>(s);
    round_trip::<Money>(s);
});
