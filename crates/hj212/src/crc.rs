//! CRC16 of HJ 212-2017 Appendix A ("ANSI CRC16", unchanged in 2025).
//!
//! It is *not* CRC-16/MODBUS: each byte is XORed into the register's **high**
//! byte, which is then shifted out eight times with polynomial `0xA001`:
//!
//! ```text
//! crc = 0xFFFF
//! for b in data: crc = (crc >> 8) ^ b; repeat 8 { crc = (crc >> 1) ^ (0xA001 if crc & 1) }
//! ```
//!
//! After `crc = (crc >> 8) ^ b` the register holds at most 8 bits, so the
//! new register depends only on `v = high(crc) ^ b`: `crc' = T[v]`, and the
//! next step needs only `H[v] = high(T[v])`. `H` is linear over GF(2), which
//! lets eight bytes be folded with eight independent table look-ups
//! (`H⁸[v] ^ H⁷[b₁] ^ … ^ H¹[b₇] ^ b₈`): the only serial dependency is one
//! look-up per eight bytes.

/// `T[v]`: eight reflected shifts of `v` with polynomial 0xA001.
const TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut v = 0;
    while v < 256 {
        let mut crc = v as u16;
        let mut round = 0;
        while round < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            round += 1;
        }
        table[v] = crc;
        v += 1;
    }
    table
};

/// `FOLD[k][v] = H^(k+1)[v]` where `H[v] = high byte of T[v]`.
const FOLD: [[u8; 256]; 8] = {
    let mut fold = [[0u8; 256]; 8];
    let mut v = 0;
    while v < 256 {
        fold[0][v] = (TABLE[v] >> 8) as u8;
        v += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut v = 0;
        while v < 256 {
            fold[k][v] = fold[0][fold[k - 1][v] as usize];
            v += 1;
        }
        k += 1;
    }
    fold
};

/// The HJ 212 CRC16 of `data` (the data segment only: no `##`, length, CRC or
/// trailer).
///
/// ```
/// assert_eq!(hj212::crc16(b"123456789"), 0x2F80);
/// assert_eq!(hj212::crc16(b""), 0xFFFF);
/// ```
pub fn crc16(data: &[u8]) -> u16 {
    let Some((&first, rest)) = data.split_first() else {
        return 0xFFFF;
    };
    // v = high(register) ^ byte; the register starts at 0xFFFF.
    let mut v = 0xFF ^ first;
    let mut chunks = rest.chunks_exact(8);
    for chunk in &mut chunks {
        let b = u64::from_le_bytes(chunk.try_into().expect("chunk of 8"));
        let byte = |i: u32| (b >> (8 * i)) as u8 as usize;
        v = FOLD[7][v as usize]
            ^ FOLD[6][byte(0)]
            ^ FOLD[5][byte(1)]
            ^ FOLD[4][byte(2)]
            ^ FOLD[3][byte(3)]
            ^ FOLD[2][byte(4)]
            ^ FOLD[1][byte(5)]
            ^ FOLD[0][byte(6)]
            ^ byte(7) as u8;
    }
    for &b in chunks.remainder() {
        v = FOLD[0][v as usize] ^ b;
    }
    TABLE[v as usize]
}

/// CRC-16/MODBUS of `data` with its two bytes swapped: what some data
/// loggers send in place of the HJ 212 CRC (the byte is XORed into the
/// register's *low* byte, and the result printed low byte first). A
/// receiver may accept it only for a logger an administrator has set to it.
///
/// ```
/// assert_eq!(hj212::crc16_modbus_swapped(b"123456789"), 0x374B); // MODBUS 0x4B37
/// ```
pub fn crc16_modbus_swapped(data: &[u8]) -> u16 {
    data.iter()
        .fold(0xFFFFu16, |crc, &b| {
            (crc >> 8) ^ TABLE[usize::from((crc as u8) ^ b)]
        })
        .swap_bytes()
}

/// Which CRC a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CrcVariant {
    /// The standard's (HJ 212-2017 Appendix A).
    #[default]
    Hj212,
    /// CRC-16/MODBUS with its two bytes swapped ([`crc16_modbus_swapped`]).
    ModbusSwapped,
}

impl CrcVariant {
    /// Every variant, the standard first.
    pub const ALL: [CrcVariant; 2] = [CrcVariant::Hj212, CrcVariant::ModbusSwapped];

