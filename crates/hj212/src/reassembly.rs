//! Sub-packet reassembly (拆分包合包): merges the `PNUM` parts of one split
//! message back into one message.
//!
//! A hostile or broken sender can open groups it never completes, so every
//! group is bounded in time ([`Limits::timeout_ms`]) and all groups together
//! in number and bytes; a group that times out or is evicted comes out as
//! an incomplete message with a warning rather than vanishing, because its
//! data are still evidence.
//!
//! Parts belong together when they share MN, ST, CN and PNUM (and
//! `DataTime`, when both carry one). QN is not part of the key: the
//! standard's own example increments it by 1 ms per part.

use std::collections::VecDeque;

use crate::cp::Factor;
use crate::error::Warning;
use crate::message::Message;

/// Bounds on what the reassembler holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a group may wait for its missing parts, in the caller's
    /// clock (milliseconds).
    pub timeout_ms: u64,
    /// Open groups at most; the oldest is given up first.
    pub max_groups: usize,
    /// Bytes of text held across all groups at most.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// One minute (the standard's 10 s timeout × 3 retries, with room), 1024
    /// groups, 4 MiB.
    fn default() -> Self {
        Limits {
            timeout_ms: 60_000,
            max_groups: 1024,
            max_bytes: 4 << 20,
        }
    }
}

/// A message out of the reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The merged message (or the message itself when it was not split).
    pub message: Message,
    /// Stream offset of its first part.
    pub offset: u64,
    /// Parts merged into it.
    pub parts: u16,
    /// False when parts were missing (timeout, eviction, end of input).
    pub complete: bool,
}

#[derive(Debug)]
struct Group {
    pnum: u16,
    /// Received parts, ordered by PNO.
    parts: Vec<(u16, Message, u64)>,
    opened_ms: u64,
    bytes: usize,
}

impl Group {
    fn key(&self) -> &Message {
        &self.parts[0].1
    }

    fn accepts(&self, part: &Message, pnum: u16) -> bool {
        let key = self.key();
        let same_time = match (&key.cp.data_time, &part.cp.data_time) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.pnum == pnum
            && key.mn == part.mn
            && key.st == part.st
            && key.cn == part.cn
            && same_time
    }
}

