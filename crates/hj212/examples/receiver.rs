//! A receiver's loop in miniature: bytes arrive in arbitrary TCP-sized
//! pieces, frames come out, split uploads are merged, and uploads that ask
//! for it get their 9014 data reply.
//!
//! Run with `cargo run -p hj212 --example receiver`.

use hj212::{Decoder, Limits, Message, Options, Reassembler, build};

/// Two parts of a split hourly upload (with the ack bit), noise, and a
/// 2005-style real-time frame without trailer.
const STREAM: &[u8] = b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&D941\r\n\
noise\
##0201QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&DEC1\r\n\
##0136ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&1DC0";

fn main() {
    let opts = Options::default();
    let mut decoder = Decoder::new(opts);
    let mut reassembler = Reassembler::new(Limits::default());
    let now_ms = 0; // a real receiver passes its monotonic clock

    let handle = |decoder: &mut Decoder, reassembler: &mut Reassembler| {
        while let Some(item) = decoder.next_frame() {
            let frame = match item {
                Ok(frame) => frame,
                Err(error) => {
                    println!(
                        "bad frame at {}: {} ({error})",
                        error.frame_offset(),
                        error.kind()
                    );
                    continue;
                }
            };
            let offset = frame.offset;
            match Message::parse(&frame, &opts) {
                Ok(message) => {
                    if message.needs_ack() {
                        let reply = build::reply_9014(&message);
                        println!(
                            "reply: {}",
                            String::from_utf8_lossy(&reply.to_frame()).trim_end()
                        );
                    }
                    reassembler.push(message, offset, now_ms);
                }
                Err(error) => println!("bad message at {offset}: {error}"),
            }
        }
    };

    for piece in STREAM.chunks(97) {
        decoder.push(piece);
        handle(&mut decoder, &mut reassembler);
    }
    decoder.finish();
    handle(&mut decoder, &mut reassembler);
    reassembler.finish();

    while let Some(assembled) = reassembler.pop() {
        let m = &assembled.message;
        println!(
            "message at {} ({} part(s)): HJ 212-{} CN={} MN={} DataTime={}",
            assembled.offset,
            assembled.parts,
            m.version,
            m.cn.as_deref().unwrap_or("-"),
            m.mn.as_deref().unwrap_or("-"),
            m.cp.data_time.as_deref().unwrap_or("-"),
        );
        for factor in &m.cp.factors {
            let info = factor.info();
            println!(
                "  {:<7} {:<10} {:?} {}",
                factor.code,
                info.map_or("?", |i| i.name_zh),
                factor.fields,
                info.and_then(|i| i.unit).unwrap_or(""),
            );
        }
        for warning in &m.warnings {
            println!("  warning: {warning}");
        }
    }
}
