//! Building frames: the replies a receiver sends (9011, 9012, 9013, 9014,
//! echoing QN) and data uploads (2011, 2051, 2061, 2031) for simulators and
//! tests. What is built here parses back to the same [`Message`].

use std::fmt::Write as _;

use crate::codes::{ExeRtn, QnRtn};
use crate::cp::{Cp, Factor};
use crate::crc;
use crate::message::{FLAG_ACK, Message};
use crate::version::Version;

/// Wraps a data segment into a frame: `##` + length + segment + CRC + `\r\n`.
///
/// # Panics
/// If the segment is longer than 9999 bytes, which the 4-digit length field
/// cannot express (the standard's limit is 1024; split longer messages).
pub fn frame(segment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(segment.len() + 12);
    write_frame(segment, &mut out);
    out
}

/// Appends the frame of `segment` to `out` (see [`frame`]).
pub fn write_frame(segment: &[u8], out: &mut Vec<u8>) {
    assert!(
        segment.len() <= 9999,
        "a data segment of {} bytes does not fit the 4-digit length field",
        segment.len()
    );
    out.extend_from_slice(format!("##{:04}", segment.len()).as_bytes());
    out.extend_from_slice(segment);
    out.extend_from_slice(&crc::to_hex(crc::crc16(segment)));
    out.extend_from_slice(b"\r\n");
}

impl Message {
    /// The data segment in the standard's field order:
    /// `QN;ST;CN;PW;MN;Flag;PNUM;PNO;RF;…;CP=&&DataTime;other keys;factors&&`.
    pub fn encode_segment(&self) -> String {
        let mut out = String::with_capacity(256);
        let numbers = [
            ("Flag", self.flag.map(u16::from)),
            ("PNUM", self.pnum),
            ("PNO", self.pno),
        ];
        let header = [
            ("QN", self.qn.as_deref()),
            ("ST", self.st.as_deref()),
            ("CN", self.cn.as_deref()),
            ("PW", self.pw.as_deref()),
            ("MN", self.mn.as_deref()),
        ];
        for (key, value) in header.iter().filter_map(|(k, v)| Some((k, (*v)?))) {
            let _ = write!(out, "{key}={value};");
        }
        for (key, value) in numbers.iter().filter_map(|(k, v)| Some((k, (*v)?))) {
            let _ = write!(out, "{key}={value};");
        }
        if let Some(rf) = &self.rf {
            let _ = write!(out, "RF={rf};");
        }
        for (key, value) in &self.extra {
            let _ = write!(out, "{key}={value};");
        }
        out.push_str("CP=&&");
        self.cp.encode(&mut out);
        out.push_str("&&");
        out
    }

    /// The complete frame of this message.
    pub fn to_frame(&self) -> Vec<u8> {
        frame(self.encode_segment().as_bytes())
    }
}

impl Cp {
    /// Appends the data-area content (without the `&&` delimiters).
    fn encode(&self, out: &mut String) {
        let mut first = true;
        let mut separator = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(';');
            }
        };
        if let Some(data_time) = &self.data_time {
            separator(out);
            let _ = write!(out, "DataTime={data_time}");
        }
        for (key, value) in &self.other {
            separator(out);
            let _ = write!(out, "{key}={value}");
        }
        for factor in &self.factors {
            separator(out);
            for (i, (field, value)) in factor.fields.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(out, "{comma}{}-{field}={value}", factor.code);
            }
        }
    }
}

/// A reply from the receiver: `ST=91`, the request's QN, PW and MN, `Flag`
/// with the request's version bits and no ack bit.
fn reply(request: &Message, cn: &str, cp: Cp) -> Message {
    let mut reply = Message::new(request.version);
    reply.qn = request.qn.clone();
    reply.st = Some("91".into());
    reply.cn = Some(cn.into());
    reply.pw = request.pw.clone();
    reply.mn = request.mn.clone();
    reply.flag = request.flag.map(|_| request.version.flag_bits());
    reply.cp = cp;
    reply
}

fn single(key: &str, value: u16) -> Cp {
    Cp {
        other: vec![(key.into(), value.to_string())],
        ..Cp::default()
    }
}