    /// The variant's CRC of `data`.
    pub fn compute(self, data: &[u8]) -> u16 {
        match self {
            CrcVariant::Hj212 => crc16(data),
            CrcVariant::ModbusSwapped => crc16_modbus_swapped(data),
        }
    }

    /// The stable name (stored in the registry).
    pub fn as_str(self) -> &'static str {
        match self {
            CrcVariant::Hj212 => "hj212",
            CrcVariant::ModbusSwapped => "modbus_swapped",
        }
    }

    /// The variant named `name` ([`CrcVariant::as_str`]).
    pub fn from_name(name: &str) -> Option<CrcVariant> {
        CrcVariant::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// Reads the 4 CRC characters of a frame, upper- or lower-case (senders use
/// both). Returns the index of the first non-hex byte on failure.
pub fn parse_hex(text: &[u8; 4]) -> Result<u16, usize> {
    let mut value = 0u16;
    for (i, &c) in text.iter().enumerate() {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            b'a'..=b'f' => c - b'a' + 10,
            _ => return Err(i),
        };
        value = (value << 4) | u16::from(digit);
    }
    Ok(value)
}

/// The CRC as the standard prints it: 4 upper-case hex digits.
pub fn to_hex(crc: u16) -> [u8; 4] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    [12, 8, 4, 0].map(|shift| DIGITS[usize::from((crc >> shift) & 0xF)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Appendix A, bit by bit, as printed in the standard.
    fn reference(data: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in data {
            crc = (crc >> 8) ^ u16::from(b);
            for _ in 0..8 {
                let lsb = crc & 1;
                crc >>= 1;
                if lsb == 1 {
                    crc ^= 0xA001;
                }
            }
        }
        crc
    }

    #[test]
    fn standard_vectors() {
        let v2017 = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
        assert_eq!(v2017.len(), 101);
        assert_eq!(crc16(v2017), 0x1C80);
        let v2025 = b"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&";
        assert_eq!(v2025.len(), 87);
        assert_eq!(crc16(v2025), 0x2200);
        assert_eq!(crc16(b"123456789"), 0x2F80);
        assert_eq!(crc16(b""), 0xFFFF);
        assert_eq!(crc16(b"\x00"), 0x4040);
    }

    #[test]
    fn not_modbus() {
        // CRC-16/MODBUS of "123456789" is 0x4B37.
        assert_ne!(crc16(b"123456789"), 0x4B37);
    }

    /// CRC-16/MODBUS bit by bit: the byte goes into the register's low byte.
    fn modbus_reference(data: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in data {
            crc ^= u16::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn modbus_swapped_vectors() {
        // The catalogued CRC-16/MODBUS check value of "123456789" is 0x4B37.
        assert_eq!(modbus_reference(b"123456789"), 0x4B37);
        assert_eq!(crc16_modbus_swapped(b"123456789"), 0x374B);
        // The 2017 example's data segment: HJ 212 gives 1C80, MODBUS 0759.
        let v2017 = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
        assert_eq!(modbus_reference(v2017), 0x0759);
        assert_eq!(CrcVariant::ModbusSwapped.compute(v2017), 0x5907);
        assert_eq!(CrcVariant::Hj212.compute(v2017), 0x1C80);
        assert_eq!(crc16_modbus_swapped(b""), 0xFFFF);
        for v in CrcVariant::ALL {
            assert_eq!(CrcVariant::from_name(v.as_str()), Some(v));
        }
    }

    #[test]
    fn hex_text() {
        assert_eq!(parse_hex(b"1C80"), Ok(0x1C80));
        assert_eq!(parse_hex(b"1dc0"), Ok(0x1DC0));
        assert_eq!(parse_hex(b"&&?A"), Err(0));
        assert_eq!(parse_hex(b"12?A"), Err(2));
        assert_eq!(&to_hex(0x0a0f), b"0A0F");
    }

    proptest! {
        #[test]
        fn table_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(crc16(&data), reference(&data));
        }

        #[test]
        fn modbus_swapped_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(crc16_modbus_swapped(&data), modbus_reference(&data).swap_bytes());
        }

        #[test]
        fn hex_round_trip(crc in any::<u16>()) {
            prop_assert_eq!(parse_hex(&to_hex(crc)), Ok(crc));
        }
    }
}
