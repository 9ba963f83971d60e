//! `ecowarden hj212 parse [--strict] [--reassemble] [FILE|-]`: reads a byte
//! stream of HJ 212 frames and prints one JSON object per line for each
//! frame (or each reassembled message), in input order.
//!
//! A good frame: `{"ok": true, "offset", "version", "qn", "st", "cn", "pw",
//! "mn", "flag", "pnum", "pno", "data_time", "values", "cp", "warnings"}`;
//! a bad one: `{"ok": false, "offset", "error": {"kind", "message"}}`.
//! The exit status is 0 whenever the input could be read, whatever it held.

use std::fs::File;
use std::io::{self, ErrorKind as IoErrorKind, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use hj212::{Assembled, Decoder, Error, Limits, MessageView, Options, Reassembler};

/// Arguments of `ecowarden hj212 parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Reject every deviation from the standard instead of warning about it.
    #[arg(long)]
    pub strict: bool,
    /// Merge split messages (PNUM/PNO parts) and print one line per message.
    #[arg(long)]
    pub reassemble: bool,
    /// The file to read; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Reads the stream and writes JSON lines.
pub fn parse(args: &ParseArgs, input: &mut dyn Read, out: &mut dyn Write) -> io::Result<()> {
    let opts = if args.strict {
        Options::strict()
    } else {
        Options::lenient()
    };
    let mut decoder = Decoder::new(opts);
    // A file has no clock: groups end by the bounds or at end of input.
    let mut reassembler = args.reassemble.then(|| Reassembler::new(Limits::default()));
    // One output buffer for the whole run, handed to `out` once per input chunk: a write
    // per line costs more than the line.
    let mut lines = Vec::with_capacity(2 * READ_SIZE);
    loop {
        // Read straight into the decoder's buffer: no copy of the input in between.
        match decoder.fill(READ_SIZE, |room| input.read(room)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        drain(&mut decoder, &opts, reassembler.as_mut(), &mut lines);
        out.write_all(&lines)?;
        lines.clear();
    }
    decoder.finish();
    drain(&mut decoder, &opts, reassembler.as_mut(), &mut lines);
    if let Some(reassembler) = reassembler.as_mut() {
        reassembler.finish();
        write_assembled(reassembler, &mut lines);
    }
    out.write_all(&lines)?;
    out.flush()
}

/// Bytes read at a time: large enough that reads and output writes are a small part of
/// the time, small enough that the first lines of a pipe come out at once.
const READ_SIZE: usize = 256 * 1024;

/// Opens FILE (or stdin for `-` or none) and calls [`parse`] with stdout.
pub fn run_parse(args: &ParseArgs) -> anyhow::Result<()> {
    let mut input: Box<dyn Read> = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
        }
        _ => Box::new(io::stdin().lock()),
    };
    // `parse` writes whole blocks of lines: no buffer needed in between.
    let mut out = io::stdout().lock();
    match parse(args, &mut input, &mut out) {
        // A reader that went away (`| head`) is not a failure to read.
        Err(e) if e.kind() == IoErrorKind::BrokenPipe => Ok(()),
        result => result.context("reading the HJ 212 stream"),
    }
}

/// Appends a line for every frame the decoder can finish now.
fn drain(
    decoder: &mut Decoder,
    opts: &Options,
    mut reassembler: Option<&mut Reassembler>,
    lines: &mut Vec<u8>,
) {
    while let Some(item) = decoder.next_frame() {
        let parsed = item.and_then(|frame| {
            let plain = !needs_escape(frame.data);
            MessageView::parse(&frame, opts).map(|message| (frame.offset, plain, message))
        });
        match (parsed, reassembler.as_deref_mut()) {
            (Err(error), _) => write_error(lines, &error),
            (Ok((offset, plain, message)), None) => write_message(lines, offset, &message, plain),
            (Ok((offset, _, message)), Some(reassembler)) => {
                reassembler.push(message.into_owned(), offset, 0);
                write_assembled(reassembler, lines);
            }
        }
    }
}

fn write_assembled(reassembler: &mut Reassembler, line: &mut Vec<u8>) {
    while let Some(Assembled {
        message, offset, ..
    }) = reassembler.pop()
    {
        write_message(line, offset, &message.view(), false);
    }
}

