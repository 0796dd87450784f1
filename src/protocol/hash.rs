//! Chunk hashes: 32 hex characters, kept exactly as written so outputs match inputs byte for byte.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const HASH_LEN: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkHash([u8; HASH_LEN]);

impl ChunkHash {
    /// Accepts exactly 32 ASCII hex digits (either case); anything else is `None`.
    pub fn parse(text: &str) -> Option<ChunkHash> {
        let bytes: [u8; HASH_LEN] = text.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_hexdigit).then_some(ChunkHash(bytes))
    }

    /// Builds a hash from 128 bits, as generators and tests need.
    pub fn from_u128(value: u128) -> ChunkHash {
        ChunkHash::parse(&format!("{value:032x}")).expect("32 hex digits")
    }

    /// Another hash: the same but for its first digit, as a lying uploader sends it (`--corrupt`).
    pub fn garbled(self) -> ChunkHash {
        let mut bytes = self.0;
        bytes[0] = if bytes[0] == b'0' { b'1' } else { b'0' };
        ChunkHash(bytes)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).expect("ASCII")
    }
}

impl fmt::Display for ChunkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ChunkHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkHash({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_32_hex_digits_and_keeps_their_case() {
        let h = ChunkHash::parse("3fcfb9d1242fdce64aee2bfe35266912").unwrap();
        assert_eq!(h.as_str(), "3fcfb9d1242fdce64aee2bfe35266912");
        let upper = ChunkHash::parse("3FCFB9D1242FDCE64AEE2BFE35266912").unwrap();
        assert_eq!(upper.to_string(), "3FCFB9D1242FDCE64AEE2BFE35266912");
    }

    #[test]
    fn refuses_wrong_length_and_non_hex() {
        assert!(ChunkHash::parse("3fcfb9d1242fdce64aee2bfe3526691").is_none());
        assert!(ChunkHash::parse("3fcfb9d1242fdce64aee2bfe352669122").is_none());
        assert!(ChunkHash::parse("3fcfb9d1242fdce64aee2bfe3526691g").is_none());
        assert!(ChunkHash::parse("+fcfb9d1242fdce64aee2bfe35266912").is_none());
        assert!(ChunkHash::parse("").is_none());
    }

    #[test]
    fn a_garbled_hash_is_another_valid_one() {
        for value in [0, 255, u128::MAX] {
            let hash = ChunkHash::from_u128(value);
            let garbled = hash.garbled();
            assert_ne!(garbled, hash);
            assert_eq!(ChunkHash::parse(garbled.as_str()), Some(garbled));
        }
    }

    #[test]
    fn from_u128_round_trips() {
        assert_eq!(ChunkHash::from_u128(255).as_str(), "000000000000000000000000000000ff");
    }
}