/// 9011 request reply (`QnRtn`), sent before executing a request.
pub fn reply_9011(request: &Message, rtn: QnRtn) -> Message {
    reply(request, "9011", single("QnRtn", rtn as u16))
}

/// 9012 execution result (`ExeRtn`).
pub fn reply_9012(request: &Message, rtn: ExeRtn) -> Message {
    reply(request, "9012", single("ExeRtn", rtn as u16))
}

/// 9013 notification reply.
pub fn reply_9013(request: &Message) -> Message {
    reply(request, "9013", Cp::default())
}

/// 9014 data reply: the acknowledgement of an upload (or of one part of a
/// split upload) whose `Flag` has the A bit.
pub fn reply_9014(request: &Message) -> Message {
    reply(request, "9014", Cp::default())
}

/// Data uploads of a data logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// 2011 real-time data.
    Realtime,
    /// 2051 minute data.
    Minute,
    /// 2061 hourly data.
    Hourly,
    /// 2031 daily data.
    Daily,
}

impl Upload {
    /// The command code.
    pub fn cn(self) -> &'static str {
        match self {
            Upload::Realtime => "2011",
            Upload::Minute => "2051",
            Upload::Hourly => "2061",
            Upload::Daily => "2031",
        }
    }
}

/// The identity of a sending data logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// Edition spoken.
    pub version: Version,
    /// System code, e.g. `32` wastewater or `31` flue gas.
    pub st: String,
    /// Access password.
    pub pw: String,
    /// Monitoring-point code.
    pub mn: String,
}

/// A data upload (`CN` 2011/2051/2061/2031) with `DataTime` and factors.
/// `ack` sets the A bit, asking the receiver for a 9014.
pub fn upload(
    station: &Station,
    kind: Upload,
    qn: &str,
    data_time: &str,
    factors: Vec<Factor>,
    ack: bool,
) -> Message {
    let mut message = Message::new(station.version);
    message.qn = Some(qn.into());
    message.st = Some(station.st.clone());
    message.cn = Some(kind.cn().into());
    message.pw = Some(station.pw.clone());
    message.mn = Some(station.mn.clone());
    message.flag = Some(station.version.flag_bits() | if ack { FLAG_ACK } else { 0 });
    message.cp = Cp {
        data_time: Some(data_time.into()),
        factors,
        other: Vec::new(),
    };
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frames, Options};

    fn parse(frame: &[u8]) -> Message {
        let f = Frames::new(frame, Options::strict())
            .next()
            .unwrap()
            .unwrap();
        Message::parse(&f, &Options::strict()).unwrap()
    }

    #[test]
    fn standard_example_is_rebuilt_byte_for_byte() {
        let raw = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";
        assert_eq!(parse(raw).to_frame(), raw);
    }

    #[test]
    fn replies_echo_qn() {
        let station = Station {
            version: Version::V2017,
            st: "32".into(),
            pw: "123456".into(),
            mn: "010000A8900016F000169DC0".into(),
        };
        let data = upload(
            &station,
            Upload::Hourly,
            "20160801090000001",
            "20160801080000",
            vec![Factor::new("w01018").with("Avg", "40.1").with("Flag", "N")],
            true,
        );
        assert_eq!(
            data.encode_segment(),
            "QN=20160801090000001;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801080000;w01018-Avg=40.1,w01018-Flag=N&&"
        );
        assert_eq!(parse(&data.to_frame()), data);

        let ack = reply_9014(&data);
        assert_eq!(ack.qn, data.qn);
        // HJ 212-2017 Table C.50: the host acks a part of a split upload.
        let part = parse(b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&D941\r\n");
        assert_eq!(
            reply_9014(&part).to_frame(),
            b"##0087QN=20160801085857534;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&5B40\r\n"
        );
        assert_eq!(
            reply_9011(&data, QnRtn::Ready).encode_segment(),
            "QN=20160801090000001;ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&"
        );
        assert_eq!(
            reply_9012(&data, ExeRtn::NoData).cp.get("ExeRtn"),
            Some("100")
        );
        assert_eq!(reply_9013(&data).cn.as_deref(), Some("9013"));
        for reply in [ack, reply_9013(&data)] {
            assert_eq!(parse(&reply.to_frame()), reply);
        }
    }
}
