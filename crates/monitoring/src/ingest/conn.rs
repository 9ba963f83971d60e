//! One TCP connection of a data logger: read, judge (a [`Session`]), append to the evidence
//! log, and send each reply once the record it answers is durable — in the order the
//! frames came, while the next frames are already being read.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::session::{Received, Session};
use super::stats::Limit;
use super::{Context, now_us};
use crate::evidence::Pos;

/// Replies waiting for their record's sync, per connection, at most: beyond it the
/// connection stops reading until the disk catches up.
const MAX_IN_FLIGHT: usize = 1024;
/// Bytes read at a time.
const READ_CHUNK: usize = 16 * 1024;
/// A peer that does not take its replies within this is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Owns one connection until it ends; never fails (errors end the connection).
pub async fn serve(stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>) {
    ctx.stats.open.fetch_add(1, Ordering::Relaxed);
    ctx.stats
        .accepted_connections
        .fetch_add(1, Ordering::Relaxed);
    let n = ctx.next_conn.fetch_add(1, Ordering::Relaxed);
    let conn = ctx.log.connection_id(n);
    let mut c = Connection {
        session: Session::new(conn, peer.to_string(), ctx.settings.max_open_groups),
        stream,
        acks: VecDeque::new(),
        held: 0,
        rate: super::Bucket::new(ctx.settings.max_frames_per_sec),
        ctx: ctx.clone(),
    };
    let reason = c.run().await;
    c.finish().await;
    ctx.pending.fetch_sub(c.held, Ordering::Relaxed);
    ctx.stats.open.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(conn, %peer, reason, "connection closed");
}

struct Connection {
    session: Session,
    stream: TcpStream,
    /// Replies in frame order, each waiting for its record's sync.
    acks: VecDeque<(oneshot::Receiver<Pos>, Vec<u8>)>,
    /// Bytes this connection holds, as counted in the global pending total.
    held: usize,
    rate: super::Bucket,
    ctx: Arc<Context>,
}

impl Connection {
    async fn run(&mut self) -> &'static str {
        let idle = Duration::from_secs(self.ctx.settings.idle_timeout_secs);
        let frame_timeout = Duration::from_secs(self.ctx.settings.frame_timeout_secs);
        let max_pending = self.ctx.settings.max_pending_bytes;
        let mut last_read = Instant::now();
        let mut partial_since: Option<Instant> = None;
        let mut out: Vec<Received> = Vec::new();
        loop {
            let deadline = partial_since
                .map(|p| (p + frame_timeout).min(last_read + idle))
                .unwrap_or(last_read + idle);
            let can_read = self.acks.len() < MAX_IN_FLIGHT;
            let head = self.acks.front_mut().map(|(rx, _)| rx);
            let waiting = head.is_some();
            tokio::select! {
                biased;
                done = async { head.expect("guarded").await }, if waiting => {
                    let reply = self.acks.pop_front().expect("guarded").1;
                    if done.is_err() {
                        // The writer failed: the record may not be on disk, so no ack.
                        return "evidence log failed";
                    }
                    if let Err(reason) = self.send_ready(reply).await {
                        return reason;
                    }
                }
                ready = self.stream.readable(), if can_read => {
                    if ready.is_err() {
                        return "read error";
                    }
                    if self.ctx.pending.load(Ordering::Relaxed) > max_pending {
                        self.ctx.stats.limit(Limit::PendingBytes);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    let recv_us = now_us();
                    let closed = {
                        let mut buf = [0u8; READ_CHUNK];
                        match self.stream.try_read(&mut buf) {
                            Ok(0) => true,
                            Ok(n) => {
                                last_read = Instant::now();
                                let stations = self.ctx.stations();
                                let before = self.session.groups_given_up;
                                let close = self.session.feed(&buf[..n], recv_us, &stations, &mut out);
                                if self.session.groups_given_up > before {
                                    self.ctx.stats.limit(Limit::OpenGroups);
                                }
                                if close.is_some() {
                                    self.ctx.stats.limit(Limit::Garbage);
                                }
                                close.is_some()
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                            Err(_) => true,
                        }
                    };
                    self.track_pending();
                    partial_since = match (self.session.buffered(), partial_since) {
                        (0, _) => None,
                        (_, Some(p)) => Some(p),
                        (_, None) => Some(last_read),
                    };
                    let frames = out.len();
                    if !self.submit(&mut out).await {
                        return "evidence log closed";
                    }
                    if closed {
                        return "peer closed or garbage";
                    }
                    self.throttle(frames).await;
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let limit = if partial_since.is_some_and(|p| p + frame_timeout <= Instant::now()) {
                        Limit::FrameTimeout
                    } else {
                        Limit::Idle
                    };
                    self.ctx.stats.limit(limit);
                    return if limit == Limit::Idle { "idle" } else { "frame timeout" };
                }
            }
        }
    }

    /// Sends `reply` and every following one whose record is already durable, in one write.
    async fn send_ready(&mut self, mut reply: Vec<u8>) -> Result<(), &'static str> {
        let mut n = 1;
        while let Some((rx, _)) = self.acks.front_mut() {
            match rx.try_recv() {
                Ok(_) => {
                    reply.extend(self.acks.pop_front().expect("front").1);
                    n += 1;
                }
                Err(oneshot::error::TryRecvError::Empty) => break,
                Err(oneshot::error::TryRecvError::Closed) => return Err("evidence log failed"),
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&reply)).await {
            Ok(Ok(())) => {
                self.ctx.stats.acks.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(_)) => Err("write error"),
            Err(_) => {
                self.ctx.stats.limit(Limit::WriteTimeout);
                Err("write timeout")
            }
        }
    }

