//! 报文缺陷: the frames of registered data loggers that the receiver or a packet-log import
//! refused, with the codec's finding. A device's defects are evidence of how it behaves, so
//! they are stored (table `frame_defects`, migration 0019) beside the evidence record they
//! came from, and the outlet page lists them whatever process received them and across
//! restarts.
//!
//! The receiver does not wait for the store: a [`Recorder`] task takes each defect with
//! the position its evidence record will get, and writes them in batches.

use tokio::sync::{mpsc, oneshot};

use crate::evidence::{Pos, Verdict};
use crate::ingest::session::Defect;
use ecowarden_core::store::{Db, Result};

/// Defects an outlet page lists.
pub const PAGE_DEFECTS: i64 = 50;
/// Defects waiting for the store at most; beyond it the receiver drops the page's copy
/// (the evidence log still holds the frame and its verdict) and counts the loss.
const QUEUE: usize = 4096;
/// Defects written in one transaction at most.
const BATCH: usize = 256;

/// A refused frame of an MN, as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDefect {
    pub mn: String,
    /// Receive time, microseconds since the Unix epoch.
    pub received_us: i64,
    pub verdict: Verdict,
    /// The codec's sentence, naming the byte.
    pub message: String,
    /// From the frame's first byte (`##`).
    pub offset: u64,
    /// The evidence record holding the frame.
    pub evidence: Pos,
}

impl FrameDefect {
    /// The stored form of a session's finding about the record at `evidence`.
    pub fn new(defect: Defect, received_us: i64, evidence: Pos) -> FrameDefect {
        FrameDefect {
            mn: defect.mn,
            received_us,
            verdict: Verdict::Codec(defect.kind),
            message: defect.message,
            offset: defect.offset,
            evidence,
        }
    }
}

/// Stores defects, in one transaction.
pub async fn save(db: &Db, defects: &[FrameDefect]) -> Result<()> {
    if defects.is_empty() {
        return Ok(());
    }
    let mut w = db.write().await?;
    for d in defects {
        sqlx::query(
            "INSERT INTO frame_defects (mn, received_us, kind, message, byte_offset, evidence_pos) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&d.mn)
        .bind(d.received_us)
        .bind(d.verdict.as_str())
        .bind(&d.message)
        .bind(d.offset as i64)
        .bind(d.evidence.0 as i64)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await?;
    Ok(())
}

/// The latest `limit` defects of `mn`, newest first.
pub async fn latest(db: &Db, mn: &str, limit: i64) -> Result<Vec<FrameDefect>> {
    let rows: Vec<(String, i64, String, String, i64, i64)> = sqlx::query_as(
        "SELECT mn, received_us, kind, message, byte_offset, evidence_pos FROM frame_defects \
         WHERE mn = $1 ORDER BY received_us DESC, id DESC LIMIT $2",
    )
    .bind(mn)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(mn, received_us, kind, message, offset, pos)| {
            Some(FrameDefect {
                mn,
                received_us,
                verdict: Verdict::ALL.into_iter().find(|v| v.as_str() == kind)?,
                message,
                offset: offset as u64,
                evidence: Pos(pos as u64),
            })
        })
        .collect())
}

/// A defect whose evidence position comes when its record is written.
type Pending = (Defect, i64, oneshot::Receiver<Pos>);

/// The receiver's side of the store: hands defects to a task that waits for each record's
/// position and stores them in batches. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Pending>,
}

impl Recorder {
    /// Starts the task writing to `db`.
    pub fn start(db: Db) -> Recorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx));
        Recorder { tx }
    }

    /// Queues a defect of the record whose position `pos` will give; false when the queue
    /// is full (a flood of damaged frames) and the page's copy is dropped.
    pub fn record(&self, defect: Defect, received_us: i64, pos: oneshot::Receiver<Pos>) -> bool {
        self.tx.try_send((defect, received_us, pos)).is_ok()
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Pending>) {
    let mut pending = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut pending, BATCH).await > 0 {
        let mut batch = Vec::with_capacity(pending.len());
        for (defect, received_us, pos) in pending.drain(..) {
            // A record the log never wrote (its writer failed) is no evidence to point at.
            if let Ok(pos) = pos.await {
                batch.push(FrameDefect::new(defect, received_us, pos));
            }
        }
        if let Err(e) = save(&db, &batch).await {
            tracing::error!(
                error = format!("{e:#}"),
                defects = batch.len(),
                "could not store frame defects"
            );
        }
    }
}
