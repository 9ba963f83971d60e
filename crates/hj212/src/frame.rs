//! Framing: `##` + 4-digit length + data segment + 4 hex CRC + `\r\n`.
//!
//! Frames are cut by the length field, never by CRLF: a `\r\n` may appear in
//! text, and TCP delivers half frames and several frames per read (jetlinks
//! issue #65 is the classic failure of a CRLF-delimited decoder).
//!
//! The scanner works on a borrowed byte slice and hands out [`Frame`]s that
//! borrow from it, so the framing path never allocates. [`Frames`] walks a
//! complete buffer; [`Decoder`] keeps a buffer for a byte stream that arrives
//! in pieces. Both run the same scanner, so they return the same frames
//! whatever the chunking.
//!
//! After a bad frame the scanner resynchronises at the next `##` after that
//! frame's first byte, so a good frame behind a damaged one is never lost.

use crate::crc::{self, CrcVariant};
use crate::error::{Detail, Error, ErrorKind};

/// How forgiving the codec is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Reject every deviation from the standard instead of recording it as a
    /// warning (command-line `--strict`).
    pub strict: bool,
    /// Longest data segment the framing layer accepts, in bytes: the
    /// standard's 1024 in strict mode; in lenient mode up to
    /// [`Options::MAX_LENIENT_DATA_LEN`], and [`Message::parse`](crate::Message::parse)
    /// warns about anything above 1024.
    pub max_data_len: usize,
    /// A CRC variant to accept besides the standard's, marked on the frame
    /// ([`Frame::crc_variant`]). A receiver sets it to see which loggers
    /// send it, and decides per logger whether such a frame counts.
    pub alt_crc: Option<CrcVariant>,
}

impl Options {
    /// The standard's maximum data-segment length.
    pub const MAX_DATA_LEN: usize = 1024;

    /// Lenient mode's bound: the most the 4-digit length field can say.
    /// Captured logs hold 1,025- and 1,623-byte frames; the bound keeps a
    /// decoder's buffer to one frame of at most 10,011 bytes whatever a
    /// hostile sender declares.
    pub const MAX_LENIENT_DATA_LEN: usize = 9999;

    /// Lenient mode: accept real-world deviations and warn about them.
    pub const fn lenient() -> Self {
        Options {
            strict: false,
            max_data_len: Self::MAX_LENIENT_DATA_LEN,
            alt_crc: None,
        }
    }

    /// Strict mode: any deviation is an error.
    pub const fn strict() -> Self {
        Options {
            strict: true,
            max_data_len: Self::MAX_DATA_LEN,
            alt_crc: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::lenient()
    }
}

/// How a frame ended. Anything but [`Trailer::CrLf`] only passes in lenient mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    /// `\r\n`, as the standard says.
    CrLf,
    /// A lone `\n` (a common sender bug).
    Lf,
    /// Nothing: the input ended, or the next frame's `##` followed directly.
    Missing,
}

/// One well-formed frame, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Absolute offset of the frame's `##` in the stream.
    pub offset: u64,
    /// The whole frame as received, header to trailer: keep it as evidence.
    pub raw: &'a [u8],
    /// The data segment (what the length counts and the CRC covers).
    pub data: &'a [u8],
    /// The CRC, which matched.
    pub crc: u16,
    /// Which CRC matched: the standard's, or [`Options::alt_crc`].
    pub crc_variant: CrcVariant,
    /// How the frame ended.
    pub trailer: Trailer,
    /// Whitespace bytes skipped just before this frame (lenient mode only).
    pub gap: usize,
}

/// `##` + 4 length digits.
const HEADER_LEN: usize = 6;
/// 4 CRC characters.
const CRC_LEN: usize = 4;

/// Scanner state that must survive between buffer refills.
#[derive(Debug, Default, Clone, Copy)]
struct ScanState {
    /// Skipping garbage after a bad frame, looking for the next `##`.
    resync: bool,
    /// Whitespace already skipped before the next frame.
    gap: usize,
}

/// What one scanner step produced.
struct Step<'a> {
    /// Bytes of the buffer that are finished with.
    consumed: usize,
    /// A frame or an error, if the step completed one.
    item: Option<Result<Frame<'a>, Error>>,
}

impl<'a> Step<'a> {
    fn wait() -> Self {
        Step {
            consumed: 0,
            item: None,
        }
    }

