//! Zero-copy view of a data segment: `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&`.
//!
//! [`Segment`] only finds the `CP=&&…&&` data area; [`Items`] splits either
//! part into `key=value` items on the fly. Nothing is copied or allocated, so
//! a receiver can route on `MN`/`CN` or scan values at framing speed and build
//! the owned [`crate::Message`] only when it needs one.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::error::{Error, ErrorKind};

/// The parts of a data segment, borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    data: &'a [u8],
    /// End of the header fields: where `CP=&&` starts.
    cp_key: usize,
    /// Start of the CP content, after `CP=&&`.
    cp_start: usize,
    /// End of the CP content, before the closing `&&`.
    cp_end: usize,
}

const CP_OPEN: &[u8] = b"CP=&&";

/// Built once: constructing a searcher per segment costs more than the
/// search itself on short segments.
static FIND_CP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(CP_OPEN));

impl<'a> Segment<'a> {
    /// Finds the data area of `data`, the data segment of the frame that
    /// starts at absolute offset `frame_offset` (used only in errors).
    pub fn parse(data: &'a [u8], frame_offset: u64) -> Result<Self, Error> {
        let at = |i: usize| frame_offset + 6 + i as u64;
        let Some(cp_key) = FIND_CP.find(data) else {
            return Err(Error::text(
                ErrorKind::MalformedSegment,
                frame_offset,
                at(0),
                "the data segment has no \"CP=&&\" data area",
            ));
        };
        let cp_start = cp_key + CP_OPEN.len();
        let cp_end = if data.len() >= cp_start + 2 && data.ends_with(b"&&") {
            data.len() - 2
        } else {
            match memchr::memmem::find(&data[cp_start..], b"&&") {
                Some(i) => cp_start + i,
                None => {
                    return Err(Error::text(
                        ErrorKind::MalformedSegment,
                        frame_offset,
                        at(cp_start),
                        "the CP data area is not closed with \"&&\"",
                    ));
                }
            }
        };
        Ok(Segment {
            data,
            cp_key,
            cp_start,
            cp_end,
        })
    }

    /// The whole data segment.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The header fields before `CP=`, as items (`QN=…`, `ST=…`, …).
    pub fn header(&self) -> Items<'a> {
        Items::new(&self.data[..self.cp_key], 0)
    }

    /// Offset of `CP=` in the segment.
    pub fn cp_key_offset(&self) -> usize {
        self.cp_key
    }

    /// True when `CP=` is glued to the previous field without `;`, as in the
    /// standard's own `Flag=5CP=&&` typo.
    pub fn cp_glued(&self) -> bool {
        self.cp_key > 0 && !matches!(self.data[self.cp_key - 1], b';' | b',')
    }

    /// The content of the data area, between `CP=&&` and `&&`.
    pub fn cp(&self) -> &'a [u8] {
        &self.data[self.cp_start..self.cp_end]
    }

    /// The data-area items (`DataTime=…`, `w01018-Rtd=…`, …).
    pub fn cp_items(&self) -> Items<'a> {
        Items::new(self.cp(), self.cp_start)
    }

    /// Bytes after the closing `&&` (should be none), with their offset.
    pub fn tail(&self) -> (usize, &'a [u8]) {
        let start = self.cp_end + 2;
        (start, &self.data[start..])
    }

    /// The first header value named `name`, e.g. `b"MN"`: enough to route
    /// or acknowledge a frame without building a message.
    pub fn header_value(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.header().find(|item| item.key == name)?.value
    }
}

/// One `key=value` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// Text before the first `=`, or the whole item when there is none.
    pub key: &'a [u8],
    /// Text after the first `=`; `None` when the item has no `=`.
    pub value: Option<&'a [u8]>,
    /// Offset of the item in the data segment.
    pub offset: usize,
    /// The separator before the item (`;` or `,`), `None` for the first.
    pub separator: Option<u8>,
}

impl<'a> Item<'a> {
    /// Splits a `code-Field` key (`w01018-Rtd` → `w01018`, `Rtd`); `None`
    /// for plain keys such as `DataTime`.
    pub fn factor(&self) -> Option<(&'a [u8], &'a [u8])> {
        // Keys are a few bytes long: a plain loop beats a SIMD call here.
        let dash = self.key.iter().position(|&b| b == b'-')?;
        let (code, field) = (&self.key[..dash], &self.key[dash + 1..]);
        (!code.is_empty() && !field.is_empty()).then_some((code, field))
    }

    /// An item with nothing in it (`;;`, or `;` before `&&`).
    pub fn is_empty(&self) -> bool {
        self.key.is_empty() && self.value.is_none()
    }
}

/// Iterator over the items of a header or data area, split on `;` and `,`.
///
/// In the data area `;` separates items and `,` separates values of one
/// item; both end a `key=value` pair, so both split here.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    rest: &'a [u8],
    offset: usize,
    separator: Option<u8>,
    done: bool,
}

