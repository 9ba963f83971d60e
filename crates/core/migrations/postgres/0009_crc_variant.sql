-- Which CRC a data logger sends: 'hj212' (the standard's) or 'modbus_swapped' (CRC-16/MODBUS
-- with its bytes swapped, as some loggers do). The receiver accepts the variant only for an
-- outlet a provincial administrator has set to it (audited); until then such frames are
-- rejected and kept as evidence, and the receiver counts them per MN as a suspicion.
ALTER TABLE outlets ADD COLUMN crc_variant TEXT NOT NULL DEFAULT 'hj212';
