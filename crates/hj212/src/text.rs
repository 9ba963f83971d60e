//! Text of keys and values: UTF-8 as the standard says (§6.3), GBK from
//! legacy data loggers as a fallback. Lengths and CRCs are always over the
//! bytes as sent; only the owned message decodes.

use std::borrow::Cow;

use crate::error::Error;
use crate::segment::Item;

/// How a byte string was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    /// Not UTF-8; read as GBK (a deviation).
    Gbk,
}

/// Decodes `bytes` as UTF-8, falling back to GBK.
pub(crate) fn decode(bytes: &[u8]) -> (Cow<'_, str>, Encoding) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), Encoding::Utf8),
        Err(_) => {
            let (text, _had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
            (text, Encoding::Gbk)
        }
    }
}

/// A data segment and, when all of it is UTF-8 (nearly always), its text: the keys and
/// values are then slices of that text, checked once for the segment instead of once each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Source {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// `part`, a slice of the segment, as text when the whole segment is UTF-8.
    #[inline]
    pub(crate) fn text(&self, part: &'a [u8]) -> Option<&'a str> {
        // Items end at ASCII separators, so these are character boundaries.
        let start = part.as_ptr() as usize - self.bytes.as_ptr() as usize;
        self.text?.get(start..start + part.len())
    }

    /// [`decode`] of `part`, a slice of the segment.
    fn decode(&self, part: &'a [u8]) -> (Cow<'a, str>, Encoding) {
        match self.text(part) {
            Some(text) => (Cow::Borrowed(text), Encoding::Utf8),
            None => decode(part),
        }
    }
}

/// A decoded `(key, value)`.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// An item's key and value as slices of the segment's text, when the segment is UTF-8
/// and the item has a `=`: the usual item, with nothing to report, taken without the
/// large `Result` of [`decode_item`] (whose moves cost more than the item).
#[inline]
pub(crate) fn plain_item<'a>(source: &Source<'a>, item: &Item<'a>) -> Option<Pair<'a>> {
    let value = source.text(item.value?)?;
    Some((Cow::Borrowed(source.text(item.key)?), Cow::Borrowed(value)))
}

/// Decodes an item of `source` (its key and value), reporting a missing `=` or GBK text
/// as deviations of `what` ("header field", "data-area item"). `None`
/// when the item has no `=` (and lenient mode skips it).
pub(crate) fn decode_item<'a>(
    source: &Source<'a>,
    item: &Item<'a>,
    what: &str,
    report: &mut impl FnMut(usize, String) -> Result<(), Error>,
) -> Result<Option<Pair<'a>>, Error> {
    let (key, key_encoding) = source.decode(item.key);
    let Some(raw_value) = item.value else {
        report(item.offset, format!("{what} \"{key}\" has no '='"))?;
        return Ok(None);
    };
    let (value, value_encoding) = source.decode(raw_value);
    if key_encoding == Encoding::Gbk || value_encoding == Encoding::Gbk {
        report(
            item.offset,
            format!("{what} \"{key}\" is not UTF-8; read as GBK"),
        )?;
    }
    Ok(Some((key, value)))
}

/// `part`, a slice of `whole`, with `whole`'s lifetime when `whole` borrows from the
/// frame; copied only when `whole` was decoded (GBK) into an owned string.
pub(crate) fn sub<'a>(whole: &Cow<'a, str>, part: &str) -> Cow<'a, str> {
    match whole {
        Cow::Borrowed(text) => {
            let start = part.as_ptr() as usize - text.as_ptr() as usize;
            Cow::Borrowed(&text[start..start + part.len()])
        }
        Cow::Owned(_) => Cow::Owned(part.to_owned()),
    }
}

/// `a == b` for the short keys, codes and field names of the protocol (2–10 bytes),
/// compared as two overlapping fixed-size words: a `memcmp` call costs more than the
/// comparison itself at these lengths, and a message makes a hundred of them.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        9..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

/// The `N` bytes of `s` from `at`, as one value to compare.
#[inline(always)]
fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    *s[at..]
        .first_chunk()
        .expect("the caller checked the length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_then_gbk() {
        assert_eq!(
            decode("清洗管路".as_bytes()),
            (Cow::Borrowed("清洗管路"), Encoding::Utf8)
        );
        // "清洗" in GBK.
        let (text, enc) = decode(&[0xC7, 0xE5, 0xCF, 0xB4]);
        assert_eq!((text.as_ref(), enc), ("清洗", Encoding::Gbk));
    }

    /// The word comparison agrees with `==` at every length it treats apart, for
    /// equal strings and strings differing in any one byte.
    #[test]
    fn same_is_equality() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=text.len() {
            let a = &text[..n];
            assert!(same(a, a));
            assert!(!same(a, &text[..n.saturating_sub(1)]) || n == 0);
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!same(a, &b), "{n} {i}");
            }
        }
    }
}