    fn skip(consumed: usize) -> Self {
        Step {
            consumed,
            item: None,
        }
    }
}

fn is_gap_byte(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0)
}

impl ScanState {
    /// One step over `buf`, whose first byte is at absolute offset `base`.
    /// `eof` says no more bytes will follow `buf`.
    fn step<'a>(&mut self, buf: &'a [u8], base: u64, eof: bool, opts: &Options) -> Step<'a> {
        if self.resync {
            let step = self.resync_step(buf, eof);
            // Still skipping, or skipped up to a header: report progress.
            if self.resync || step.consumed > 0 {
                return step;
            }
            // The header is at buf[0]: parse it now.
        }
        let Some(&first) = buf.first() else {
            return Step::wait();
        };
        if !opts.strict && is_gap_byte(first) {
            let n = buf.iter().take_while(|&&b| is_gap_byte(b)).count();
            self.gap += n;
            return Step::skip(n);
        }
        self.frame(buf, base, eof, opts)
    }

    /// Skips to the next `##` that is not followed by a third `#` (a run of
    /// `#` is padding; the header is its last pair). At end of input a
    /// partial header left after a bad frame is part of the garbage.
    fn resync_step<'a>(&mut self, buf: &'a [u8], eof: bool) -> Step<'a> {
        let mut from = 0;
        while let Some(i) = memchr::memmem::find(&buf[from..], b"##").map(|i| i + from) {
            match buf.get(i + 2) {
                Some(b'#') => from = i + 1,
                Some(_) => {
                    self.resync = false;
                    self.gap = 0;
                    return Step::skip(i);
                }
                None if eof => break,
                // Cannot tell yet whether a third '#' follows.
                None => return Step::skip(i),
            }
        }
        // Keep a trailing '#': it may be the first half of a header.
        let keep = usize::from(!eof && buf.last() == Some(&b'#'));
        Step::skip(buf.len() - keep)
    }

    /// Rejects the frame starting at `buf[0]` and resynchronises after its
    /// first byte.
    fn fail<'a>(&mut self, error: Error) -> Step<'a> {
        self.resync = true;
        self.gap = 0;
        Step {
            consumed: 1,
            item: Some(Err(error)),
        }
    }

    fn frame<'a>(&mut self, buf: &'a [u8], base: u64, eof: bool, opts: &Options) -> Step<'a> {
        let at = |i: usize| base + i as u64;
        let err = |kind, i: usize, detail| Error::new(kind, base, at(i), detail);
        let truncated = |len: usize, declared: usize| {
            Error::new(
                ErrorKind::Truncated,
                base,
                at(len),
                Detail::Length {
                    declared,
                    other: len,
                },
            )
        };

        // Header "##", and not the middle of a run of '#'.
        for (i, &b) in buf.iter().take(3).enumerate() {
            let bad = match i {
                0 | 1 => b != b'#',
                _ => b == b'#',
            };
            if bad {
                // A third '#' makes the first one a stray byte.
                let stray = if i == 2 { 0 } else { i };
                return self.fail(err(ErrorKind::BadHeader, stray, Detail::Byte(buf[stray])));
            }
        }
        if buf.len() < HEADER_LEN {
            return if eof {
                self.fail(truncated(buf.len(), HEADER_LEN))
            } else {
                Step::wait()
            };
        }

        let mut declared = 0usize;
        for (i, &b) in buf[2..HEADER_LEN].iter().enumerate() {
            if !b.is_ascii_digit() {
                return self.fail(err(ErrorKind::BadLength, 2 + i, Detail::Byte(b)));
            }
            declared = declared * 10 + usize::from(b - b'0');
        }
        if declared > opts.max_data_len {
            return self.fail(err(
                ErrorKind::TooLong,
                2,
                Detail::Length {
                    declared,
                    other: opts.max_data_len,
                },
            ));
        }

        let data_end = HEADER_LEN + declared;
        let crc_end = data_end + CRC_LEN;
        if buf.len() < crc_end {
            if !eof {
                return Step::wait();
            }
            let error = match cp_end(&buf[HEADER_LEN..]) {
                Some(end) if end < declared => err(
                    ErrorKind::BadLength,
                    2,
                    Detail::Length {
                        declared,
                        other: end,
                    },
                ),
                _ => truncated(buf.len(), crc_end + 2),
            };
            return self.fail(error);
        }

        let data = &buf[HEADER_LEN..data_end];
        // Framing first, then the CRC, then (in `Message::parse`) the content:
        // when the CRC slot and the trailer are where the length says, the
        // length is right and a damaged byte inside is a CRC mismatch. When
        // either is wrong, the CRC does not match and the data does not end
        // with the CP terminator "&&", the length is to blame.
        let length_error = |this: &mut Self| {
            let detail = match cp_end(&buf[HEADER_LEN..crc_end]) {
                Some(end) => Detail::Length {
                    declared,
                    other: end,
                },
                None => Detail::Unterminated { declared },
            };
            this.fail(err(ErrorKind::BadLength, 2, detail))
        };
        let text: &[u8; CRC_LEN] = buf[data_end..crc_end].try_into().expect("4 bytes");
        let sent = match crc::parse_hex(text) {
            Ok(sent) => sent,
            Err(_) if !data.ends_with(b"&&") => return length_error(self),
            Err(i) => {
                return self.fail(err(
                    ErrorKind::BadCrcText,
                    data_end + i,
                    Detail::Byte(text[i]),
                ));
            }
        };

        let (trailer, end) = match (buf.get(crc_end), buf.get(crc_end + 1)) {
            (Some(b'\r'), Some(b'\n')) => (Trailer::CrLf, crc_end + 2),
            (None, _) | (Some(b'\r'), None) if !eof => return Step::wait(),
            _ if !data.ends_with(b"&&") && crc::crc16(data) != sent => return length_error(self),
            _ if opts.strict => {
                let detail = buf.get(crc_end).map_or(Detail::None, |&b| Detail::Byte(b));
                return self.fail(err(ErrorKind::BadTrailer, crc_end, detail));
            }
            (None, _) => (Trailer::Missing, crc_end),
            (Some(b'\r'), None) => (Trailer::Missing, crc_end + 1),
            (Some(b'\n'), _) => (Trailer::Lf, crc_end + 1),
            (Some(b'#'), _) => (Trailer::Missing, crc_end),
            (Some(&b), _) => {
                return self.fail(err(ErrorKind::BadTrailer, crc_end, Detail::Byte(b)));
            }
        };

        let computed = crc::crc16(data);
        let crc_variant = match opts.alt_crc {
            _ if sent == computed => CrcVariant::Hj212,
            Some(alt) if alt.compute(data) == sent => alt,
            _ => {
                return self.fail(err(
                    ErrorKind::CrcMismatch,
                    data_end,
                    Detail::Crc { sent, computed },
                ));
            }
        };
        let frame = Frame {
            offset: base,
            raw: &buf[..end],
            data,
            crc: sent,
            crc_variant,
            trailer,
            gap: std::mem::take(&mut self.gap),
        };
        Step {
            consumed: end,
            item: Some(Ok(frame)),
        }
    }
}

