//! What the receiver does with the bytes of one stream, without I/O: frame them, judge each
//! frame (codec error, unknown MN, wrong password, accepted), say which bytes are evidence
//! of what, and build the replies the standard asks for. The TCP connection and the
//! packet-log import both drive a [`Session`], so an imported log goes exactly the way a
//! live stream does.
//!
//! Bytes that are not a frame (garbage, a damaged frame, a frame cut off at the end) form a
//! *bad run* from the codec error that starts it to the next frame or error; each run is one
//! record with the error's kind as its verdict.

use chrono::Utc;
use hj212::{
    CrcVariant, Decoder, ErrorKind, Frame, Limits, Message, MessageView, Options, Reassembler,
    build,
};

use crate::evidence::{MAX_BAD_BYTES, Record, Verdict};
use crate::registry::Stations;
use ecowarden_core::clock;

/// One judged frame or bad run, and what to send back once its record is durable.
#[derive(Debug)]
pub struct Received {
    pub record: Record,
    /// Reply frames (9014, time sync); empty when nothing is owed.
    pub reply: Vec<u8>,
    /// MN and CN of an accepted frame, for the receiver's figures.
    pub station: Option<(String, String)>,
    /// The MN of a frame rejected because its CRC is a variant its outlet is not set to:
    /// a suspicion the receiver counts for an administrator to decide on.
    pub crc_suspect: Option<(String, CrcVariant)>,
    /// What was wrong with a frame that claims an MN, for that outlet's page.
    pub defect: Option<Defect>,
}

/// A rejected frame's defect, with the MN it claims (unverified: its CRC may have failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub mn: String,
    pub kind: ErrorKind,
    /// The codec's sentence, naming the byte.
    pub message: String,
    /// The byte where the problem was found, counted from the frame's first byte.
    pub offset: u64,
}

impl Defect {
    /// The defect of `raw` (a frame or bad run starting at stream offset `start`), when it
    /// names an MN.
    fn of(raw: &[u8], start: u64, error: &hj212::Error) -> Option<Defect> {
        Some(Defect {
            mn: claimed_mn(raw)?,
            kind: error.kind(),
            message: error.to_string(),
            offset: error.offset().saturating_sub(start),
        })
    }
}

/// The `MN=` value a damaged frame claims: up to the next separator, printable ASCII only.
fn claimed_mn(raw: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(raw, b"MN=")? + 3;
    let value = raw[at..]
        .split(|b| matches!(b, b';' | b',' | b'&'))
        .next()?;
    (!value.is_empty() && value.len() <= 64 && value.iter().all(u8::is_ascii_graphic))
        .then(|| String::from_utf8_lossy(value).into_owned())
}

/// Why a session wants its stream closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// More garbage without a frame than any honest sender produces.
    Garbage,
}

/// Bytes of garbage in a row after which a stream is given up.
pub const MAX_GARBAGE: u64 = 1 << 20;
/// A logger's clock further off than this gets a 1012 set-time after it reports its time.
const MAX_CLOCK_DRIFT_SECS: i64 = 60;

/// A bad run being collected.
struct BadRun {
    error: hj212::Error,
    /// Stream offset of its first byte.
    start: u64,
    /// Its first bytes.
    bytes: Vec<u8>,
    recv_us: i64,
}

/// The per-stream state.
pub struct Session {
    conn: u64,
    peer: String,
    decoder: Decoder,
    /// Open sub-packet groups of this stream: bounded, so a flood of parts that never
    /// complete cannot grow memory. The archive reassembles from the evidence.
    groups: Reassembler,
    /// Stream bytes not yet accounted to a record, from `window_base`.
    window: Vec<u8>,
    window_base: u64,
    /// Stream offset up to which bytes belong to a record (or were whitespace).
    accounted: u64,
    bad: Option<BadRun>,
    /// Whether replies are built: a packet-log import has no logger to answer, and building
    /// a 9014 per frame was a tenth of its reading.
    replies: bool,
    /// Whether an accepted upload's record carries the session's parse
    /// ([`Record::parsed`]): for an import, whose compactor taps the log as it is written.
    hand_on_parses: bool,
    /// Groups given up because the stream opened too many or they timed out.
    pub groups_given_up: u64,
}

