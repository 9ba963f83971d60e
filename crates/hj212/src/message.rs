//! The owned, typed message built from a frame: header fields, version, the
//! grouped data area, and the warnings lenient mode recorded.

use crate::codes::{self, Medium};
use std::borrow::Cow;

use crate::cp::{Cp, CpView, borrowed_pairs, owned_pairs};
use crate::error::{Deviations, Error, ErrorKind, Warning};
use crate::frame::{Frame, Options, Trailer};
use crate::segment::Segment;
use crate::text;
use crate::value::Timestamp;
use crate::version::Version;

/// `Flag` bit A: the receiver must answer.
pub const FLAG_ACK: u8 = 0b01;
/// `Flag` bit D: the message is one part of a split message (PNUM/PNO).
pub const FLAG_SPLIT: u8 = 0b10;

/// Header fields in the standard's order (HJ 212-2017 Table 3).
const HEADER_ORDER: [&str; 8] = ["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"];

/// One HJ 212 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Edition, from `Flag`.
    pub version: Version,
    /// Request number `YYYYMMDDhhmmsszzz`; replies echo it.
    pub qn: Option<String>,
    /// System code.
    pub st: Option<String>,
    /// Command code.
    pub cn: Option<String>,
    /// Access password.
    pub pw: Option<String>,
    /// Monitoring-point code of the data logger.
    pub mn: Option<String>,
    /// `Flag` (bits `V5…V0 D A`).
    pub flag: Option<u8>,
    /// Total number of parts of a split message.
    pub pnum: Option<u16>,
    /// This part's number, from 1.
    pub pno: Option<u16>,
    /// 2025 `RF` field (`1` = re-sent / back-filled data).
    pub rf: Option<String>,
    /// Header fields the standard does not define, as sent.
    pub extra: Vec<(String, String)>,
    /// The data area.
    pub cp: Cp,
    /// Deviations accepted in lenient mode.
    pub warnings: Vec<Warning>,
}

impl Message {
    /// An empty message of `version` with no header fields.
    pub fn new(version: Version) -> Self {
        Message {
            version,
            ..MessageView::new().into_owned()
        }
    }

    /// Parses a frame's data segment; frame-level deviations (trailer,
    /// whitespace before the frame) become warnings too.
    pub fn parse(frame: &Frame<'_>, opts: &Options) -> Result<Message, Error> {
        MessageView::parse(frame, opts).map(MessageView::into_owned)
    }

    /// Parses a bare data segment (no `##`, length, CRC or trailer), as
    /// if it sat in a frame at `frame_offset`.
    pub fn parse_segment(data: &[u8], frame_offset: u64, opts: &Options) -> Result<Message, Error> {
        MessageView::parse_segment(data, frame_offset, opts).map(MessageView::into_owned)
    }

    /// A view borrowing from this message, for code written once against views.
    pub fn view(&self) -> MessageView<'_> {
        MessageView {
            version: self.version,
            qn: borrowed(self.qn.as_ref()),
            st: borrowed(self.st.as_ref()),
            cn: borrowed(self.cn.as_ref()),
            pw: borrowed(self.pw.as_ref()),
            mn: borrowed(self.mn.as_ref()),
            flag: self.flag,
            pnum: self.pnum,
            pno: self.pno,
            rf: borrowed(self.rf.as_ref()),
            extra: borrowed_pairs(&self.extra),
            cp: self.cp.view(),
            warnings: self.warnings.clone(),
        }
    }

    /// Bit A of `Flag`: the sender wants a reply (9014 for data uploads).
    pub fn needs_ack(&self) -> bool {
        self.flag.is_some_and(|flag| flag & FLAG_ACK != 0)
    }

    /// This message is one part of a split message.
    pub fn is_part(&self) -> bool {
        is_part(self.pnum, self.flag)
    }

    /// `DataTime` as a timestamp (+08:00).
    pub fn data_time(&self) -> Option<Timestamp> {
        self.cp.data_time()
    }
}

