//! Per-peer link capacities, from an optional capacity file, so heterogeneous swarms can be
//! simulated: how many chunks a peer's upload thread serves at once, and how many chunk requests
//! it may have out at once (its download limit; none unless the file gives one).
//!
//! The file has one line per peer it changes, `<rank> <upload slots> [<download limit>]`, both
//! whole numbers of at least 1; blank lines and `#` comments are ignored. Peers not listed keep
//! `--upload-slots` and no download limit:
//!
//! ```text
//! # rank  upload-slots  download-limit
//! 1       4
//! 2       1             2
//! ```

use crate::scenario::input::InputError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Capacity {
    /// Chunks its upload thread serves at once, each taking the chunk time.
    pub upload_slots: u32,
    /// Chunk requests it may have out at once; `None`: as many as a downloader keeps.
    pub download_limit: Option<u32>,
}

impl Capacity {
    pub fn uniform(upload_slots: u32) -> Capacity {
        Capacity { upload_slots: upload_slots.max(1), download_limit: None }
    }
}

/// Every peer's capacity (rank 1 first), from the file at `path` over `default_slots`.
pub fn read_capacities(path: &Path, peers: usize, default_slots: u32) -> Result<Vec<Capacity>, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError::new(&shown, None, format!("cannot read: {e}")))?;
    parse_capacities(&text, &shown, peers, default_slots)
}

pub fn parse_capacities(text: &str, shown: &str, peers: usize, default_slots: u32) -> Result<Vec<Capacity>, InputError> {
    let mut capacities = vec![Capacity::uniform(default_slots); peers];
    let mut listed = vec![false; peers];
    for (at, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let error = |problem: String| InputError::new(shown, Some(at + 1), problem);
        let fields: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() > 3 {
            return Err(error(format!("expected '<rank> <upload slots> [<download limit>]', got {} items", fields.len())));
        }
        let number = |what: &str, field: &str| match field.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(error(format!("{what} '{field}' is not a whole number of at least 1"))),
        };
        let rank = number("rank", fields[0])? as usize;
        if rank > peers {
            return Err(error(format!("rank {rank} is not a peer: the run has peers 1 to {peers}")));
        }
        if std::mem::replace(&mut listed[rank - 1], true) {
            return Err(error(format!("rank {rank} is listed twice")));
        }
        let upload_slots = match fields.get(1) {
            Some(field) => number("upload slots", field)?,
            None => return Err(error(format!("rank {rank} has no upload slots"))),
        };
        let download_limit = fields.get(2).map(|field| number("download limit", field)).transpose()?;
        capacities[rank - 1] = Capacity { upload_slots, download_limit };
    }
    Ok(capacities)
}

/// The file's text for `capacities`, one line per peer.
pub fn capacities_text(capacities: &[Capacity]) -> String {
    let mut text = String::from("# rank  upload-slots  download-limit\n");
    for (i, capacity) in capacities.iter().enumerate() {
        let limit = capacity.download_limit.map_or(String::new(), |d| format!(" {d}"));
        text += &format!("{} {}{limit}\n", i + 1, capacity.upload_slots);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Capacity>, InputError> {
        parse_capacities(text, "caps.txt", 3, 2)
    }

    #[test]
    fn listed_peers_get_their_capacities_and_the_others_the_default() {
        let capacities = parse("\u{feff}# comment\r\n\n2 4\n3 1 2  # a slow one\n").unwrap();
        assert_eq!(capacities[0], Capacity { upload_slots: 2, download_limit: None });
        assert_eq!(capacities[1], Capacity { upload_slots: 4, download_limit: None });
        assert_eq!(capacities[2], Capacity { upload_slots: 1, download_limit: Some(2) });
        assert_eq!(parse_capacities(&capacities_text(&capacities), "x", 3, 9).unwrap(), capacities);
    }

    #[test]
    fn mistakes_are_named_with_the_file_and_line() {
        assert_eq!(parse("1 2\n4 1").unwrap_err().to_string(), "caps.txt:2: rank 4 is not a peer: the run has peers 1 to 3");
        assert_eq!(parse("1 0").unwrap_err().to_string(), "caps.txt:1: upload slots '0' is not a whole number of at least 1");
        assert_eq!(parse("1 2\n\n1 3").unwrap_err().to_string(), "caps.txt:3: rank 1 is listed twice");
        assert_eq!(parse("2").unwrap_err().to_string(), "caps.txt:1: rank 2 has no upload slots");
        assert_eq!(parse("x 1").unwrap_err().to_string(), "caps.txt:1: rank 'x' is not a whole number of at least 1");
        assert_eq!(
            parse("1 1 -3").unwrap_err().to_string(),
            "caps.txt:1: download limit '-3' is not a whole number of at least 1"
        );
        assert_eq!(
            parse("1 1 1 1").unwrap_err().to_string(),
            "caps.txt:1: expected '<rank> <upload slots> [<download limit>]', got 4 items"
        );
    }
}