impl Session {
    pub fn new(conn: u64, peer: String, max_groups: usize) -> Session {
        Session {
            conn,
            peer,
            // Frames with a swapped MODBUS CRC are framed so their MN can be read; `judge`
            // accepts them only from a logger set to that variant.
            decoder: Decoder::new(Options {
                alt_crc: Some(CrcVariant::ModbusSwapped),
                ..Options::lenient()
            }),
            groups: Reassembler::new(Limits {
                timeout_ms: 60_000,
                max_groups: max_groups.max(1),
                max_bytes: max_groups.max(1) * 16 * 1024,
            }),
            window: Vec::new(),
            window_base: 0,
            accounted: 0,
            bad: None,
            replies: true,
            hand_on_parses: false,
            groups_given_up: 0,
        }
    }

    /// The session of a packet-log import: frames judged as a live stream's, no replies built.
    pub fn without_replies(mut self) -> Session {
        self.replies = false;
        self
    }

    /// Accepted uploads' records carry the parse that judged them, for a compactor that
    /// archives them as they are logged (an import's): it then does not parse them again.
    pub fn handing_on_parses(mut self) -> Session {
        self.hand_on_parses = true;
        self
    }

    /// Bytes held for frames not yet complete.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered() + self.window.len()
    }

    /// Takes received bytes; appends what they completed to `out`.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        recv_us: i64,
        stations: &Stations,
        out: &mut Vec<Received>,
    ) -> Option<Close> {
        self.decoder.push(bytes);
        self.window.extend_from_slice(bytes);
        self.drain(recv_us, stations, out);
        self.bad
            .as_ref()
            .filter(|b| self.accounted - b.start > MAX_GARBAGE)
            .map(|_| Close::Garbage)
    }

    /// The stream ended: what was left is judged as it is (a frame cut short is a bad run).
    pub fn finish(&mut self, recv_us: i64, stations: &Stations, out: &mut Vec<Received>) {
        self.decoder.finish();
        self.drain(recv_us, stations, out);
        let end = self.window_base + self.window.len() as u64;
        self.close_bad_run(end, out);
    }

    fn drain(&mut self, recv_us: i64, stations: &Stations, out: &mut Vec<Received>) {
        let now_ms = (recv_us / 1000) as u64;
        while let Some(item) = self.decoder.next_frame() {
            match item {
                Ok(frame) => {
                    let start = frame.offset - frame.gap as u64;
                    let end = frame.offset + frame.raw.len() as u64;
                    let raw = frame.raw.to_vec();
                    // The frame borrows the decoder: what it says beyond its bytes is kept,
                    // and the message is read from the copy (no owned message per frame).
                    let data_at = frame.data.as_ptr() as usize - frame.raw.as_ptr() as usize;
                    let shape = Shape {
                        offset: frame.offset,
                        data: data_at..data_at + frame.data.len(),
                        crc: frame.crc,
                        crc_variant: frame.crc_variant,
                        trailer: frame.trailer,
                        gap: frame.gap,
                    };
                    self.close_bad_run(start, out);
                    self.accounted = end;
                    out.push(judge(
                        Judged {
                            conn: self.conn,
                            peer: &self.peer,
                            recv_us,
                            replies: self.replies,
                            hand_on_parses: self.hand_on_parses,
                        },
                        raw,
                        shape,
                        stations,
                        &mut self.groups,
                        now_ms,
                    ));
                }
                Err(e) => {
                    let start = e.frame_offset();
                    self.close_bad_run(start, out);
                    self.accounted = start;
                    self.bad = Some(BadRun {
                        error: e,
                        start,
                        bytes: Vec::new(),
                        recv_us,
                    });
                }
            }
        }
        self.groups.expire(now_ms);
        while let Some(a) = self.groups.pop() {
            if !a.complete {
                self.groups_given_up += 1;
            }
        }
        // Everything before what the decoder still holds is framed or skipped: a bad run
        // keeps its share, the rest of the window goes.
        let consumed = self.window_base + self.window.len() as u64 - self.decoder.buffered() as u64;
        if consumed > self.accounted {
            self.take_into_bad_run(consumed);
            self.accounted = consumed;
        }
        let drop = (self.accounted.max(self.window_base) - self.window_base) as usize;
        self.window.drain(..drop.min(self.window.len()));
        self.window_base += drop as u64;
    }

    /// Moves window bytes up to stream offset `end` into the open bad run (up to its cap).
    fn take_into_bad_run(&mut self, end: u64) {
        let Some(bad) = self.bad.as_mut() else {
            return;
        };
        let from = self.accounted.max(self.window_base);
        if end <= from {
            return;
        }
        let (a, b) = (
            (from - self.window_base) as usize,
            (end - self.window_base) as usize,
        );
        let room = MAX_BAD_BYTES.saturating_sub(bad.bytes.len());
        let b = b.min(self.window.len());
        bad.bytes
            .extend_from_slice(&self.window[a..b.min(a + room).max(a)]);
    }

    /// Ends the open bad run at stream offset `end` and records it.
    fn close_bad_run(&mut self, end: u64, out: &mut Vec<Received>) {
        self.take_into_bad_run(end);
        let Some(bad) = self.bad.take() else {
            return;
        };
        self.accounted = self.accounted.max(end);
        out.push(Received {
            defect: Defect::of(&bad.bytes, bad.start, &bad.error),
            record: Record {
                recv_us: bad.recv_us,
                conn: self.conn,
                peer: self.peer.clone(),
                verdict: Verdict::Codec(bad.error.kind()),
                stream_len: u32::try_from(end - bad.start).unwrap_or(u32::MAX),
                raw: bad.bytes,
                parsed: None,
            },
            reply: Vec::new(),
            station: None,
            crc_suspect: None,
        });
    }
}

