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

    /// The header fields before `CP=`, as items (`QN=…`, `ST=…`, …).
    #[inline]
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
    #[inline]
    pub fn cp(&self) -> &'a [u8] {
        &self.data[self.cp_start..self.cp_end]
    }

    /// The data-area items (`DataTime=…`, `w01018-Rtd=…`, …).
    #[inline]
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
    /// Index in `key` of its first `-`, found during the split.
    dash: Option<usize>,
}

impl<'a> Item<'a> {
    /// Splits a `code-Field` key (`w01018-Rtd` → `w01018`, `Rtd`); `None`
    /// for plain keys such as `DataTime`.
    #[inline]
    pub fn factor(&self) -> Option<(&'a [u8], &'a [u8])> {
        let dash = self.dash?;
        let (code, field) = (&self.key[..dash], &self.key[dash + 1..]);
        (!code.is_empty() && !field.is_empty()).then_some((code, field))
    }

    /// An item with nothing in it (`;;`, or `;` before `&&`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.key.is_empty() && self.value.is_none()
    }
}

/// Iterator over the items of a header or data area, split on `;` and `,`.
///
/// In the data area `;` separates items and `,` separates values of one
/// item; both end a `key=value` pair, so both split here.
///
/// Items are short and dense (a delimiter every 5–10 bytes), where a
/// per-byte loop is bound by branch mispredictions and a SIMD search call
/// does not amortise its set-up. So each 8-byte word is classified once
/// with SWAR arithmetic into a mask of its `;`, `,`, `=` and `-` (for
/// [`Item::factor`]) bytes, and the iterator walks the set bits.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    text: &'a [u8],
    /// Offset of `text` in the data segment.
    base: usize,
    /// Start of the next item in `text`.
    pos: usize,
    /// Start of the 8-byte word `bits` describes.
    word: usize,
    /// Delimiters of the current word not yet consumed (the high bit of
    /// byte k stands for byte `word + k`).
    bits: u64,
    separator: Option<u8>,
    done: bool,
}

impl<'a> Items<'a> {
    fn new(text: &'a [u8], base: usize) -> Self {
        Items {
            text,
            base,
            pos: 0,
            word: 0,
            bits: word_bits(text),
            separator: None,
            done: text.is_empty(),
        }
    }

    /// Index of the next delimiter in `text`, consuming it.
    #[inline]
    fn next_delimiter(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.word += 8;
            if self.word >= self.text.len() {
                return None;
            }
            self.bits = word_bits(&self.text[self.word..]);
        }
        let i = self.word + (self.bits.trailing_zeros() / 8) as usize;
        self.bits &= self.bits - 1;
        Some(i)
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    // Always inlined: the caller's loop then keeps the iterator in
    // registers and drops the parts of `Item` it does not use.
    #[inline(always)]
    fn next(&mut self) -> Option<Item<'a>> {
        if self.done {
            return None;
        }
        let text = self.text;
        let start = self.pos;
        let (mut eq, mut dash) = (None, None);
        let end = loop {
            let Some(i) = self.next_delimiter() else {
                break None;
            };
            match text[i] {
                b'=' => eq = eq.or(Some(i)),
                b'-' if eq.is_none() => dash = dash.or(Some(i - start)),
                b'-' => {}
                _ => break Some(i),
            }
        };
        let token_end = end.unwrap_or(text.len());
        let (key, value) = match eq {
            Some(eq) => (&text[start..eq], Some(&text[eq + 1..token_end])),
            None => (&text[start..token_end], None),
        };
        let item = Item {
            key,
            value,
            offset: self.base + start,
            separator: self.separator,
            dash,
        };
        match end {
            Some(end) => {
                self.pos = end + 1;
                self.separator = Some(text[end]);
            }
            None => self.done = true,
        }
        Some(item)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each byte of `word` that is `;`, `,`, `=` or `-`,
/// exactly (the classic "has zero byte" test, without false positives).
#[inline]
fn delimiter_bits(word: u64) -> u64 {
    let nonzero = |w: u64, c: u8| {
        let y = w ^ (ONES * u64::from(c));
        ((y & LOW7) + LOW7) | y
    };
    // ',' (0x2C) and '-' (0x2D) differ only in bit 0: one test finds both.
    let all_nonzero = nonzero(word | ONES, b'-') & nonzero(word, b';') & nonzero(word, b'=');
    !(all_nonzero | LOW7)
}

/// Delimiter mask of the first 8 bytes of `bytes`.
#[inline]
fn word_bits(bytes: &[u8]) -> u64 {
    let word = match bytes.first_chunk::<8>() {
        Some(word) => *word,
        None => {
            // Zero padding never matches a delimiter.
            let mut word = [0u8; 8];
            word[..bytes.len()].copy_from_slice(bytes);
            word
        }
    };
    delimiter_bits(u64::from_le_bytes(word))
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

    /// An item as owned parts: key, value, offset, separator.
    type Owned = (Vec<u8>, Option<Vec<u8>>, usize, Option<u8>);

    /// The plain definition the bitmap iterator must agree with.
    fn naive(text: &[u8]) -> Vec<Owned> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let (mut start, mut separator) = (0, None);
        for (i, &b) in text.iter().chain([&b';']).enumerate() {
            if b == b';' || b == b',' {
                let token = &text[start..i.min(text.len())];
                let (key, value) = match token.iter().position(|&c| c == b'=') {
                    Some(eq) => (token[..eq].to_vec(), Some(token[eq + 1..].to_vec())),
                    None => (token.to_vec(), None),
                };
                out.push((key, value, start, separator));
                separator = Some(b);
                start = i + 1;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn bitmap_split_matches_the_definition(
            text in proptest::collection::vec(
                proptest::sample::select(b"ab-;,=\x00\xff\x3b\xbb\x2c\xac".to_vec()),
                0..200,
            ),
        ) {
            let ours: Vec<_> = Items::new(&text, 0)
                .map(|i| (i.key.to_vec(), i.value.map(<[u8]>::to_vec), i.offset, i.separator))
                .collect();
            prop_assert_eq!(ours, naive(&text));
            for item in Items::new(&text, 0) {
                let dash = item.key.iter().position(|&b| b == b'-');
                let expected = dash
                    .map(|d| (&item.key[..d], &item.key[d + 1..]))
                    .filter(|(c, f)| !c.is_empty() && !f.is_empty());
                prop_assert_eq!(item.factor(), expected);
            }
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