/// Length of the data segment up to and including the CP terminator: the
/// first `&&` after `CP=&&`. `None` when there is no complete CP area.
fn cp_end(segment: &[u8]) -> Option<usize> {
    let start = memchr::memmem::find(segment, b"CP=&&")? + 5;
    memchr::memmem::find(&segment[start..], b"&&").map(|i| start + i + 2)
}

/// Every frame and error in a complete buffer, in order, borrowing from it.
///
/// ```
/// let input = b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n";
/// let frames: Vec<_> = hj212::Frames::new(input, hj212::Options::default()).collect();
/// assert_eq!(frames.len(), 1);
/// assert_eq!(frames[0].as_ref().unwrap().crc, 0x2200);
/// ```
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    input: &'a [u8],
    pos: usize,
    state: ScanState,
    opts: Options,
}

impl<'a> Frames<'a> {
    /// Scans `input` as a whole stream (its end is the end of input).
    pub fn new(input: &'a [u8], opts: Options) -> Self {
        Frames {
            input,
            pos: 0,
            state: ScanState::default(),
            opts,
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let step = self
                .state
                .step(&self.input[self.pos..], self.pos as u64, true, &self.opts);
            self.pos += step.consumed;
            if step.item.is_some() || step.consumed == 0 {
                return step.item;
            }
        }
    }
}

