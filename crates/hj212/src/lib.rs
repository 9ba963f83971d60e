//! HJ 212 (《污染物在线监控（监测）系统数据传输标准》, editions 2005, 2017 and
//! 2025) codec: framing, CRC, data-segment and CP parsing, sub-packet
//! reassembly and building.
//!
//! Pure Rust: no I/O, no async, no unsafe. The layers, fastest first:
//!
//! - [`Frames`] / [`Decoder`] cut a byte stream into [`Frame`]s by the
//!   length field (partial frames, several frames per read, garbage between
//!   frames), check the [`crc16`] and resynchronise after a bad frame. They
//!   borrow from the input and never allocate per frame.
//! - [`Segment`] is a zero-copy view of a data segment whose [`Items`]
//!   iterate `key=value` fields without allocating.
//! - [`Message`] is the owned, typed message: header fields, [`Version`],
//!   the data area [`Cp`] grouped by factor code, and the [`Warning`]s that
//!   lenient mode recorded for each real-world deviation (strict mode,
//!   [`Options::strict`], rejects them instead). Values stay the exact
//!   strings sent (evidence); [`Decimal`] and [`Timestamp`] read them.
//! - [`Reassembler`] merges split messages (PNUM/PNO) under time, group and
//!   byte bounds.
//! - [`build`] makes replies (9011–9014) and data uploads; [`codes`] holds
//!   the factor, flag, ST and CN tables.
//!
//! Every failure is an [`Error`] with an [`ErrorKind`] and a byte offset.
//!
//! ```
//! use hj212::{Decoder, Message, Options, build};
//!
//! let mut decoder = Decoder::new(Options::default());
//! // Garbage, then a frame arriving in two TCP reads.
//! let frame = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";
//! decoder.push(b"\x00junk");
//! decoder.push(&frame[..50]);
//! let err = decoder.next_frame().unwrap().unwrap_err();
//! assert_eq!(err.kind(), hj212::ErrorKind::BadHeader);
//! assert!(decoder.next_frame().is_none()); // waiting for the rest
//! decoder.push(&frame[50..]);
//!
//! let frame = decoder.next_frame().unwrap().unwrap();
//! assert_eq!(frame.offset, 5);
//! let message = Message::parse(&frame, &Options::default()).unwrap();
//! assert_eq!(message.cn.as_deref(), Some("1062"));
//! assert_eq!(message.cp.get("RtdInterval"), Some("30"));
//! assert!(message.needs_ack());
//!
//! // The receiver's 9014 data reply echoes QN.
//! let reply = build::reply_9014(&message);
//! assert!(reply.to_frame().starts_with(b"##0087QN=20160801085857223;ST=91;CN=9014;"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod codes;
mod cp;
mod crc;
mod detached;
mod error;
mod frame;
mod message;
mod reassembly;
mod segment;
mod text;
mod value;
mod version;

pub use cp::{Cp, CpView, FACTOR_FIELDS, Factor, PLAIN_KEYS};
pub use crc::{CrcVariant, crc16, crc16_modbus_swapped};
pub use detached::Detached;
pub use error::{Error, ErrorKind, Warning};
pub use frame::{Decoder, Frame, Frames, Options, Trailer};
pub use message::{FLAG_ACK, FLAG_SPLIT, Message, MessageView};
pub use reassembly::{Assembled, Limits, Reassembler};
pub use segment::{Item, Items, Segment};
pub use value::{Decimal, Timestamp};
pub use version::Version;
