-- 报文缺陷: every frame that claims a registered MN and that the receiver (or a packet-log
-- import) refused, with the codec's finding. The evidence log keeps the frame itself (at
-- evidence_pos, its verdict the kind); this table is what the outlet page lists, so the
-- list outlives the receiver process.
CREATE TABLE frame_defects (
    id            BIGSERIAL PRIMARY KEY,
    mn            TEXT NOT NULL,           -- the MN the frame claims (registered when kept)
    received_us   BIGINT NOT NULL,         -- receive time, µs since the Unix epoch
    kind          TEXT NOT NULL,           -- the codec's error kind (crc_mismatch, …)
    message       TEXT NOT NULL,           -- the codec's sentence, naming the byte
    byte_offset   BIGINT NOT NULL,         -- where the problem is, from the frame's "##"
    evidence_pos  BIGINT NOT NULL          -- the evidence record (segment << 32 | offset)
);
CREATE INDEX frame_defects_mn ON frame_defects(mn, received_us, id);