/// `{"ok":false,"offset":…,"error":{"kind":…,"message":…}}` and a newline.
fn write_error(out: &mut Vec<u8>, error: &Error) {
    out.extend_from_slice(b"{\"ok\":false,\"offset\":");
    write_number(out, error.frame_offset());
    out.extend_from_slice(b",\"error\":{\"kind\":");
    write_str(out, error.kind().as_str());
    out.extend_from_slice(b",\"message\":");
    write_str(out, &error.to_string());
    out.extend_from_slice(b"}}\n");
}

/// One message as a JSON line, written straight from the fields it borrows from the
/// frame: keys in the documented order, factors and fields in the order sent (serde_json
/// `Value` trees cost 5× the time, an owned `Message` with a string per field 3×).
/// `plain` says the frame's data segment has nothing to escape, so neither has any text
/// taken from it (GBK text decoded from plain bytes has none either).
fn write_message(out: &mut Vec<u8>, offset: u64, m: &MessageView<'_>, plain: bool) {
    let mut line = Line { out, plain };
    line.out.extend_from_slice(b"{\"ok\":true,\"offset\":");
    write_number(line.out, offset);
    line.out.extend_from_slice(b",\"version\":");
    line.text(m.version.as_str());
    let texts = [
        (&b",\"qn\":"[..], &m.qn),
        (b",\"st\":", &m.st),
        (b",\"cn\":", &m.cn),
        (b",\"pw\":", &m.pw),
        (b",\"mn\":", &m.mn),
    ];
    let numbers = [
        (&b",\"flag\":"[..], m.flag.map(u64::from)),
        (b",\"pnum\":", m.pnum.map(u64::from)),
        (b",\"pno\":", m.pno.map(u64::from)),
    ];
    for (key, value) in texts {
        line.out.extend_from_slice(key);
        line.opt_text(value.as_deref());
    }
    for (key, value) in numbers {
        line.out.extend_from_slice(key);
        match value {
            Some(n) => write_number(line.out, n),
            None => line.out.extend_from_slice(b"null"),
        }
    }
    line.out.extend_from_slice(b",\"data_time\":");
    line.opt_text(m.cp.data_time.as_deref());
    line.out.extend_from_slice(b",\"values\":{");
    // A factor's fields nearly always come together: then each group is the next run of
    // the flat list, and only out-of-order messages pay for a scan per factor.
    let fields = &m.cp.fields;
    let grouped = fields.is_sorted_by_key(|(i, _, _)| *i);
    let mut start = 0;
    for (i, code) in m.cp.codes.iter().enumerate() {
        if i > 0 {
            line.out.push(b',');
        }
        line.text(code);
        line.out.push(b':');
        if grouped {
            let end = fields[start..]
                .iter()
                .position(|(j, _, _)| *j != i)
                .map_or(fields.len(), |n| start + n);
            let run = fields[start..end].iter();
            line.object(run.map(|(_, f, v)| (f.as_ref(), v.as_ref())));
            start = end;
        } else {
            line.object(m.cp.factor_fields(i));
        }
    }
    line.out.extend_from_slice(b"},\"cp\":");
    line.object(m.cp.other.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    line.out.extend_from_slice(b",\"warnings\":[");
    for (i, warning) in m.warnings.iter().enumerate() {
        if i > 0 {
            line.out.push(b',');
        }
        write_str(line.out, &warning.message);
    }
    line.out.extend_from_slice(b"]}\n");
}

/// The line being written, and whether the frame's text is known to need no escapes.
struct Line<'o> {
    out: &'o mut Vec<u8>,
    plain: bool,
}

impl Line<'_> {
    /// Text from the frame as a JSON string.
    fn text(&mut self, text: &str) {
        if self.plain {
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        } else {
            write_str(self.out, text);
        }
    }

    fn opt_text(&mut self, value: Option<&str>) {
        match value {
            Some(text) => self.text(text),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn object<'s>(&mut self, pairs: impl Iterator<Item = (&'s str, &'s str)>) {
        self.out.push(b'{');
        for (i, (key, value)) in pairs.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.text(key);
            self.out.push(b':');
            self.text(value);
        }
        self.out.push(b'}');
    }
}

