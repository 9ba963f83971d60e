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
}