/// Where a frame's parts sit in its bytes, to read it again from a copy.
struct Shape {
    offset: u64,
    data: std::ops::Range<usize>,
    crc: u16,
    crc_variant: CrcVariant,
    trailer: hj212::Trailer,
    gap: usize,
}

/// The stream a frame came on, and whether it is answered.
struct Judged<'a> {
    conn: u64,
    peer: &'a str,
    recv_us: i64,
    replies: bool,
    hand_on_parses: bool,
}

/// The verdict on a well-framed frame (whose CRC matched as `shape.crc_variant`), and the
/// replies owed to it. The CRC comes before the content: a frame whose CRC variant its
/// registered logger is not set to is `crc_mismatch`, whatever it holds. The message is read
/// as a view of `raw`; it is made owned only for a reply or a split message's group.
fn judge(
    from: Judged<'_>,
    raw: Vec<u8>,
    shape: Shape,
    stations: &Stations,
    groups: &mut Reassembler,
    now_ms: u64,
) -> Received {
    let frame = Frame {
        offset: shape.offset,
        raw: &raw,
        data: &raw[shape.data.clone()],
        crc: shape.crc,
        crc_variant: shape.crc_variant,
        trailer: shape.trailer,
        gap: shape.gap,
    };
    let (crc, offset) = (shape.crc_variant, shape.offset);
    let crc_at = 6 + shape.data.len() as u64;
    let parsed = MessageView::parse(&frame, &Options::lenient());
    let mut crc_suspect = None;
    let mut defect = None;
    let mut handed_on = None;
    let (verdict, reply, station) = match parsed {
        Err(_) if crc != CrcVariant::Hj212 => {
            (Verdict::Codec(ErrorKind::CrcMismatch), Vec::new(), None)
        }
        Err(e) => {
            defect = Defect::of(&raw, offset, &e);
            (Verdict::Codec(e.kind()), Vec::new(), None)
        }
        Ok(m) => {
            let mn = m.mn.as_deref();
            let known = mn.and_then(|mn| stations.get(mn));
            match known {
                _ if crc != CrcVariant::Hj212 && known.is_none_or(|s| s.crc_variant != crc) => {
                    crc_suspect = mn.map(|mn| (mn.to_owned(), crc));
                    defect = mn.map(|mn| Defect {
                        mn: mn.to_owned(),
                        kind: ErrorKind::CrcMismatch,
                        message: format!(
                            "the CRC at byte {crc_at} is {}, not the HJ 212 CRC, and the outlet \
                             is not set to that variant",
                            crc.as_str()
                        ),
                        offset: crc_at,
                    });
                    (Verdict::Codec(ErrorKind::CrcMismatch), Vec::new(), None)
                }
                None => (Verdict::UnknownMn, Vec::new(), None),
                Some(s) if m.pw.as_deref() != Some(s.password.as_str()) => {
                    (Verdict::BadPassword, Vec::new(), None)
                }
                Some(_) => {
                    let station = Some((
                        mn.unwrap_or_default().to_owned(),
                        m.cn.as_deref().unwrap_or_default().to_owned(),
                    ));
                    let split = m.is_part();
                    if from.hand_on_parses && !split {
                        handed_on = m.detach(&raw).map(Box::new);
                    }
                    let reply = if from.replies || split {
                        let m = m.into_owned();
                        let reply = if from.replies {
                            replies(&m)
                        } else {
                            Vec::new()
                        };
                        if split {
                            groups.push(m, 0, now_ms);
                        }
                        reply
                    } else {
                        Vec::new()
                    };
                    (Verdict::Accepted, reply, station)
                }
            }
        }
    };
    Received {
        record: Record {
            recv_us: from.recv_us,
            conn: from.conn,
            peer: from.peer.to_owned(),
            verdict,
            stream_len: raw.len() as u32,
            raw,
            parsed: handed_on,
        },
        reply,
        station,
        crc_suspect,
        defect,
    }
}