/// One message as read, borrowing its header fields, keys and values from the frame
/// (owned only where GBK text was decoded): the one parser behind [`Message::parse`],
/// and what a writer that passes the fields on (`ecowarden hj212 parse`) reads
/// without an allocation per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView<'a> {
    /// Edition, from `Flag`.
    pub version: Version,
    /// Request number as sent.
    pub qn: Option<Cow<'a, str>>,
    /// System code.
    pub st: Option<Cow<'a, str>>,
    /// Command code.
    pub cn: Option<Cow<'a, str>>,
    /// Access password.
    pub pw: Option<Cow<'a, str>>,
    /// Monitoring-point code.
    pub mn: Option<Cow<'a, str>>,
    /// `Flag`.
    pub flag: Option<u8>,
    /// Total number of parts.
    pub pnum: Option<u16>,
    /// This part's number.
    pub pno: Option<u16>,
    /// 2025 `RF` field.
    pub rf: Option<Cow<'a, str>>,
    /// Header fields the standard does not define, as sent.
    pub extra: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The data area.
    pub cp: CpView<'a>,
    /// Deviations accepted in lenient mode.
    pub warnings: Vec<Warning>,
}

/// A message with more than one part, or flagged as split (`Flag` bit D).
fn is_part(pnum: Option<u16>, flag: Option<u8>) -> bool {
    pnum.is_some_and(|n| n > 1) || flag.is_some_and(|flag| flag & FLAG_SPLIT != 0)
}

impl<'a> MessageView<'a> {
    /// This message is one part of a split message ([`Message::is_part`]).
    pub fn is_part(&self) -> bool {
        is_part(self.pnum, self.flag)
    }

    fn new() -> Self {
        MessageView {
            version: Version::V2005,
            qn: None,
            st: None,
            cn: None,
            pw: None,
            mn: None,
            flag: None,
            pnum: None,
            pno: None,
            rf: None,
            extra: Vec::new(),
            cp: CpView::default(),
            warnings: Vec::new(),
        }
    }

    /// The owned message.
    pub fn into_owned(self) -> Message {
        let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
        Message {
            version: self.version,
            qn: owned(self.qn),
            st: owned(self.st),
            cn: owned(self.cn),
            pw: owned(self.pw),
            mn: owned(self.mn),
            flag: self.flag,
            pnum: self.pnum,
            pno: self.pno,
            rf: owned(self.rf),
            extra: owned_pairs(self.extra),
            cp: self.cp.into_owned(),
            warnings: self.warnings,
        }
    }

    /// Parses a frame's data segment; frame-level deviations (trailer,
    /// whitespace before the frame) become warnings too.
    pub fn parse(frame: &Frame<'a>, opts: &Options) -> Result<MessageView<'a>, Error> {
        let mut dev = Deviations::new(opts.strict, frame.offset);
        if frame.gap > 0 {
            dev.report(
                ErrorKind::BadHeader,
                frame.offset,
                format!(
                    "{} whitespace bytes before the frame were skipped",
                    frame.gap
                ),
            )?;
        }
        let end = frame.offset + frame.raw.len() as u64;
        match frame.trailer {
            Trailer::CrLf => {}
            Trailer::Lf => dev.report(
                ErrorKind::BadTrailer,
                end - 1,
                "the frame ends with \"\\n\" instead of \"\\r\\n\"",
            )?,
            Trailer::Missing => dev.report(
                ErrorKind::BadTrailer,
                end,
                "the frame has no \"\\r\\n\" trailer",
            )?,
        }
        if frame.data.len() > Options::MAX_DATA_LEN {
            dev.report(
                ErrorKind::TooLong,
                frame.offset + 2,
                format!(
                    "the data segment is {} bytes, above the standard's {}",
                    frame.data.len(),
                    Options::MAX_DATA_LEN
                ),
            )?;
        }
        Self::parse_with(frame.data, frame.offset, dev)
    }

    /// Parses a bare data segment (no `##`, length, CRC or trailer), as
    /// if it sat in a frame at `frame_offset`.
    pub fn parse_segment(
        data: &'a [u8],
        frame_offset: u64,
        opts: &Options,
    ) -> Result<MessageView<'a>, Error> {
        Self::parse_with(
            data,
            frame_offset,
            Deviations::new(opts.strict, frame_offset),
        )
    }