impl<'a> Items<'a> {
    fn new(text: &'a [u8], offset: usize) -> Self {
        Items {
            rest: text,
            offset,
            separator: None,
            done: text.is_empty(),
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.done {
            return None;
        }
        let rest = self.rest;
        let mut eq = None;
        let mut from = 0;
        let end = loop {
            match next_delimiter(rest, from) {
                Some(i) if rest[i] == b'=' => {
                    eq = eq.or(Some(i));
                    from = i + 1;
                }
                found => break found,
            }
        };
        let token = match end {
            Some(end) => {
                self.rest = &rest[end + 1..];
                &rest[..end]
            }
            None => {
                self.done = true;
                rest
            }
        };
        let next_separator = end.map(|end| rest[end]);
        let (key, value) = match eq {
            Some(eq) => (&token[..eq], Some(&token[eq + 1..])),
            None => (token, None),
        };
        let item = Item {
            key,
            value,
            offset: self.offset,
            separator: self.separator,
        };
        self.offset += token.len() + 1;
        self.separator = next_separator;
        Some(item)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each byte of `word` that is `;`, `,` or `=`, exactly
/// (the classic "has zero byte" test, without its false positives).
#[inline]
fn delimiter_mask(word: u64) -> u64 {
    let nonzero = |c: u8| {
        let y = word ^ (ONES * u64::from(c));
        ((y & LOW7) + LOW7) | y
    };
    !((nonzero(b';') & nonzero(b',') & nonzero(b'=')) | LOW7)
}

/// Index of the first `;`, `,` or `=` at or after `from`, eight bytes at a
/// time: items are short and dense, where a per-byte loop is branch-bound
/// and a SIMD call does not amortise its set-up.
#[inline]
fn next_delimiter(bytes: &[u8], mut from: usize) -> Option<usize> {
    while from < bytes.len() {
        let chunk = &bytes[from..];
        let word = match chunk.first_chunk::<8>() {
            Some(word) => u64::from_le_bytes(*word),
            None => {
                // Zero padding never matches a delimiter.
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                u64::from_le_bytes(word)
            }
        };
        let mask = delimiter_mask(word);
        if mask != 0 {
            return Some(from + (mask.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs<'a>(items: Items<'a>) -> Vec<(&'a str, Option<&'a str>)> {
        items
            .map(|i| {
                (
                    std::str::from_utf8(i.key).unwrap(),
                    i.value.map(|v| std::str::from_utf8(v).unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn splits_header_and_cp() {
        let data =
            b"QN=1;ST=32;CN=2011;CP=&&DataTime=20160801085857;w01018-Rtd=40.1,w01018-Flag=N&&";
        let seg = Segment::parse(data, 0).unwrap();
        assert_eq!(
            pairs(seg.header()),
            [
                ("QN", Some("1")),
                ("ST", Some("32")),
                ("CN", Some("2011")),
                ("", None)
            ]
        );
        assert_eq!(
            pairs(seg.cp_items()),
            [
                ("DataTime", Some("20160801085857")),
                ("w01018-Rtd", Some("40.1")),
                ("w01018-Flag", Some("N"))
            ]
        );
        let items: Vec<_> = seg.cp_items().collect();
        assert_eq!(items[1].factor(), Some((&b"w01018"[..], &b"Rtd"[..])));
        assert_eq!(items[2].separator, Some(b','));
        assert_eq!(&data[items[2].offset..items[2].offset + 6], b"w01018");
        assert_eq!(seg.header_value(b"CN"), Some(&b"2011"[..]));
        assert!(!seg.cp_glued());
        assert_eq!(seg.tail().1, b"");
    }

    #[test]
    fn empty_cp_and_deviations() {
        let seg = Segment::parse(b"ST=32;CP=&&&&", 0).unwrap();
        assert_eq!(seg.cp(), b"");
        assert_eq!(seg.cp_items().count(), 0);

        let seg = Segment::parse(b"Flag=5CP=&&A=1;&&", 0).unwrap();
        assert!(seg.cp_glued());
        let items: Vec<_> = seg.cp_items().collect();
        assert!(items[1].is_empty());

        let seg = Segment::parse(b"CP=&&A=1&&xx", 0).unwrap();
        assert_eq!(seg.cp(), b"A=1");
        assert_eq!(seg.tail(), (10, &b"xx"[..]));
    }

    proptest! {
        #[test]
        fn swar_search_matches_a_plain_scan(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab;,=\x00\xff\x3b\xbb".to_vec()), 0..40),
            from in 0usize..40,
        ) {
            let plain = bytes.iter().enumerate().skip(from).find(|(_, b)| matches!(b, b';' | b',' | b'=')).map(|(i, _)| i);
            prop_assert_eq!(next_delimiter(&bytes, from), plain);
        }
    }

    #[test]
    fn malformed() {
        for data in [&b"ST=32;CN=2011"[..], b"CP=&&A=1", b"CP=&&&"] {
            let err = Segment::parse(data, 100).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedSegment);
            assert_eq!(err.frame_offset(), 100);
        }
    }
}
