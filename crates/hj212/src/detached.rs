//! A parsed message that can travel without the borrow of its bytes: [`Detached`].
//!
//! A receiver parses every frame to judge it, and whatever archives the frame needs the
//! same parse. The frame's bytes move from one to the other (a `Vec` moved keeps its
//! heap buffer); a [`MessageView`] cannot move with them, as it borrows them. Detached,
//! its texts are byte ranges of those bytes, and [`Detached::attach`] gives the view back
//! without parsing again.

use std::borrow::Cow;

use crate::cp::CpView;
use crate::error::Warning;
use crate::message::MessageView;
use crate::version::Version;

/// Where a text lies in the bytes a view was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// A [`MessageView`] with every text as a byte range of the bytes it was read from
/// ([`MessageView::detach`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    version: Version,
    qn: Option<Span>,
    st: Option<Span>,
    cn: Option<Span>,
    pw: Option<Span>,
    mn: Option<Span>,
    flag: Option<u8>,
    pnum: Option<u16>,
    pno: Option<u16>,
    rf: Option<Span>,
    extra: Vec<(Span, Span)>,
    data_time: Option<Span>,
    codes: Vec<Span>,
    fields: Vec<(usize, Span, Span)>,
    other: Vec<(Span, Span)>,
    warnings: Vec<Warning>,
}

impl<'a> MessageView<'a> {
    /// The view as byte ranges of `base`, the bytes it was parsed from (the whole frame, say:
    /// every text of the view lies inside it). `None` when a text does not lie in `base`: one
    /// decoded from GBK is owned, and such a frame is parsed again where it is needed.
    pub fn detach(&self, base: &[u8]) -> Option<Detached> {
        let span = |text: &Cow<'_, str>| -> Option<Span> {
            let Cow::Borrowed(text) = text else {
                return None;
            };
            // Addresses, not contents: a text inside `base`'s range is `base`'s bytes.
            let start = (text.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
            let end = start.wrapping_add(text.len());
            if start > end || end > base.len() {
                return None;
            }
            Some(Span {
                start: u32::try_from(start).ok()?,
                end: u32::try_from(end).ok()?,
            })
        };
        let pair = |(k, v): &(Cow<'_, str>, Cow<'_, str>)| Some((span(k)?, span(v)?));
        Some(Detached {
            version: self.version,
            qn: optional(&self.qn, span)?,
            st: optional(&self.st, span)?,
            cn: optional(&self.cn, span)?,
            pw: optional(&self.pw, span)?,
            mn: optional(&self.mn, span)?,
            flag: self.flag,
            pnum: self.pnum,
            pno: self.pno,
            rf: optional(&self.rf, span)?,
            extra: each(&self.extra, pair)?,
            data_time: optional(&self.cp.data_time, span)?,
            codes: each(&self.cp.codes, span)?,
            fields: each(&self.cp.fields, |(i, field, value)| {
                Some((*i, span(field)?, span(value)?))
            })?,
            other: each(&self.cp.other, pair)?,
            warnings: self.warnings.clone(),
        })
    }
}

impl Detached {
    /// The view again, borrowing from `base`, which must be the bytes it was detached from.
    /// `None` if a range does not fit `base` or does not hold UTF-8 there (other bytes given).
    pub fn attach<'a>(&self, base: &'a [u8]) -> Option<MessageView<'a>> {
        // A frame is nearly always ASCII: checked once whole, its texts are then cut at
        // character boundaries; otherwise each text is checked on its own.
        let whole = std::str::from_utf8(base).ok();
        let text = |s: &Span| -> Option<Cow<'a, str>> {
            let range = s.start as usize..s.end as usize;
            match whole {
                Some(whole) => whole.get(range),
                None => std::str::from_utf8(base.get(range)?).ok(),
            }
            .map(Cow::Borrowed)
        };
        let pair = |(k, v): &(Span, Span)| Some((text(k)?, text(v)?));
        Some(MessageView {
            version: self.version,
            qn: optional(&self.qn, text)?,
            st: optional(&self.st, text)?,
            cn: optional(&self.cn, text)?,
            pw: optional(&self.pw, text)?,
            mn: optional(&self.mn, text)?,
            flag: self.flag,
            pnum: self.pnum,
            pno: self.pno,
            rf: optional(&self.rf, text)?,
            extra: each(&self.extra, pair)?,
            cp: CpView {
                data_time: optional(&self.data_time, text)?,
                codes: each(&self.codes, text)?,
                fields: each(&self.fields, |(i, field, value)| {
                    Some((*i, text(field)?, text(value)?))
                })?,
                other: each(&self.other, pair)?,
            },
            warnings: self.warnings.clone(),
        })
    }
}

/// `f` of every item, or `None` if it fails for one: into a vector of the right size
/// (collecting into an `Option<Vec<_>>` knows no size and regrows; this runs on the
/// receiver's hot path, once an upload).
fn each<A, B>(items: &[A], mut f: impl FnMut(&A) -> Option<B>) -> Option<Vec<B>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(f(item)?);
    }
    Some(out)
}

/// `f` of an optional item: `Some(None)` when there is none, `None` if `f` fails.
fn optional<A, B>(item: &Option<A>, f: impl FnOnce(&A) -> Option<B>) -> Option<Option<B>> {
    match item {
        None => Some(None),
        Some(a) => f(a).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Frames, MessageView, Options};

    fn view_of(frame: &[u8]) -> MessageView<'_> {
        let frame = Frames::new(frame, Options::lenient())
            .next()
            .expect("a frame")
            .expect("well framed");
        MessageView::parse(&frame, &Options::lenient()).expect("parses")
    }

    #[test]
    fn a_detached_view_attaches_to_its_bytes_as_it_was() {
        // Header, factors with flags, a plain key, and a deviation (a warning to carry).
        let raw = crate::build::frame(
            b"QN=20240301120000001;ST=31;CN=2061;PW=888888;MN=010000A8900016F000169DC0;Flag=5;\
              CP=&&DataTime=20240301120000;a21026-Avg=12.5,a21026-Flag=N;a01011-Avg=8.1,\
              a01011-Flag=M;RtdInterval=30;Odd=1&&",
        );
        let view = view_of(&raw);
        assert_eq!(view.cp.other.len(), 2);
        assert!(!view.warnings.is_empty(), "Odd is not a standard key");
        let detached = view.detach(&raw).expect("every text is borrowed");
        // Moved to another buffer (as a `Vec` moved to another thread keeps its own).
        let moved = raw.clone();
        assert_eq!(detached.attach(&moved), Some(view.clone()));
        // Other bytes of the same length give other texts or nothing, never a panic.
        let other = vec![0xFFu8; raw.len()];
        assert_eq!(detached.attach(&other), None);
        assert_eq!(detached.attach(&raw[..10]), None);
    }

    #[test]
    fn a_view_with_text_outside_its_bytes_does_not_detach() {
        let raw = b"##0088QN=20160801085857223;ST=32;CN=2011;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&".to_vec();
        let mut view = MessageView::parse_segment(&raw[6..], 0, &Options::lenient()).unwrap();
        view.qn = Some(std::borrow::Cow::Owned("decoded".into()));
        assert_eq!(view.detach(&raw), None);
        view.qn = Some(std::borrow::Cow::Borrowed("static"));
        assert_eq!(view.detach(&raw), None);
    }
}