/// Merges split messages; see the module docs.
///
/// ```
/// use hj212::{Limits, Message, Options, Reassembler};
/// let parts = [
///     "QN=20160801085857534;ST=32;CN=2061;PW=1;MN=1;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0&&",
///     "QN=20160801085857535;ST=32;CN=2061;PW=1;MN=1;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w01018-Cou=63.0&&",
/// ];
/// let mut reassembler = Reassembler::new(Limits::default());
/// for (i, part) in parts.iter().enumerate() {
///     let message = Message::parse_segment(part.as_bytes(), i as u64 * 200, &Options::default()).unwrap();
///     reassembler.push(message, i as u64 * 200, 0);
/// }
/// let merged = reassembler.pop().unwrap();
/// assert!(merged.complete);
/// assert_eq!(merged.message.cp.factors.len(), 2);
/// ```
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    /// Open groups, oldest first.
    groups: VecDeque<Group>,
    bytes: usize,
    ready: VecDeque<Assembled>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            groups: VecDeque::new(),
            bytes: 0,
            ready: VecDeque::new(),
        }
    }

    /// Takes a parsed message that started at stream `offset`, at time
    /// `now_ms`. Messages that are not parts are passed straight through.
    pub fn push(&mut self, message: Message, offset: u64, now_ms: u64) {
        self.expire(now_ms);
        let (pnum, pno) = match (message.pnum, message.pno) {
            (Some(pnum), Some(pno)) if pnum > 1 && (1..=pnum).contains(&pno) => (pnum, pno),
            _ => {
                self.ready.push_back(Assembled {
                    message,
                    offset,
                    parts: 1,
                    complete: true,
                });
                return;
            }
        };
        let size = approximate_size(&message);
        let index = self.groups.iter().position(|g| g.accepts(&message, pnum));
        let index = match index {
            // A repeated PNO means the earlier group will never complete.
            Some(i) if self.groups[i].parts.iter().any(|(n, ..)| *n == pno) => {
                self.give_up(i, "a new group with the same key started");
                None
            }
            found => found,
        };
        let index = match index {
            Some(i) => i,
            None => {
                if size > self.limits.max_bytes {
                    let group = Group {
                        pnum,
                        parts: vec![(pno, message, offset)],
                        opened_ms: now_ms,
                        bytes: 0,
                    };
                    self.emit(group, Some("the part alone exceeds the byte limit"));
                    return;
                }
                while self.groups.len() >= self.limits.max_groups.max(1) {
                    self.give_up(0, "too many open groups");
                }
                self.groups.push_back(Group {
                    pnum,
                    parts: Vec::new(),
                    opened_ms: now_ms,
                    bytes: 0,
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        let at = group.parts.partition_point(|(n, ..)| *n < pno);
        group.parts.insert(at, (pno, message, offset));
        group.bytes += size;
        self.bytes += size;
        if group.parts.len() == usize::from(group.pnum) {
            let group = self.remove(index);
            self.emit(group, None);
            return;
        }
        self.enforce_bytes(index);
    }

    /// Gives up the oldest other groups, then if need be the group at
    /// `current` itself, until the byte bound holds.
    fn enforce_bytes(&mut self, mut current: usize) {
        let mut i = 0;
        while self.bytes > self.limits.max_bytes && i < self.groups.len() {
            if i == current {
                i += 1;
                continue;
            }
            self.give_up(i, "the byte limit was reached");
            if i < current {
                current -= 1;
            }
        }
        if self.bytes > self.limits.max_bytes {
            self.give_up(current, "the byte limit was reached");
        }
    }

    /// Gives up groups older than the timeout at `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        while let Some(oldest) = self.groups.front() {
            if now_ms.saturating_sub(oldest.opened_ms) < self.limits.timeout_ms {
                break;
            }
            self.give_up(0, "timed out");
        }
    }

    /// End of input: every open group comes out, incomplete.
    pub fn finish(&mut self) {
        while !self.groups.is_empty() {
            self.give_up(0, "the input ended");
        }
    }

    /// The next merged or passed-through message, in completion order.
    pub fn pop(&mut self) -> Option<Assembled> {
        self.ready.pop_front()
    }

    /// Groups waiting for parts.
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }

    /// Approximate bytes held by open groups.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, index: usize) -> Group {
        let group = self.groups.remove(index).expect("group index");
        self.bytes -= group.bytes;
        group
    }

    fn give_up(&mut self, index: usize, reason: &str) {
        let group = self.remove(index);
        self.emit(group, Some(reason));
    }

    /// Merges a group's parts and queues the result; `incomplete` says why
    /// parts are missing.
    fn emit(&mut self, group: Group, incomplete: Option<&str>) {
        let pnum = group.pnum;
        let received: Vec<String> = group.parts.iter().map(|(n, ..)| n.to_string()).collect();
        let parts = group.parts.len() as u16;
        let mut parts_iter = group.parts.into_iter();
        let (_, mut merged, offset) = parts_iter.next().expect("a group has a part");
        merged.pno = None;
        for (_, part, part_offset) in parts_iter {
            merge(&mut merged, part, part_offset);
        }
        if let Some(reason) = incomplete {
            merged.warnings.push(Warning {
                offset,
                message: format!(
                    "sub-packet group incomplete ({reason}): received PNO {} of PNUM {pnum}",
                    received.join(",")
                ),
            });
        }
        self.ready.push_back(Assembled {
            message: merged,
            offset,
            parts,
            complete: incomplete.is_none(),
        });
    }
}

/// Appends a later part's data area and warnings to the merged message.
fn merge(merged: &mut Message, part: Message, offset: u64) {
    let mut conflicts = Vec::new();
    let cp = &mut merged.cp;
    match (&cp.data_time, part.cp.data_time) {
        (None, Some(time)) => cp.data_time = Some(time),
        (Some(a), Some(b)) if *a != b => conflicts.push(format!(
            "part DataTime \"{b}\" differs from \"{a}\"; first kept"
        )),
        _ => {}
    }
    for (key, value) in part.cp.other {
        if cp.other.iter().any(|(k, _)| *k == key) {
            conflicts.push(format!("key {key} repeated in a later part; first kept"));
        } else {
            cp.other.push((key, value));
        }
    }
    for factor in part.cp.factors {
        let Some(existing) = cp.factors.iter_mut().find(|f| f.code == factor.code) else {
            cp.factors.push(factor);
            continue;
        };
        let Factor { code, fields } = factor;
        for (field, value) in fields {
            if existing.get(&field).is_some() {
                conflicts.push(format!(
                    "{code}-{field} repeated in a later part; first kept"
                ));
            } else {
                existing.fields.push((field, value));
            }
        }
    }
    merged.warnings.extend(part.warnings);
    merged.warnings.extend(
        conflicts
            .into_iter()
            .map(|message| Warning { offset, message }),
    );
}