    fn parse_with(
        data: &'a [u8],
        frame_offset: u64,
        mut dev: Deviations,
    ) -> Result<MessageView<'a>, Error> {
        let segment = Segment::parse(data, frame_offset)?;
        let mut message = MessageView::new();
        let source = text::Source::new(data);
        message.read_header(&segment, &source, frame_offset, &mut dev)?;
        let (tail_offset, tail) = segment.tail();
        if !tail.is_empty() {
            dev.report(
                ErrorKind::MalformedSegment,
                frame_offset + 6 + tail_offset as u64,
                format!("{} bytes follow the CP terminator \"&&\"", tail.len()),
            )?;
        }
        message.cp = CpView::parse(&segment, &source, message.version, frame_offset, &mut dev)?;
        message.check_medium(frame_offset + 6 + segment.cp_key_offset() as u64, &mut dev)?;
        message.warnings = dev.warnings;
        Ok(message)
    }

    fn read_header(
        &mut self,
        segment: &Segment<'a>,
        source: &text::Source<'a>,
        frame_offset: u64,
        dev: &mut Deviations,
    ) -> Result<(), Error> {
        let at = |offset: usize| frame_offset + 6 + offset as u64;
        let mut report = |offset: usize, message: String| {
            dev.report(ErrorKind::MalformedSegment, at(offset), message)
        };
        let mut raw = RawHeader::default();
        let mut last_rank: Option<(usize, &str)> = None;
        let mut order_reported = false;
        for item in segment.header() {
            if item.is_empty() {
                // The normal "…;CP=" leaves an empty last item, the one that starts where
                // the header ends (told by its offset: peeking ahead to see the end costs
                // a copy of every item).
                if item.offset != segment.cp_key_offset() {
                    report(item.offset, "empty header field (stray ';')".into())?;
                }
                continue;
            }
            if item.separator == Some(b',') {
                report(
                    item.offset,
                    format!(
                        "',' instead of ';' before header field \"{}\"",
                        String::from_utf8_lossy(item.key)
                    ),
                )?;
            }
            let pair = match text::plain_item(source, &item) {
                Some(pair) => Some(pair),
                None => text::decode_item(source, &item, "header field", &mut report)?,
            };
            let Some((key, value)) = pair else {
                continue;
            };
            // The raw key names a field exactly when its text does: decoding changes no
            // ASCII byte and yields no ASCII from the others.
            let Some(field) = HeaderField::of(item.key) else {
                report(item.offset, format!("unknown header field {key}={value}"))?;
                self.extra.push((key, value));
                continue;
            };
            if let Some(rank) = field.rank() {
                if let Some((previous, previous_key)) = last_rank
                    && rank < previous
                    && !order_reported
                {
                    order_reported = true;
                    report(
                        item.offset,
                        format!(
                            "header field {key} comes after {previous_key} (standard order QN;ST;CN;PW;MN;Flag;PNUM;PNO)"
                        ),
                    )?;
                }
                last_rank = Some((rank, HEADER_ORDER[rank]));
            }
            let slot = match field {
                HeaderField::Qn => &mut raw.qn,
                HeaderField::St => &mut raw.st,
                HeaderField::Cn => &mut raw.cn,
                HeaderField::Pw => &mut raw.pw,
                HeaderField::Mn => &mut raw.mn,
                HeaderField::Flag => &mut raw.flag,
                HeaderField::Pnum => &mut raw.pnum,
                HeaderField::Pno => &mut raw.pno,
                HeaderField::Rf => &mut raw.rf,
            };
            if let Some((first, _)) = slot {
                report(
                    item.offset,
                    format!(
                        "duplicate header field {key}: \"{value}\" ignored (first was \"{first}\")"
                    ),
                )?;
                continue;
            }
            *slot = Some((value, item.offset));
        }
        if segment.cp_glued() {
            report(segment.cp_key_offset(), "no ';' before \"CP=\"".into())?;
        }
        self.apply_header(raw, segment.cp_key_offset(), &mut report)
    }

    /// Validates the raw header values and stores them.
    fn apply_header(
        &mut self,
        raw: RawHeader<'a>,
        cp_offset: usize,
        report: &mut impl FnMut(usize, String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if let Some((text, offset)) = &raw.flag {
            match text.parse::<u8>() {
                Ok(flag) => self.flag = Some(flag),
                Err(_) => report(*offset, format!("Flag \"{text}\" is not an integer 0–255"))?,
            }
        }
        self.version = match self.flag.map(|flag| (flag, Version::from_flag(flag))) {
            None => Version::V2005,
            Some((_, Some(version))) => version,
            Some((flag, None)) => {
                let offset = raw.flag.as_ref().map_or(0, |(_, o)| *o);
                report(
                    offset,
                    format!(
                        "Flag {flag} has unknown version bits {}; read as 2025",
                        flag >> 2
                    ),
                )?;
                Version::V2025
            }
        };

        let required: &[(&str, &RawField<'a>)] = if self.version == Version::V2005 {
            &[
                ("ST", &raw.st),
                ("CN", &raw.cn),
                ("PW", &raw.pw),
                ("MN", &raw.mn),
            ]
        } else {
            &[
                ("QN", &raw.qn),
                ("ST", &raw.st),
                ("CN", &raw.cn),
                ("PW", &raw.pw),
                ("MN", &raw.mn),
                ("Flag", &raw.flag),
            ]
        };
        for (name, value) in required {
            if value.is_none() {
                report(
                    cp_offset,
                    format!("required header field {name} is missing"),
                )?;
            }
        }

        if let Some((qn, offset)) = &raw.qn
            && !(qn.len() == 17 && Timestamp::parse(qn).is_some())
        {
            report(
                *offset,
                format!("QN \"{qn}\" is not a YYYYMMDDhhmmsszzz time"),
            )?;
        }
        if let Some((st, offset)) = &raw.st
            && codes::system(st).is_none()
            && !is_extension_st(st)
        {
            report(*offset, format!("ST \"{st}\" is not a system code"))?;
        }
        if let Some((cn, offset)) = &raw.cn
            && codes::command(cn).is_none()
        {
            report(*offset, format!("CN \"{cn}\" is not in the command table"))?;
        }
        self.pnum = part_number(&raw.pnum, "PNUM", report)?;
        self.pno = part_number(&raw.pno, "PNO", report)?;
        let split_flag = self.flag.is_some_and(|flag| flag & FLAG_SPLIT != 0);
        let has_parts = raw.pnum.is_some() || raw.pno.is_some();
        if split_flag && !has_parts {
            report(
                cp_offset,
                "Flag has the sub-packet bit D but PNUM/PNO are missing".into(),
            )?;
        } else if has_parts && !split_flag {
            report(
                cp_offset,
                "PNUM/PNO present but Flag has no sub-packet bit D".into(),
            )?;
        }
        if let (Some(pnum), Some(pno)) = (self.pnum, self.pno)
            && (pno == 0 || pno > pnum)
        {
            report(cp_offset, format!("PNO {pno} is outside 1..=PNUM {pnum}"))?;
        }
        if let Some((rf, offset)) = &raw.rf {
            if self.version != Version::V2025 {
                report(
                    *offset,
                    format!("RF is a 2025 field but the message is {}", self.version),
                )?;
            }
            if rf != "1" {
                report(*offset, format!("RF \"{rf}\" is not 1"))?;
            }
        }

        let value = |field: RawField<'a>| field.map(|(v, _)| v);
        self.qn = value(raw.qn);
        self.st = value(raw.st);
        self.cn = value(raw.cn);
        self.pw = value(raw.pw);
        self.mn = value(raw.mn);
        self.rf = value(raw.rf);
        Ok(())
    }

    /// Flags an `ST` whose medium contradicts the factor codes (ST=31
    /// flue gas carrying `w…` water codes).
    fn check_medium(&self, offset: u64, dev: &mut Deviations) -> Result<(), Error> {
        let Some(st) = self.st.as_deref() else {
            return Ok(());
        };
        let Some(medium) = codes::system(st).and_then(|info| info.medium) else {
            return Ok(());
        };
        let clash = self.cp.codes.iter().find_map(|code| {
            let factor_medium = codes::factor_medium(code)?;
            let contradicts = matches!(
                (medium, factor_medium),
                (Medium::Air, Medium::Water) | (Medium::Water, Medium::Air)
            );
            (contradicts && codes::is_standard_code(code, self.version))
                .then_some((code, factor_medium))
        });
        match clash {
            Some((code, factor_medium)) => dev.report(
                ErrorKind::MalformedCp,
                offset,
                format!(
                    "ST {st} monitors {} but factor {code} is a {} code",
                    medium.as_str(),
                    factor_medium.as_str()
                ),
            ),
            None => Ok(()),
        }
    }
}

/// An owned header field as a borrowed one.
fn borrowed(text: Option<&String>) -> Option<Cow<'_, str>> {
    text.map(|t| Cow::Borrowed(t.as_str()))
}