/// What the standard has the host answer (HJ 212-2017 §6.5 and Appendix C):
/// - 1013, a logger asking for its clock to be set: 9013, then a 1012 with the time;
/// - 1011 with `SystemTime`, a logger reporting its clock: 9014 if asked, and a 1012 when
///   the clock is off by more than a minute;
/// - 1011 without `SystemTime`, asking for the time: 9011, a 1011 with it, 9012;
/// - any other upload whose Flag has the A bit (data, one part of a split upload): 9014.
///
/// Replies (9011–9014) from the logger are never answered.
fn replies(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    let cn = m.cn.as_deref().unwrap_or("");
    if cn.starts_with("90") {
        return out;
    }
    let now = Utc::now().with_timezone(&clock::cst());
    match cn {
        "1013" => {
            out.extend(build::reply_9013(m).to_frame());
            out.extend(set_time(m, now).to_frame());
        }
        "1011" => match m.cp.get("SystemTime").and_then(hj212::Timestamp::parse) {
            Some(t) => {
                if m.needs_ack() {
                    out.extend(build::reply_9014(m).to_frame());
                }
                if (t.unix_seconds() - now.timestamp()).abs() > MAX_CLOCK_DRIFT_SECS {
                    out.extend(set_time(m, now).to_frame());
                }
            }
            None => {
                out.extend(build::reply_9011(m, hj212::codes::QnRtn::Ready).to_frame());
                let mut time = set_time(m, now);
                time.cn = Some("1011".into());
                time.qn = m.qn.clone();
                time.flag = m.flag.map(|_| m.version.flag_bits());
                out.extend(time.to_frame());
                out.extend(build::reply_9012(m, hj212::codes::ExeRtn::Success).to_frame());
            }
        },
        _ if m.needs_ack() => out.extend(build::reply_9014(m).to_frame()),
        _ => {}
    }
    out
}

