//! The one error type of the codec: a kind, the byte offset where the problem
//! was found, and enough detail to say so in a plain sentence.
//!
//! Framing errors carry only numbers, so producing one never allocates: a
//! hostile stream of garbage must not turn into an allocation storm.

use std::borrow::Cow;
use std::fmt;

/// What went wrong. The names are the stable, machine-readable vocabulary of
/// the command line (`error.kind`), hence [`ErrorKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bytes where a frame should start do not begin with `##`.
    BadHeader,
    /// The 4-character length field is not decimal digits, or does not match
    /// where the data segment really ends.
    BadLength,
    /// The declared data-segment length is above the limit (1024 by default).
    TooLong,
    /// The input ended inside a frame.
    Truncated,
    /// The CRC in the frame differs from the CRC of the data segment.
    CrcMismatch,
    /// The 4 CRC characters are not hexadecimal.
    BadCrcText,
    /// The frame does not end with `\r\n` (strict mode, or garbage after the CRC).
    BadTrailer,
    /// The data segment (`QN=…;ST=…;…;CP=&&…&&`) cannot be read.
    MalformedSegment,
    /// The `CP=&&…&&` data area cannot be read.
    MalformedCp,
}

impl ErrorKind {
    /// Every kind, in the order of the command-line contract.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::BadHeader,
        ErrorKind::BadLength,
        ErrorKind::TooLong,
        ErrorKind::Truncated,
        ErrorKind::CrcMismatch,
        ErrorKind::BadCrcText,
        ErrorKind::BadTrailer,
        ErrorKind::MalformedSegment,
        ErrorKind::MalformedCp,
    ];

    /// The snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadHeader => "bad_header",
            ErrorKind::BadLength => "bad_length",
            ErrorKind::TooLong => "too_long",
            ErrorKind::Truncated => "truncated",
            ErrorKind::CrcMismatch => "crc_mismatch",
            ErrorKind::BadCrcText => "bad_crc_text",
            ErrorKind::BadTrailer => "bad_trailer",
            ErrorKind::MalformedSegment => "malformed_segment",
            ErrorKind::MalformedCp => "malformed_cp",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Numbers that explain a framing error; text only for the segment layer,
/// which allocates anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Nothing beyond the kind.
    None,
    /// The byte found where something else was expected.
    Byte(u8),
    /// Declared data-segment length and the limit or the length seen.
    Length { declared: usize, other: usize },
    /// Declared data-segment length that does not reach the CP terminator.
    Unterminated { declared: usize },
    /// CRC sent and CRC computed.
    Crc { sent: u16, computed: u16 },
    /// A sentence written by the segment or CP parser.
    Text(Cow<'static, str>),
}

/// A typed codec error: what, where (absolute byte offset in the stream) and
/// which frame it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    frame_offset: u64,
    offset: u64,
    detail: Detail,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, frame_offset: u64, offset: u64, detail: Detail) -> Self {
        Error {
            kind,
            frame_offset,
            offset,
            detail,
        }
    }

    /// An error with a written explanation (segment and CP layer).
    pub(crate) fn text(
        kind: ErrorKind,
        frame_offset: u64,
        offset: u64,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::new(kind, frame_offset, offset, Detail::Text(text.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Absolute offset of the first byte of the bad frame (its `##`, or the
    /// first garbage byte), counted from the start of the stream.
    pub fn frame_offset(&self) -> u64 {
        self.frame_offset
    }

    /// Absolute offset of the byte where the problem was detected.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.detail) {
            (_, Detail::Text(text)) => write!(f, "{text} (byte {})", self.offset),
            (ErrorKind::BadHeader, Detail::Byte(b)) => write!(
                f,
                "expected a frame header \"##\" at byte {} but found byte 0x{b:02X}",
                self.offset
            ),
            (ErrorKind::BadLength, Detail::Byte(b)) => write!(
                f,
                "the length field at byte {} holds byte 0x{b:02X}, not a decimal digit",
                self.offset
            ),
            (ErrorKind::BadLength, Detail::Length { declared, other }) => write!(
                f,
                "the declared data-segment length {declared} does not match the data segment, \
                 whose CP area ends after {other} bytes (byte {})",
                self.offset
            ),
            (ErrorKind::BadLength, Detail::Unterminated { declared }) => write!(
                f,
                "the declared data-segment length {declared} does not end at the CP terminator \"&&\" (byte {})",
                self.offset
            ),
            (ErrorKind::TooLong, Detail::Length { declared, other }) => write!(
                f,
                "the declared data-segment length {declared} is above the limit of {other} bytes (byte {})",
                self.offset
            ),
            (ErrorKind::Truncated, Detail::Length { declared, other }) => write!(
                f,
                "the input ends at byte {} inside a frame: {other} of {declared} frame bytes arrived",
                self.offset
            ),
            (ErrorKind::CrcMismatch, Detail::Crc { sent, computed }) => write!(
                f,
                "the frame carries CRC {sent:04X} but its data segment has CRC {computed:04X} (byte {})",
                self.offset
            ),
            (ErrorKind::BadCrcText, Detail::Byte(b)) => write!(
                f,
                "the CRC field at byte {} holds byte 0x{b:02X}, not a hexadecimal digit",
                self.offset
            ),
            (ErrorKind::BadTrailer, Detail::Byte(b)) => write!(
                f,
                "expected the trailer \"\\r\\n\" at byte {} but found byte 0x{b:02X}",
                self.offset
            ),
            (ErrorKind::BadTrailer, _) => {
                write!(
                    f,
                    "the frame has no trailer \"\\r\\n\" at byte {}",
                    self.offset
                )
            }
            (kind, _) => write!(f, "{kind} at byte {}", self.offset),
        }
    }
}

impl std::error::Error for Error {}

/// A deviation from the standard that lenient mode accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Absolute offset of the byte the warning is about.
    pub offset: u64,
    /// A plain sentence.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where deviations go: warnings in lenient mode, the first one becomes the
/// error in strict mode. One place decides, so the two modes cannot drift.
#[derive(Debug)]
pub(crate) struct Deviations {
    strict: bool,
    frame_offset: u64,
    pub(crate) warnings: Vec<Warning>,
}

impl Deviations {
    pub(crate) fn new(strict: bool, frame_offset: u64) -> Self {
        Deviations {
            strict,
            frame_offset,
            warnings: Vec::new(),
        }
    }

    /// Records a deviation; in strict mode returns it as an error of `kind`.
    pub(crate) fn report(
        &mut self,
        kind: ErrorKind,
        offset: u64,
        message: impl Into<String>,
    ) -> Result<(), Error> {
        let message = message.into();
        if self.strict {
            return Err(Error::text(kind, self.frame_offset, offset, message));
        }
        self.warnings.push(Warning { offset, message });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_contract() {
        let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "bad_header",
                "bad_length",
                "too_long",
                "truncated",
                "crc_mismatch",
                "bad_crc_text",
                "bad_trailer",
                "malformed_segment",
                "malformed_cp"
            ]
        );
    }

    #[test]
    fn strict_deviation_is_an_error_lenient_a_warning() {
        let mut strict = Deviations::new(true, 10);
        let err = strict
            .report(ErrorKind::MalformedCp, 42, "something odd")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedCp);
        assert_eq!(err.frame_offset(), 10);
        assert_eq!(err.offset(), 42);
        assert_eq!(err.to_string(), "something odd (byte 42)");

        let mut lenient = Deviations::new(false, 10);
        lenient
            .report(ErrorKind::MalformedCp, 42, "something odd")
            .unwrap();
        assert_eq!(lenient.warnings[0].message, "something odd");
    }
}
