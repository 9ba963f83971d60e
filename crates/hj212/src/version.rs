//! The protocol editions (HJ/T 212-2005, HJ 212-2017, HJ 212-2025) and their `Flag` bits.

use std::fmt;

/// Protocol edition, from the version bits of `Flag` (bits 2–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HJ/T 212-2005: version bits 0, or no `Flag` at all.
    V2005,
    /// HJ 212-2017: version bits 1 (`Flag` 4–7).
    V2017,
    /// HJ 212-2025: version bits 2 (`Flag` 8–11).
    V2025,
}

impl Version {
    /// `"2005"`, `"2017"` or `"2025"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2005 => "2005",
            Version::V2017 => "2017",
            Version::V2025 => "2025",
        }
    }

    /// The edition encoded in `flag`; `None` for version bits above 2.
    pub fn from_flag(flag: u8) -> Option<Version> {
        match flag >> 2 {
            0 => Some(Version::V2005),
            1 => Some(Version::V2017),
            2 => Some(Version::V2025),
            _ => None,
        }
    }

    /// The version bits of this edition, already shifted into place.
    pub fn flag_bits(self) -> u8 {
        match self {
            Version::V2005 => 0,
            Version::V2017 => 1 << 2,
            Version::V2025 => 2 << 2,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