    /// Appends the judged frames to the evidence log; replies wait for their record's sync.
    async fn submit(&mut self, out: &mut Vec<Received>) -> bool {
        for r in out.drain(..) {
            self.ctx
                .stats
                .verdict(r.record.verdict, u64::from(r.record.stream_len));
            if let Some((mn, cn)) = r.station {
                self.ctx
                    .stats
                    .station(mn, cn, &r.record.peer, r.record.recv_us);
            }
            if let Some((mn, variant)) = r.crc_suspect {
                self.ctx.stats.crc_suspect(mn, variant, r.record.recv_us);
            }
            let defect = r.defect.filter(|d| self.ctx.stations().contains_key(&d.mn));
            if let Some(d) = defect {
                // The page's copy points at the record, so it waits for the position.
                let at = r.record.recv_us;
                let Ok(pos) = self.ctx.log.append_durable(r.record).await else {
                    return false;
                };
                if !self.ctx.defects.record(d, at, pos) {
                    self.ctx.stats.limit(Limit::DefectQueue);
                }
            } else if r.reply.is_empty() {
                if self.ctx.log.append(r.record).await.is_err() {
                    return false;
                }
            } else {
                match self.ctx.log.append_durable(r.record).await {
                    Ok(rx) => self.acks.push_back((rx, r.reply)),
                    Err(_) => return false,
                }
            }
        }
        true
    }

    /// Keeps the global count of buffered bytes in step with this connection's share.
    fn track_pending(&mut self) {
        let now = self.session.buffered();
        if now > self.held {
            self.ctx
                .pending
                .fetch_add(now - self.held, Ordering::Relaxed);
        } else {
            self.ctx
                .pending
                .fetch_sub(self.held - now, Ordering::Relaxed);
        }
        self.held = now;
    }

    /// Slows a connection (or all of them) down to the frame-rate limits.
    async fn throttle(&mut self, frames: usize) {
        if frames == 0 {
            return;
        }
        let own = self.rate.take(frames as f64);
        let global = self
            .ctx
            .global_rate
            .lock()
            .expect("lock")
            .take(frames as f64);
        if own > Duration::ZERO {
            self.ctx.stats.limit(Limit::ConnectionRate);
        }
        if global > Duration::ZERO {
            self.ctx.stats.limit(Limit::GlobalRate);
        }
        let wait = own.max(global);
        if wait > Duration::ZERO {
            tokio::time::sleep(wait).await;
        }
    }

    /// The stream ended: record what was left, then send the replies still owed.
    async fn finish(&mut self) {
        let mut out = Vec::new();
        let stations = self.ctx.stations();
        self.session.finish(now_us(), &stations, &mut out);
        if !self.submit(&mut out).await {
            return;
        }
        self.track_pending();
        while let Some((rx, reply)) = self.acks.pop_front() {
            if rx.await.is_err() || self.send_ready(reply).await.is_err() {
                return;
            }
        }
        let _ = self.stream.shutdown().await;
    }
}