/// A 1012 "set the logger's time" request with a new QN, asking for the logger's replies.
fn set_time(m: &Message, now: chrono::DateTime<chrono::FixedOffset>) -> Message {
    let mut r = Message::new(m.version);
    r.qn = Some(now.format("%Y%m%d%H%M%S%3f").to_string());
    r.st = m.st.clone();
    r.cn = Some("1012".into());
    r.pw = m.pw.clone();
    r.mn = m.mn.clone();
    r.flag = m.flag.map(|_| m.version.flag_bits() | hj212::FLAG_ACK);
    r.cp.other
        .push(("SystemTime".into(), now.format("%Y%m%d%H%M%S").to_string()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Station;
    use hj212::build::{Station as Logger, Upload, upload};

    fn stations() -> Stations {
        let mut s = Stations::new();
        s.insert(
            "MN0001".into(),
            Station {
                outlet_id: 1,
                password: "123456".into(),
                st: "32".into(),
                region_code: "350102".into(),
                city_code: "350100".into(),
                crc_variant: CrcVariant::Hj212,
            },
        );
        s
    }

    fn frame(mn: &str, pw: &str, qn: &str, ack: bool) -> Vec<u8> {
        let logger = Logger {
            version: hj212::Version::V2017,
            st: "32".into(),
            pw: pw.into(),
            mn: mn.into(),
        };
        upload(
            &logger,
            Upload::Hourly,
            qn,
            "20240601080000",
            vec![
                hj212::Factor::new("w01018")
                    .with("Avg", "40.1")
                    .with("Flag", "N"),
            ],
            ack,
        )
        .to_frame()
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    fn feed_all(chunks: &[&[u8]]) -> Vec<Received> {
        let mut s = Session::new(1, "127.0.0.1:9".into(), 4);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, 1, &stations(), &mut out);
        }
        s.finish(2, &stations(), &mut out);
        assert_eq!(s.buffered(), 0);
        out
    }

    #[test]
    fn every_byte_is_accounted_and_judged() {
        let good = frame("MN0001", "123456", "20240601080000001", true);
        let unknown = frame("MN9999", "123456", "20240601080000002", true);
        let wrong_pw = frame("MN0001", "000000", "20240601080000003", false);
        let mut bad_crc = frame("MN0001", "123456", "20240601080000004", true);
        let n = bad_crc.len();
        bad_crc[n - 3] ^= 1;
        let mut stream = b"garbage!".to_vec();
        stream.extend(&good);
        stream.extend(&bad_crc);
        stream.extend(&unknown);
        stream.extend(&wrong_pw);
        stream.extend(b"\r\n");
        stream.extend(&good[..50]);
        // Byte by byte, as the slowest TCP would deliver it.
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let out = feed_all(&chunks);
        let verdicts: Vec<&str> = out.iter().map(|r| r.record.verdict.as_str()).collect();
        assert_eq!(
            verdicts,
            [
                "bad_header",
                "accepted",
                "crc_mismatch",
                "unknown_mn",
                "bad_password",
                "truncated"
            ]
        );
        assert_eq!(out[0].record.raw, b"garbage!");
        assert_eq!(out[1].record.raw, good);
        assert_eq!(out[2].record.raw, bad_crc);
        assert_eq!(out[5].record.raw, &good[..50]);
        let total: u64 = out.iter().map(|r| u64::from(r.record.stream_len)).sum();
        assert_eq!(total + 2, stream.len() as u64, "all but the CRLF gap");
        // Only the accepted frame with the A bit is answered, with a 9014 echoing its QN.
        let ack = String::from_utf8(out[1].reply.clone()).unwrap();
        assert!(
            ack.starts_with("##") && ack.contains("QN=20240601080000001;ST=91;CN=9014;"),
            "{ack}"
        );
        assert!(out.iter().skip(2).all(|r| r.reply.is_empty()));
        assert_eq!(
            out[1].station,
            Some(("MN0001".to_owned(), "2061".to_owned()))
        );
    }

    #[test]
    fn an_import_session_judges_as_a_live_one_and_builds_no_replies() {
        let good = frame("MN0001", "123456", "20240601080000001", true);
        let mut bad_crc = frame("MN0001", "123456", "20240601080000002", true);
        let n = bad_crc.len();
        bad_crc[n - 3] ^= 1;
        let stream = [
            good.as_slice(),
            b"garbage",
            &bad_crc,
            &frame("MN9999", "123456", "20240601080000003", true),
            &frame("MN0001", "000000", "20240601080000004", true),
            &good[..40],
        ]
        .concat();
        let run = |mut s: Session| {
            let mut out = Vec::new();
            s.feed(&stream, 1, &stations(), &mut out);
            s.finish(2, &stations(), &mut out);
            out
        };
        let live = run(Session::new(1, "p".into(), 4));
        let import = run(Session::new(1, "p".into(), 4).without_replies());
        assert_eq!(live.len(), 6);
        for (a, b) in live.iter().zip(&import) {
            assert_eq!(a.record, b.record);
            assert_eq!(a.defect, b.defect);
            assert_eq!(a.station, b.station);
        }
        assert!(!live[0].reply.is_empty());
        assert!(import.iter().all(|r| r.reply.is_empty()));
        // Handing its parses on changes no verdict; only the accepted upload carries one,
        // and it reads as the frame parsed again.
        let handing = run(Session::new(1, "p".into(), 4)
            .without_replies()
            .handing_on_parses());
        assert_eq!(
            handing.iter().map(|r| &r.record).collect::<Vec<_>>(),
            import.iter().map(|r| &r.record).collect::<Vec<_>>()
        );
        assert!(live.iter().all(|r| r.record.parsed.is_none()));
        let parsed: Vec<_> = handing.iter().map(|r| r.record.parsed.is_some()).collect();
        assert_eq!(parsed, [true, false, false, false, false, false]);
        let record = &handing[0].record;
        let frame = hj212::Frames::new(&record.raw, hj212::Options::lenient())
            .next()
            .unwrap()
            .unwrap();
        let again = hj212::MessageView::parse(&frame, &hj212::Options::lenient()).unwrap();
        let handed = record.parsed.as_ref().unwrap().attach(&record.raw);
        assert_eq!(handed, Some(again));
    }

    #[test]
    fn a_swapped_modbus_crc_counts_only_once_an_admin_set_it() {
        let good = frame("MN0001", "123456", "20240601080000001", true);
        let n = good.len();
        let mut modbus = good.clone();
        let crc = hj212::crc16_modbus_swapped(&good[6..n - 6]);
        modbus[n - 6..n - 2].copy_from_slice(format!("{crc:04X}").as_bytes());
        // Not set: rejected as a CRC mismatch, kept whole, and the MN is a suspect.
        let out = feed_all(&[&modbus]);
        assert_eq!(out[0].record.verdict.as_str(), "crc_mismatch");
        assert_eq!(out[0].record.raw, modbus);
        assert!(out[0].reply.is_empty() && out[0].station.is_none());
        assert_eq!(
            out[0].crc_suspect,
            Some(("MN0001".to_owned(), CrcVariant::ModbusSwapped))
        );
        let defect = out[0].defect.as_ref().unwrap();
        assert_eq!(defect.offset, n as u64 - 6);
        assert!(defect.message.contains("modbus_swapped"));
        // Set for this MN: accepted and acked; another MN with it still is not.
        let mut set = stations();
        set.get_mut("MN0001").unwrap().crc_variant = CrcVariant::ModbusSwapped;
        set.insert("MN0002".into(), stations()["MN0001"].clone());
        let mut other = frame("MN0002", "123456", "20240601080000002", true);
        let m = other.len();
        let crc = hj212::crc16_modbus_swapped(&other[6..m - 6]);
        other[m - 6..m - 2].copy_from_slice(format!("{crc:04X}").as_bytes());
        let mut s = Session::new(1, "p".into(), 4);
        let mut out = Vec::new();
        s.feed(
            &[modbus.as_slice(), &other, &good].concat(),
            1,
            &set,
            &mut out,
        );
        let verdicts: Vec<&str> = out.iter().map(|r| r.record.verdict.as_str()).collect();
        assert_eq!(verdicts, ["accepted", "crc_mismatch", "accepted"]);
        assert!(String::from_utf8_lossy(&out[0].reply).contains("CN=9014"));
        assert_eq!(out[1].crc_suspect.as_ref().unwrap().0, "MN0002");
    }

    #[test]
    fn a_damaged_frame_keeps_its_defect_and_the_mn_it_claims() {
        let mut bad_crc = frame("MN0001", "123456", "20240601080000004", true);
        let n = bad_crc.len();
        bad_crc[n - 3] ^= 1;
        let bad_cp = build::frame(
            b"QN=20240601085857223;ST=32;CN=2061;PW=123456;MN=MN0001;Flag=5;no data area",
        );
        let out = feed_all(&[&bad_crc, &bad_cp, b"junk"]);
        let d = out[0].defect.as_ref().unwrap();
        assert_eq!((d.mn.as_str(), d.kind), ("MN0001", ErrorKind::CrcMismatch));
        assert_eq!(d.offset, n as u64 - 6);
        assert!(d.message.contains("CRC"), "{}", d.message);
        assert_eq!(out[0].record.raw, bad_crc, "kept as evidence");
        let d = out[1].defect.as_ref().unwrap();
        assert_eq!(d.kind, ErrorKind::MalformedSegment, "{}", d.message);
        assert_eq!(out[2].defect, None, "no MN claimed");
    }

    #[test]
    fn a_data_time_with_milliseconds_is_accepted() {
        // 17 digits (HJ 212 says 14): a deviation lenient mode warns about, not a defect.
        let seg = b"QN=20240601085857223;ST=32;CN=2061;PW=123456;MN=MN0001;Flag=4;CP=&&DataTime=20240601080000500;w01018-Avg=40.1,w01018-Flag=N&&";
        let out = feed_all(&[&build::frame(seg)]);
        assert_eq!(out[0].record.verdict, Verdict::Accepted);
        assert_eq!(out[0].defect, None);
        let m = Message::parse_segment(seg, 0, &Options::lenient()).unwrap();
        assert_eq!(m.cp.data_time().unwrap().millis, Some(500));
        assert!(m.warnings[0].message.contains("milliseconds"));
    }

    #[test]
    fn frames_above_1024_bytes_are_accepted_as_devices_send_them() {
        // 1,025 and 1,623 bytes, the lengths seen in captured device logs: the receiver
        // reads in lenient mode, so they are archived (strict mode would refuse them).
        for len in [1025, 1623] {
            let head = "QN=20240601085857223;ST=32;CN=2061;PW=123456;MN=MN0001;Flag=4;CP=&&DataTime=20240601080000;w01018-Avg=40.1,w01018-Flag=N;w01018-Info=";
            let mut seg = head.to_owned();
            seg.push_str(&"x".repeat(len - head.len() - 2));
            seg.push_str("&&");
            let raw = build::frame(seg.as_bytes());
            let out = feed_all(&[&raw]);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].record.verdict, Verdict::Accepted, "{len} bytes");
            assert_eq!(out[0].record.raw, raw);
            let m = Message::parse_segment(seg.as_bytes(), 0, &Options::lenient()).unwrap();
            assert_eq!(
                m.cp.factor("w01018").unwrap().avg().unwrap().to_string(),
                "40.1"
            );
        }
    }

    #[test]
    fn one_flipped_data_byte_is_a_crc_mismatch_with_its_mn() {
        let good = frame("MN0001", "123456", "20240601080000001", true);
        // Every byte of the data segment after the MN (so the MN is still readable).
        let from = find(&good, b"Flag=").unwrap();
        for at in from..good.len() - 6 {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let out = feed_all(&[&bad]);
            assert_eq!(
                out[0].record.verdict,
                Verdict::Codec(ErrorKind::CrcMismatch),
                "byte {at}"
            );
            let d = out[0].defect.as_ref().unwrap();
            assert_eq!(
                (d.mn.as_str(), d.kind, d.offset),
                ("MN0001", ErrorKind::CrcMismatch, good.len() as u64 - 6)
            );
        }
    }

    #[test]
    fn a_long_bad_run_keeps_its_start_and_its_length() {
        let junk = vec![b'x'; 3 * MAX_BAD_BYTES];
        let good = frame("MN0001", "123456", "20240601080000001", false);
        let chunks: Vec<&[u8]> = junk.chunks(1000).chain([good.as_slice()]).collect();
        let out = feed_all(&chunks);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].record.raw.len(), MAX_BAD_BYTES);
        assert_eq!(out[0].record.stream_len as usize, junk.len());
        assert_eq!(out[1].record.verdict, Verdict::Accepted);
    }

    #[test]
    fn endless_garbage_closes_the_stream_with_bounded_memory() {
        let mut s = Session::new(1, "p".into(), 4);
        let mut out = Vec::new();
        let chunk = vec![b'z'; 64 * 1024];
        let mut closed = None;
        for _ in 0..40 {
            closed = s.feed(&chunk, 1, &stations(), &mut out);
            assert!(s.buffered() < 2048);
            if closed.is_some() {
                break;
            }
        }
        assert_eq!(closed, Some(Close::Garbage));
        assert!(out.is_empty(), "the run is recorded when the stream closes");
        s.finish(2, &stations(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(u64::from(out[0].record.stream_len) > MAX_GARBAGE);
    }

    #[test]
    fn time_requests_are_answered() {
        let ask = |cp: &str, flag: u8| {
            let seg = format!(
                "QN=20240601085857223;ST=32;CN={};PW=123456;MN=MN0001;Flag={flag};CP=&&{cp}&&",
                if cp.is_empty() { "1011" } else { "1013" }
            );
            let out = feed_all(&[&build::frame(seg.as_bytes())]);
            String::from_utf8(out[0].reply.clone()).unwrap()
        };
        let calibration = ask("x=1", 4);
        assert!(calibration.contains("CN=9013"), "{calibration}");
        assert!(calibration.contains("CN=1012") && calibration.contains("SystemTime="));
        let time = ask("", 5);
        assert!(
            time.contains("CN=9011") && time.contains("QnRtn=1"),
            "{time}"
        );
        assert!(time.contains("CN=1011") && time.contains("SystemTime="));
        assert!(time.contains("CN=9012") && time.contains("ExeRtn=1"));
        // A logger reporting a clock far off is told the right time.
        let seg = "QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=MN0001;Flag=5;CP=&&SystemTime=20000101000000&&";
        let out = feed_all(&[&build::frame(seg.as_bytes())]);
        let reply = String::from_utf8(out[0].reply.clone()).unwrap();
        assert!(
            reply.contains("CN=9014") && reply.contains("CN=1012"),
            "{reply}"
        );
    }

    #[test]
    fn parts_that_never_complete_are_bounded() {
        let mut s = Session::new(1, "p".into(), 4);
        let mut out = Vec::new();
        for i in 0..100 {
            let seg = format!(
                "QN=20240601085857{i:03};ST=32;CN=2061;PW=123456;MN=MN0001;Flag=7;PNUM=9;PNO=1;CP=&&DataTime=2024060108{:02}00;w01018-Avg=1&&",
                i % 60
            );
            s.feed(&build::frame(seg.as_bytes()), 1, &stations(), &mut out);
        }
        assert_eq!(out.len(), 100);
        assert!(
            out.iter()
                .all(|r| String::from_utf8_lossy(&r.reply).contains(";CN=9014;")),
            "each part is acked"
        );
        assert_eq!(s.groups.open_groups(), 4);
        assert_eq!(s.groups_given_up, 96);
    }
}