/// Incremental decoder for a byte stream (a TCP connection, a pipe).
///
/// Push bytes as they arrive, then take frames with [`Decoder::next_frame`]
/// until it returns `None`; call [`Decoder::finish`] at end of input so a
/// last frame without trailer, or a truncated one, is reported. The buffer
/// holds at most one unfinished frame once the pending frames are taken, so
/// after warm-up the decoder does not allocate.
///
/// ```
/// let mut decoder = hj212::Decoder::new(hj212::Options::default());
/// let frame = b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n";
/// decoder.push(&frame[..40]);
/// assert!(decoder.next_frame().is_none());
/// decoder.push(&frame[40..]);
/// assert_eq!(decoder.next_frame().unwrap().unwrap().offset, 0);
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Received bytes up to `end`; past it, room [`Decoder::fill`] keeps for the next read.
    buf: Vec<u8>,
    /// End of the received bytes in `buf`.
    end: usize,
    /// Start of the unscanned bytes in `buf`.
    pos: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    state: ScanState,
    opts: Options,
}

impl Decoder {
    /// A decoder at stream offset 0.
    pub fn new(opts: Options) -> Self {
        Decoder {
            buf: Vec::new(),
            end: 0,
            pos: 0,
            base: 0,
            eof: false,
            state: ScanState::default(),
            opts,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.truncate(self.end);
        self.buf.extend_from_slice(bytes);
        self.end = self.buf.len();
    }

    /// Appends the bytes `fill` writes at the start of the `max` bytes it is given and
    /// counts in its `Ok` (at most `max`): a reader then reads straight into the
    /// decoder's buffer instead of into its own and being copied by [`Decoder::push`].
    /// On `Err` nothing is appended. The room is kept between calls, so it is zeroed
    /// only when the buffer grows.
    ///
    /// ```
    /// let mut decoder = hj212::Decoder::new(hj212::Options::default());
    /// let mut input = &b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n"[..];
    /// while decoder.fill(64, |room| std::io::Read::read(&mut input, room)).unwrap() > 0 {}
    /// assert_eq!(decoder.next_frame().unwrap().unwrap().crc, 0x2200);
    /// ```
    pub fn fill<E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.compact();
        let end = self.end + max;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let n = fill(&mut self.buf[self.end..end])?.min(max);
        self.end += n;
        Ok(n)
    }