/// The header fields the codec knows: those of [`HEADER_ORDER`] in that order, then
/// the 2025 `RF`, which has no place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderField {
    Qn,
    St,
    Cn,
    Pw,
    Mn,
    Flag,
    Pnum,
    Pno,
    Rf,
}

impl HeaderField {
    /// The field `key` names: one `match` on its length and bytes, not a string
    /// comparison per name.
    fn of(key: &[u8]) -> Option<HeaderField> {
        Some(match key {
            b"QN" => HeaderField::Qn,
            b"ST" => HeaderField::St,
            b"CN" => HeaderField::Cn,
            b"PW" => HeaderField::Pw,
            b"MN" => HeaderField::Mn,
            b"Flag" => HeaderField::Flag,
            b"PNUM" => HeaderField::Pnum,
            b"PNO" => HeaderField::Pno,
            b"RF" => HeaderField::Rf,
            _ => return None,
        })
    }

    /// Position in [`HEADER_ORDER`].
    fn rank(self) -> Option<usize> {
        (self != HeaderField::Rf).then_some(self as usize)
    }
}

/// A header value as sent and its offset in the data segment.
type RawField<'a> = Option<(Cow<'a, str>, usize)>;

/// Header values as sent, with their offsets, before validation.
#[derive(Default)]
struct RawHeader<'a> {
    qn: RawField<'a>,
    st: RawField<'a>,
    cn: RawField<'a>,
    pw: RawField<'a>,
    mn: RawField<'a>,
    flag: RawField<'a>,
    pnum: RawField<'a>,
    pno: RawField<'a>,
    rf: RawField<'a>,
}