/// Text bytes held by a message, plus a little per entry for bookkeeping.
fn approximate_size(message: &Message) -> usize {
    const ENTRY: usize = 32;
    let pairs = |pairs: &[(String, String)]| -> usize {
        pairs.iter().map(|(k, v)| k.len() + v.len() + ENTRY).sum()
    };
    let header = [
        &message.qn,
        &message.st,
        &message.cn,
        &message.pw,
        &message.mn,
        &message.rf,
        &message.cp.data_time,
    ]
    .iter()
    .map(|field| field.as_ref().map_or(0, String::len))
    .sum::<usize>();
    let warnings: usize = message
        .warnings
        .iter()
        .map(|w| w.message.len() + ENTRY)
        .sum();
    header
        + warnings
        + pairs(&message.extra)
        + pairs(&message.cp.other)
        + message
            .cp
            .factors
            .iter()
            .map(|f| f.code.len() + ENTRY + pairs(&f.fields))
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Options;

    fn part(mn: &str, pnum: u16, pno: u16, code: &str) -> Message {
        let data = format!(
            "QN=2016080108585753{pno};ST=32;CN=2061;PW=1;MN={mn};Flag=6;PNUM={pnum};PNO={pno};CP=&&DataTime=20160801080000;{code}-Avg=1.0&&"
        );
        Message::parse_segment(data.as_bytes(), 0, &Options::default()).unwrap()
    }

    fn drain(r: &mut Reassembler) -> Vec<Assembled> {
        std::iter::from_fn(|| r.pop()).collect()
    }

    #[test]
    fn merges_out_of_order_and_interleaved() {
        let mut r = Reassembler::new(Limits::default());
        r.push(part("A", 3, 3, "w01018"), 30, 0);
        r.push(part("B", 2, 1, "a21026"), 40, 0);
        r.push(part("A", 3, 1, "w00000"), 10, 0);
        r.push(part("B", 2, 2, "a21002"), 50, 0);
        r.push(part("A", 3, 2, "w01001"), 20, 0);
        let out = drain(&mut r);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].message.mn.as_deref(), Some("B"));
        let a = &out[1];
        assert!(a.complete);
        assert_eq!((a.offset, a.parts), (10, 3));
        let codes: Vec<_> = a.message.cp.codes().collect();
        assert_eq!(codes, ["w00000", "w01001", "w01018"]);
        assert_eq!(a.message.qn.as_deref(), Some("20160801085857531"));
        assert_eq!((a.message.pnum, a.message.pno), (Some(3), None));
        assert_eq!(r.open_groups(), 0);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn single_messages_pass_through() {
        let mut r = Reassembler::new(Limits::default());
        let m = Message::parse_segment(b"ST=32;CN=2011;PW=1;MN=1;CP=&&&&", 0, &Options::default())
            .unwrap();
        r.push(m.clone(), 7, 0);
        let out = drain(&mut r);
        assert_eq!(out[0].message, m);
        assert!(out[0].complete);
    }

    #[test]
    fn bounds_and_timeout() {
        let limits = Limits {
            timeout_ms: 1000,
            max_groups: 2,
            max_bytes: 1 << 20,
        };
        let mut r = Reassembler::new(limits);
        r.push(part("A", 2, 1, "w01018"), 0, 0);
        r.push(part("B", 2, 1, "w01018"), 0, 10);
        r.push(part("C", 2, 1, "w01018"), 0, 20);
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert!(!out[0].complete);
        assert_eq!(out[0].message.mn.as_deref(), Some("A"));
        assert!(
            out[0]
                .message
                .warnings
                .last()
                .unwrap()
                .message
                .contains("too many open groups")
        );

        r.expire(1015);
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message.mn.as_deref(), Some("B"));
        r.finish();
        assert_eq!(drain(&mut r).len(), 1);
        assert_eq!((r.open_groups(), r.buffered_bytes()), (0, 0));
    }

    #[test]
    fn byte_limit_evicts_and_hostile_pnum_stays_small() {
        let limits = Limits {
            timeout_ms: u64::MAX,
            max_groups: usize::MAX,
            max_bytes: 2000,
        };
        let mut r = Reassembler::new(limits);
        for i in 0..1000 {
            r.push(part(&format!("M{i}"), 9999, 1, "w01018"), 0, 0);
            assert!(r.buffered_bytes() <= 2000);
        }
        assert!(r.open_groups() < 20);
        assert!(drain(&mut r).iter().all(|a| !a.complete));
    }

    #[test]
    fn repeated_pno_starts_a_new_group() {
        let mut r = Reassembler::new(Limits::default());
        r.push(part("A", 2, 1, "w01018"), 0, 0);
        r.push(part("A", 2, 1, "w01001"), 100, 0);
        r.push(part("A", 2, 2, "w00000"), 200, 0);
        let out = drain(&mut r);
        assert_eq!(out.len(), 2);
        assert!(!out[0].complete);
        assert!(out[1].complete);
        assert_eq!(out[1].offset, 100);
    }
}