fn write_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control characters as
/// `\n`-style or `\u00XX` escapes, everything else (UTF-8 included) as is.
fn write_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0..0x20 => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `bytes` hold a `"`, `\\` or control character: one branch-free pass the compiler
/// vectorises, over a whole data segment or a single string.
fn needs_escape(bytes: &[u8]) -> bool {
    !bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const REPLY_2017: &[u8] = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";
    const HOURLY: &[u8] = b"##0325QN=20160801090000001;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&B7C1\r\n";
    const PART_1: &[u8] = b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&DC41\r\n";
    const PART_2: &[u8] = b"##0201QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&DEC1\r\n";
    const V2005_NO_CRLF: &[u8] = b"##0136ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&1DC0";

    fn args(strict: bool, reassemble: bool) -> ParseArgs {
        ParseArgs {
            strict,
            reassemble,
            file: None,
        }
    }

    fn run(args: &ParseArgs, input: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        parse(args, &mut &input[..], &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<_> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn good_frame_has_the_contract_shape() {
        let lines = run(&args(false, false), REPLY_2017);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(
            keys(line),
            [
                "cn",
                "cp",
                "data_time",
                "flag",
                "mn",
                "offset",
                "ok",
                "pno",
                "pnum",
                "pw",
                "qn",
                "st",
                "values",
                "version",
                "warnings"
            ]
        );
        assert_eq!(line["ok"], true);
        assert_eq!(line["offset"], 0);
        assert_eq!(line["version"], "2017");
        assert_eq!(line["qn"], "20160801085857223");
        assert_eq!(line["st"], "32");
        assert_eq!(line["cn"], "1062");
        assert_eq!(line["pw"], "100000");
        assert_eq!(line["mn"], "010000A8900016F000169DC0");
        assert_eq!(line["flag"], 5);
        assert_eq!(line["pnum"], Value::Null);
        assert_eq!(line["pno"], Value::Null);
        assert_eq!(line["data_time"], Value::Null);
        assert_eq!(line["values"], json!({}));
        assert_eq!(line["cp"], json!({"RtdInterval": "30"}));
        assert_eq!(line["warnings"], json!([]));
    }

    #[test]
    fn values_are_grouped_by_factor_as_strings() {
        let line = &run(&args(true, false), HOURLY)[0];
        assert_eq!(line["data_time"], "20160801080000");
        assert_eq!(
            line["values"]["w01018"],
            json!({"Cou": "63.0", "Min": "40.1", "Avg": "40.1", "Max": "40.1", "Flag": "N"})
        );
        assert_eq!(line["values"]["w00000"]["Cou"], "63.0");
        assert_eq!(line["values"].as_object().unwrap().len(), 3);
        assert_eq!(line["cp"], json!({}));
    }

    #[test]
    fn bad_frame_then_good_frame_in_input_order() {
        let mut bad = HOURLY.to_vec();
        bad[6 + 325] = b'0'; // CRC B7C1 -> 07C1
        let input = [b"garbage".as_slice(), &bad, REPLY_2017].concat();
        let lines = run(&args(false, false), &input);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["error"]["kind"], "bad_header");
        assert_eq!(lines[0]["offset"], 0);
        assert_eq!(keys(&lines[1]), ["error", "offset", "ok"]);
        assert_eq!(lines[1]["ok"], false);
        assert_eq!(lines[1]["offset"], 7);
        assert_eq!(lines[1]["error"]["kind"], "crc_mismatch");
        let message = lines[1]["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("07C1") && message.contains("B7C1"),
            "{message}"
        );
        assert_eq!(lines[2]["ok"], true);
        assert_eq!(lines[2]["offset"], 7 + HOURLY.len());
    }

    #[test]
    fn strict_rejects_what_lenient_warns_about() {
        let lenient = &run(&args(false, false), V2005_NO_CRLF)[0];
        assert_eq!(lenient["ok"], true);
        assert_eq!(lenient["version"], "2005");
        assert_eq!(
            (&lenient["qn"], &lenient["flag"]),
            (&Value::Null, &Value::Null)
        );
        assert_eq!(
            lenient["warnings"],
            json!(["the frame has no \"\\r\\n\" trailer"])
        );
        assert_eq!(lenient["values"]["011"]["Rtd"], "231.0");

        let strict = &run(&args(true, false), V2005_NO_CRLF)[0];
        assert_eq!(strict["ok"], false);
        assert_eq!(strict["error"]["kind"], "bad_trailer");
    }

    #[test]
    fn segment_errors_are_reported_at_the_frame() {
        let input = hj212::build::frame(b"QN=1;ST=32;no data area");
        let line = &run(&args(false, false), &input)[0];
        assert_eq!(line["ok"], false);
        assert_eq!(line["offset"], 0);
        assert_eq!(line["error"]["kind"], "malformed_segment");
    }

    #[test]
    fn reassemble_merges_parts_into_one_line() {
        let input = [PART_1, REPLY_2017, PART_2].concat();
        let plain = run(&args(false, false), &input);
        assert_eq!(plain.len(), 3);
        assert_eq!(
            (&plain[0]["pnum"], &plain[0]["pno"]),
            (&json!(2), &json!(1))
        );

        let merged = run(&args(false, true), &input);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0]["cn"], "1062");
        let m = &merged[1];
        assert_eq!(m["offset"], 0);
        assert_eq!((&m["pnum"], &m["pno"]), (&json!(2), &Value::Null));
        assert_eq!(m["qn"], "20160801085857534");
        assert_eq!(m["values"].as_object().unwrap().len(), 3);
        assert_eq!(m["warnings"], json!([]));
    }

    #[test]
    fn reassemble_flushes_incomplete_groups_at_end_of_input() {
        let lines = run(&args(false, true), PART_1);
        assert_eq!(lines.len(), 1);
        let warning = lines[0]["warnings"][0].as_str().unwrap();
        assert!(warning.contains("incomplete"), "{warning}");
    }

    #[test]
    fn input_split_across_reads_gives_the_same_lines() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = [HOURLY, b"\x00\x01", PART_1, V2005_NO_CRLF].concat();
        let whole = run(&args(false, false), &input);
        let mut out = Vec::new();
        parse(&args(false, false), &mut Trickle(&input), &mut out).unwrap();
        let trickled: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(trickled, whole);
        assert_eq!(whole.len(), 4);
    }

    #[test]
    fn empty_input_prints_nothing_and_read_errors_surface() {
        assert!(run(&args(false, false), b"").is_empty());
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = parse(&args(false, false), &mut Broken, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }

    #[test]
    fn keys_come_in_the_documented_order() {
        let mut out = Vec::new();
        parse(&args(false, false), &mut &HOURLY[..], &mut out).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with(
                "{\"ok\":true,\"offset\":0,\"version\":\"2017\",\"qn\":\"20160801090000001\",\"st\":\"32\",\"cn\":\"2061\",\"pw\":\"123456\",\"mn\":\"010000A8900016F000169DC0\",\"flag\":5,\"pnum\":null,\"pno\":null,\"data_time\":\"20160801080000\",\"values\":{\"w00000\":{\"Cou\":\"63.0\","
            ),
            "{line}"
        );
        assert!(line.ends_with(",\"cp\":{},\"warnings\":[]}\n"), "{line}");
    }

    /// A parsed frame's line built the slow, plain way: the owned message, each string
    /// through `serde_json::to_string`, keys in the documented order. The reference the
    /// direct writer must equal byte for byte.
    fn reference_line(offset: u64, m: &hj212::Message) -> String {
        let s = |t: &str| serde_json::to_string(t).unwrap();
        let opt = |t: &Option<String>| t.as_deref().map_or("null".to_owned(), s);
        let num = |n: Option<u16>| n.map_or("null".to_owned(), |n| n.to_string());
        let object = |pairs: &[(String, String)]| {
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", s(k), s(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        };
        let values: Vec<String> =
            m.cp.factors
                .iter()
                .map(|f| format!("{}:{}", s(&f.code), object(&f.fields)))
                .collect();
        let warnings: Vec<String> = m.warnings.iter().map(|w| s(&w.message)).collect();
        format!(
            "{{\"ok\":true,\"offset\":{offset},\"version\":{},\"qn\":{},\"st\":{},\"cn\":{},\"pw\":{},\"mn\":{},\"flag\":{},\"pnum\":{},\"pno\":{},\"data_time\":{},\"values\":{{{}}},\"cp\":{},\"warnings\":[{}]}}\n",
            s(m.version.as_str()),
            opt(&m.qn),
            opt(&m.st),
            opt(&m.cn),
            opt(&m.pw),
            opt(&m.mn),
            num(m.flag.map(u16::from)),
            num(m.pnum),
            num(m.pno),
            opt(&m.cp.data_time),
            values.join(","),
            object(&m.cp.other),
            warnings.join(","),
        )
    }

    /// Every line of `input` the reference way, frames from [`hj212::Frames`].
    fn reference(input: &[u8], opts: Options) -> String {
        hj212::Frames::new(input, opts)
            .map(|item| {
                match item.and_then(|f| hj212::Message::parse(&f, &opts).map(|m| (f.offset, m))) {
                    Ok((offset, m)) => reference_line(offset, &m),
                    Err(e) => format!(
                        "{{\"ok\":false,\"offset\":{},\"error\":{{\"kind\":{},\"message\":{}}}}}\n",
                        e.frame_offset(),
                        serde_json::to_string(e.kind().as_str()).unwrap(),
                        serde_json::to_string(&e.to_string()).unwrap()
                    ),
                }
            })
            .collect()
    }

    /// The 64 conformance frames of the codec, alone and back to back, lenient and strict:
    /// the direct writer's lines are JSON and equal the reference byte for byte.
    #[test]
    fn conformance_frames_are_written_as_the_reference_writes_them() {
        let frames: Vec<Vec<u8>> = include_str!("../../hj212/tests/data/messages.jsonl")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["raw"].as_str().unwrap().as_bytes().to_vec()
            })
            .collect();
        assert_eq!(frames.len(), 64);
        let mut inputs = frames.clone();
        inputs.push(frames.concat());
        for strict in [false, true] {
            let opts = if strict {
                Options::strict()
            } else {
                Options::lenient()
            };
            for input in &inputs {
                let mut out = Vec::new();
                parse(&args(strict, false), &mut &input[..], &mut out).unwrap();
                let text = String::from_utf8(out).unwrap();
                for line in text.lines() {
                    assert!(serde_json::from_str::<Value>(line).unwrap().is_object());
                }
                assert_eq!(text, reference(input, opts));
            }
        }
    }

    /// Factors whose fields come back after another factor's are grouped as the reference
    /// groups them, next to messages whose fields come together.
    #[test]
    fn interleaved_factor_fields_are_grouped_as_the_reference_groups_them() {
        let segment = |cp: &str| {
            hj212::build::frame(
                format!("QN=20250307080000001;ST=31;CN=2061;PW=123456;MN=35010200000001;Flag=5;CP=&&DataTime=20250307080000;{cp}&&")
                    .as_bytes(),
            )
        };
        let input = [
            segment("a21026-Avg=1,a21026-Flag=N;a21002-Avg=2,a21002-Flag=N"),
            segment("a21026-Avg=1;a21002-Avg=2;a21026-Flag=N;a21002-Flag=D"),
        ]
        .concat();
        let mut out = Vec::new();
        parse(&args(false, false), &mut &input[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, reference(&input, Options::lenient()));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[1]["values"]["a21026"],
            json!({"Avg": "1", "Flag": "N"})
        );
        assert_eq!(
            lines[1]["values"]["a21002"],
            json!({"Avg": "2", "Flag": "D"})
        );
        assert!(text.contains("\"values\":{\"a21026\":{\"Avg\":\"1\",\"Flag\":\"N\"},\"a21002\""));
    }

    proptest! {
        /// The hand-written JSON strings are what serde_json writes, escapes included.
        #[test]
        fn strings_are_escaped_as_serde_json_does(text in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f])*") {
            let mut out = Vec::new();
            write_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }

        /// Values and keys with quotes, backslashes, control characters and non-ASCII text
        /// come back through serde_json as sent, in a line equal to the reference.
        #[test]
        fn any_field_text_round_trips_through_serde_json(
            values in proptest::collection::vec("(\\PC|[\\x00-\\x1f\"\\\\\\x7f])*", 3),
            key in "[A-Za-z][A-Za-z0-9_]{0,8}",
        ) {
            // The separators cannot be in a value: they would split it.
            let v: Vec<String> = values.iter().map(|v| v.replace([';', ',', '=', '&'], "")).collect();
            prop_assume!(key != "DataTime");
            let segment = format!(
                "QN=20250307080000001;ST=31;CN=2061;PW=123456;MN=35010200000001;Flag=5;CP=&&DataTime=20250307080000;a21026-Avg={},a21026-Info={};{key}={}&&",
                v[0], v[1], v[2]
            );
            let input = hj212::build::frame(segment.as_bytes());
            let mut out = Vec::new();
            parse(&args(false, false), &mut &input[..], &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let line: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&line["values"]["a21026"]["Avg"], &json!(v[0]));
            prop_assert_eq!(&line["values"]["a21026"]["Info"], &json!(v[1]));
            prop_assert_eq!(&line["cp"][key.as_str()], &json!(v[2]));
            prop_assert_eq!(text, reference(&input, Options::lenient()));
        }
    }

    #[test]
    fn command_line_shape() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: ParseArgs,
        }
        let cli = Cli::try_parse_from(["parse", "--strict", "--reassemble", "-"]).unwrap();
        assert!(cli.args.strict && cli.args.reassemble);
        assert_eq!(cli.args.file, Some(PathBuf::from("-")));
        let cli = Cli::try_parse_from(["parse"]).unwrap();
        assert!(!cli.args.strict && cli.args.file.is_none());
    }
}