/// ST codes A0–Z9 are reserved for extensions (Table 5).
fn is_extension_st(st: &str) -> bool {
    matches!(st.as_bytes(), [a, b] if a.is_ascii_uppercase() && b.is_ascii_digit())
}

fn part_number(
    field: &RawField<'_>,
    name: &str,
    report: &mut impl FnMut(usize, String) -> Result<(), Error>,
) -> Result<Option<u16>, Error> {
    let Some((text, offset)) = field else {
        return Ok(None);
    };
    match text.parse::<u16>() {
        Ok(n) if text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => {
            report(
                *offset,
                format!("{name} \"{text}\" is not a number of up to 4 digits"),
            )?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frames;

    fn parse(input: &[u8], opts: Options) -> Result<Message, Error> {
        let frame = Frames::new(input, opts).next().unwrap()?;
        Message::parse(&frame, &opts)
    }

    const HOURLY: &[u8] = b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&DC41\r\n";

    #[test]
    fn header_fields() {
        let m = parse(HOURLY, Options::strict()).unwrap();
        assert_eq!(m.version, Version::V2017);
        assert_eq!(m.qn.as_deref(), Some("20160801085857534"));
        assert_eq!(m.mn.as_deref(), Some("010000A8900016F000169DC0"));
        assert_eq!((m.flag, m.pnum, m.pno), (Some(6), Some(2), Some(1)));
        assert!(m.is_part() && !m.needs_ack());
        assert_eq!(m.cp.factors.len(), 2);
        assert_eq!(m.data_time().unwrap().hour, 8);
        assert!(m.warnings.is_empty());
    }

    #[test]
    fn repairs_in_lenient_mode() {
        let cases: [(&[u8], &str); 4] = [
            (
                b"QN=20160802000000001;ST=32;CN=2041;PW=123456;MN=010000A8900016F000169DC0;Flag=5CP=&&DataTime=20160801000000;SB1-RT=1.1&&",
                "no ';' before",
            ),
            (
                b"QN=20160801085857534,ST=32;CN=2031;PW=123456;MN=1;Flag=5;CP=&&&&",
                "',' instead of ';'",
            ),
            (
                b"QN=20180728132826005;ST=32;CN=2011;MN=1;PW=123456;Flag=4;CP=&&&&",
                "comes after MN",
            ),
            (
                b"QN=20160801085000001;ST=22;CN=2011;PW=1;MN=1;Flag=7;CP=&&&&",
                "PNUM/PNO are missing",
            ),
        ];
        for (data, expected) in cases {
            let m = Message::parse_segment(data, 0, &Options::lenient()).unwrap();
            assert!(
                m.warnings.iter().any(|w| w.message.contains(expected)),
                "{expected}: {:?}",
                m.warnings
            );
            assert_eq!(m.st.as_deref().map(str::len), Some(2));
            let err = Message::parse_segment(data, 0, &Options::strict()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedSegment);
        }
    }

    #[test]
    fn version_from_flag() {
        let seg = |flag: &str| {
            format!("QN=20240601085857223;ST=32;CN=1011;PW=1;MN=1;Flag={flag};CP=&&&&")
        };
        let version = |flag| {
            Message::parse_segment(seg(flag).as_bytes(), 0, &Options::lenient())
                .unwrap()
                .version
        };
        assert_eq!(version("0"), Version::V2005);
        assert_eq!(version("5"), Version::V2017);
        assert_eq!(version("9"), Version::V2025);
        let m = Message::parse_segment(seg("13").as_bytes(), 0, &Options::lenient()).unwrap();
        assert_eq!(m.version, Version::V2025);
        assert!(m.warnings[0].message.contains("unknown version bits 3"));
        let m = Message::parse_segment(b"ST=32;CN=2011;PW=1;MN=1;CP=&&&&", 0, &Options::strict())
            .unwrap();
        assert_eq!((m.version, m.flag), (Version::V2005, None));
    }

    #[test]
    fn rf_and_medium() {
        let m = Message::parse_segment(
            b"QN=20240601085857223;ST=32;CN=2061;PW=1;MN=1;Flag=8;RF=1;CP=&&&&",
            0,
            &Options::strict(),
        )
        .unwrap();
        assert_eq!(m.rf.as_deref(), Some("1"));
        let m = Message::parse_segment(
            b"QN=20230803171130538;ST=31;CN=2011;PW=1;MN=1;Flag=5;CP=&&w01001-Rtd=0.000&&",
            0,
            &Options::lenient(),
        )
        .unwrap();
        assert_eq!(
            m.warnings[0].message,
            "ST 31 monitors air but factor w01001 is a water code"
        );
    }

    #[test]
    fn trailer_warnings() {
        let no_crlf = &HOURLY[..HOURLY.len() - 2];
        let m = parse(no_crlf, Options::lenient()).unwrap();
        assert_eq!(m.warnings[0].message, "the frame has no \"\\r\\n\" trailer");
        assert_eq!(
            parse(no_crlf, Options::strict()).unwrap_err().kind(),
            ErrorKind::BadTrailer
        );
    }
}