    /// Drops the bytes already scanned, moving the rest to the front.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.base += self.pos as u64;
            self.pos = 0;
        }
    }

    /// Marks the end of input: the remaining bytes are judged as they are.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Bytes received but not yet framed (at most one partial frame once
    /// [`Decoder::next_frame`] has returned `None`).
    pub fn buffered(&self) -> usize {
        self.end - self.pos
    }

    /// The next frame or error, or `None` when more input is needed (or,
    /// after [`Decoder::finish`], when everything has been reported).
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, Error>> {
        loop {
            let start = self.pos;
            let step = self.state.step(
                &self.buf[start..self.end],
                self.base + start as u64,
                self.eof,
                &self.opts,
            );
            self.pos += step.consumed;
            if step.item.is_some() || step.consumed == 0 {
                return step.item;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";
    const B: &[u8] = b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n";

    fn kinds(input: &[u8], opts: Options) -> Vec<Result<u64, (ErrorKind, u64)>> {
        Frames::new(input, opts)
            .map(|r| {
                r.map(|f| f.offset)
                    .map_err(|e| (e.kind(), e.frame_offset()))
            })
            .collect()
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn two_frames_in_one_buffer() {
        let input = cat(&[A, B]);
        assert_eq!(
            kinds(&input, Options::lenient()),
            [Ok(0), Ok(A.len() as u64)]
        );
        let frame = Frames::new(&input, Options::lenient())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(frame.data.len(), 101);
        assert_eq!(frame.raw, A);
        assert_eq!(frame.trailer, Trailer::CrLf);
    }

    #[test]
    fn garbage_between_frames_is_one_error_and_loses_nothing() {
        let input = cat(&[b"xyz", A, b"garbage#", B]);
        let got = kinds(&input, Options::lenient());
        assert_eq!(
            got,
            [
                Err((ErrorKind::BadHeader, 0)),
                Ok(3),
                Err((ErrorKind::BadHeader, 3 + A.len() as u64)),
                Ok(3 + A.len() as u64 + 8),
            ]
        );
    }

    #[test]
    fn bad_crc_then_good_frame() {
        let mut bad = A.to_vec();
        bad[107] = b'D'; // 1C80 -> 1D80
        let input = cat(&[&bad, B]);
        assert_eq!(
            kinds(&input, Options::lenient()),
            [Err((ErrorKind::CrcMismatch, 0)), Ok(A.len() as u64)]
        );
    }

    #[test]
    fn overlong_length_does_not_swallow_the_next_frame() {
        // Declares 999 bytes: the decoder waits, then resynchronises inside.
        let mut bad = b"##0999".to_vec();
        bad.extend_from_slice(&A[6..]);
        let input = cat(&[&bad, B, &[b'x'; 1000]]);
        let got = kinds(&input, Options::lenient());
        assert_eq!(got[0], Err((ErrorKind::BadLength, 0)));
        assert_eq!(got[1], Ok(A.len() as u64));
    }

    #[test]
    fn header_right_after_a_bad_byte() {
        // Found by fuzzing: the resync lands on a header at the very next
        // byte, which must be parsed, not mistaken for "need more input".
        let input = cat(&[b"?", &A[..60]]);
        assert_eq!(
            kinds(&input, Options::lenient()),
            [
                Err((ErrorKind::BadHeader, 0)),
                Err((ErrorKind::Truncated, 1))
            ]
        );
    }

    #[test]
    fn lenient_trailers() {
        let body = &A[..A.len() - 2];
        let lf = cat(&[body, b"\n"]);
        let f = Frames::new(&lf, Options::lenient())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(f.trailer, Trailer::Lf);
        let f = Frames::new(body, Options::lenient())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(f.trailer, Trailer::Missing);
        let sticky = cat(&[body, B]);
        assert_eq!(
            kinds(&sticky, Options::lenient()),
            [Ok(0), Ok(body.len() as u64)]
        );
        for input in [&lf[..], body, &sticky] {
            assert_eq!(
                kinds(input, Options::strict())[0],
                Err((ErrorKind::BadTrailer, 0))
            );
        }
    }

    #[test]
    fn framing_errors() {
        let e = |input: &[u8]| kinds(input, Options::lenient())[0];
        assert_eq!(e(b"##01x1"), Err((ErrorKind::BadLength, 0)));
        assert_eq!(
            kinds(b"##1025", Options::strict())[0],
            Err((ErrorKind::TooLong, 0))
        );
        assert_eq!(e(&A[..50]), Err((ErrorKind::Truncated, 0)));
        let mut bad = A.to_vec();
        bad[108] = b'?';
        assert_eq!(e(&bad), Err((ErrorKind::BadCrcText, 0)));
        let mut bad = A.to_vec();
        bad[111] = b'X';
        assert_eq!(e(&bad), Err((ErrorKind::BadTrailer, 0)));
    }

    /// A data segment of `len` bytes with a valid CRC.
    fn long_frame(len: usize) -> Vec<u8> {
        let head = b"QN=20160801085857223;ST=32;CN=2011;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085800;x-Info=";
        let mut seg = head.to_vec();
        seg.resize(len - 2, b'9');
        seg.extend_from_slice(b"&&");
        crate::build::frame(&seg)
    }

    #[test]
    fn frames_above_1024_bytes_pass_lenient_with_a_warning_and_fail_strict() {
        // 1,025 and 1,623 bytes are seen in captured device logs.
        for len in [1025, 1623] {
            let input = long_frame(len);
            let frame = Frames::new(&input, Options::lenient())
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(frame.data.len(), len);
            let message = crate::Message::parse(&frame, &Options::lenient()).unwrap();
            assert!(
                message.warnings[0]
                    .message
                    .contains(&format!("{len} bytes, above the standard's 1024")),
                "{:?}",
                message.warnings
            );
            assert_eq!(
                kinds(&input, Options::strict()),
                [Err((ErrorKind::TooLong, 0))]
            );
        }
        assert!(
            Frames::new(&long_frame(1024), Options::strict())
                .next()
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn a_hostile_length_keeps_the_decoder_bounded() {
        // The most the length field can declare, then garbage: the decoder
        // holds one frame's worth, then gives up on it and resynchronises.
        let mut decoder = Decoder::new(Options::lenient());
        decoder.push(b"##9999");
        let mut errors = 0;
        for _ in 0..40 {
            decoder.push(&[b'x'; 1000]);
            while let Some(item) = decoder.next_frame() {
                errors += usize::from(item.is_err());
            }
            assert!(decoder.buffered() <= 6 + 9999 + 6 + 1000);
        }
        assert!(errors >= 1);
        assert!(decoder.buffered() < 2);
    }

    #[test]
    fn a_flipped_data_byte_is_a_crc_mismatch_not_a_bad_length() {
        // The last '&' of the CP terminator: the length and trailer are
        // right, so the CRC, not the length, is what failed.
        let mut bad = A.to_vec();
        bad[105] = b'x';
        assert_eq!(
            kinds(&bad, Options::lenient()),
            [Err((ErrorKind::CrcMismatch, 0))]
        );
        // A wrong length still reads as one.
        let mut short = b"##0100".to_vec();
        short.extend_from_slice(&A[6..]);
        assert_eq!(
            kinds(&short, Options::strict())[0],
            Err((ErrorKind::BadLength, 0))
        );
    }

    #[test]
    fn a_modbus_crc_passes_only_when_asked_for_and_is_marked() {
        let mut modbus = A.to_vec();
        modbus[107..111].copy_from_slice(b"5907");
        assert_eq!(
            kinds(&modbus, Options::lenient()),
            [Err((ErrorKind::CrcMismatch, 0))]
        );
        let opts = Options {
            alt_crc: Some(CrcVariant::ModbusSwapped),
            ..Options::lenient()
        };
        let frame = Frames::new(&modbus, opts).next().unwrap().unwrap();
        assert_eq!(frame.crc_variant, CrcVariant::ModbusSwapped);
        assert_eq!(frame.crc, 0x5907);
        let frame = Frames::new(A, opts).next().unwrap().unwrap();
        assert_eq!(frame.crc_variant, CrcVariant::Hj212);
    }

    #[test]
    fn whitespace_gap_is_counted_in_lenient_and_rejected_in_strict() {
        let input = cat(&[A, b"\r\n\r\n", B]);
        let frames: Vec<_> = Frames::new(&input, Options::lenient()).collect();
        assert_eq!(frames[1].as_ref().unwrap().gap, 4);
        assert_eq!(
            kinds(&input, Options::strict())[1],
            Err((ErrorKind::BadHeader, A.len() as u64))
        );
    }

    #[test]
    fn decoder_byte_by_byte_matches_whole() {
        let input = cat(&[b"#x", A, b"##", B, &A[..A.len() - 2]]);
        let whole = kinds(&input, Options::lenient());
        let mut decoder = Decoder::new(Options::lenient());
        let mut got = Vec::new();
        for &b in &input {
            decoder.push(&[b]);
            while let Some(r) = decoder.next_frame() {
                got.push(
                    r.map(|f| f.offset)
                        .map_err(|e| (e.kind(), e.frame_offset())),
                );
            }
        }
        decoder.finish();
        while let Some(r) = decoder.next_frame() {
            got.push(
                r.map(|f| f.offset)
                    .map_err(|e| (e.kind(), e.frame_offset())),
            );
        }
        assert_eq!(got, whole);
        assert_eq!(decoder.buffered(), 0);
    }

    /// Bytes written by `fill` (short counts, refusals, room left over between calls)
    /// and bytes pushed in between decode as the whole input does.
    #[test]
    fn filling_the_buffer_matches_pushing() {
        let input = cat(&[b"#x", A, b"##", B, A, &A[..A.len() - 2]]);
        let whole = kinds(&input, Options::lenient());
        let mut decoder = Decoder::new(Options::lenient());
        let (mut rest, mut got, mut round) = (&input[..], Vec::new(), 0);
        let take = |decoder: &mut Decoder, got: &mut Vec<_>| {
            while let Some(r) = decoder.next_frame() {
                got.push(
                    r.map(|f| f.offset)
                        .map_err(|e| (e.kind(), e.frame_offset())),
                );
            }
        };
        while !rest.is_empty() {
            round += 1;
            if round % 5 == 0 {
                decoder.push(&rest[..1]);
                rest = &rest[1..];
            } else if round % 7 == 0 {
                let refused = decoder.fill(64, |room| {
                    room.fill(b'#');
                    Err(())
                });
                assert_eq!(refused, Err(()));
            } else {
                let n = decoder
                    .fill(round % 40, |room| {
                        let n = (room.len() / 2 + 1).min(rest.len()).min(room.len());
                        room[..n].copy_from_slice(&rest[..n]);
                        Ok::<_, ()>(n)
                    })
                    .unwrap();
                rest = &rest[n..];
            }
            take(&mut decoder, &mut got);
        }
        decoder.finish();
        take(&mut decoder, &mut got);
        assert_eq!(got, whole);
        assert_eq!(decoder.buffered(), 0);
    }
}
