//! `mpitorrent verify`: whether a run's outputs are what its inputs call for, one verdict per
//! wanted file of every peer, naming the first wrong line.

use crate::protocol::hash::ChunkHash;
use crate::scenario::input::{input_path, read_peer_input, InputError};
use crate::scenario::output::output_file_name;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The verdict on one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every hash, in order.
    Complete {
        chunks: usize,
    },
    Missing,
    /// The first line that differs (1-based); `found` is `None` past the file's end.
    WrongLine {
        line: usize,
        expected: Option<ChunkHash>,
        found: Option<String>,
    },
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Complete { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Complete { chunks } => write!(f, "ok, {chunks} chunks"),
            Verdict::Missing => write!(f, "missing"),
            Verdict::WrongLine { line, expected: Some(hash), found: Some(text) } => {
                write!(f, "line {line}: expected {hash}, found '{text}'")
            }
            Verdict::WrongLine { line, expected: Some(hash), found: None } => {
                write!(f, "line {line}: expected {hash}, found the end of the file")
            }
            Verdict::WrongLine { line, expected: None, .. } => write!(f, "line {line}: one line too many"),
        }
    }
}

/// One wanted file of one peer, and what its output holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub rank: u32,
    pub file: String,
    pub verdict: Verdict,
}

/// One output a run must write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub rank: u32,
    pub file: String,
    pub hashes: Vec<ChunkHash>,
}

impl Expected {
    /// `client<R>_<file>`.
    pub fn name(&self) -> String {
        output_file_name(self.rank, &self.file)
    }
}

/// Every output a run of the `in<R>.txt` in `inputs` (from `in1.txt` up to the first missing
/// one) must write, worked out from the inputs alone. Inputs that cannot be read, or a wanted
/// file nobody owns, are errors naming the file and line.
pub fn expected_outputs(inputs: &Path) -> Result<Vec<Expected>, InputError> {
    let mut peers = Vec::new();
    while input_path(inputs, peers.len() as u32 + 1).exists() {
        let path = input_path(inputs, peers.len() as u32 + 1);
        peers.push((path.display().to_string(), read_peer_input(&path)?));
    }
    if peers.is_empty() {
        return Err(InputError::new(
            input_path(inputs, 1).display().to_string(),
            None,
            "no such file: no inputs to verify against",
        ));
    }
    let owned: BTreeMap<&str, &[ChunkHash]> =
        peers.iter().flat_map(|(_, input)| &input.owned).map(|o| (o.name.as_str(), &o.hashes[..])).collect();
    let mut expected = Vec::new();
    for (index, (path, input)) in peers.iter().enumerate() {
        for wanted in &input.wanted {
            let Some(hashes) = owned.get(wanted.name.as_str()) else {
                return Err(InputError::new(path, Some(wanted.line), format!("wants '{}', which no peer owns", wanted.name)));
            };
            expected.push(Expected { rank: index as u32 + 1, file: wanted.name.clone(), hashes: hashes.to_vec() });
        }
    }
    Ok(expected)
}

/// Checks each output in `out` that the inputs in `inputs` call for (see [`expected_outputs`]).
pub fn verify_outputs(inputs: &Path, out: &Path) -> Result<Vec<Check>, InputError> {
    let checks = expected_outputs(inputs)?.into_iter().map(|expected| {
        let verdict = match std::fs::read_to_string(out.join(expected.name())) {
            Ok(text) => judge(&expected.hashes, &text),
            Err(_) => Verdict::Missing,
        };
        Check { rank: expected.rank, file: expected.file, verdict }
    });
    Ok(checks.collect())
}

/// The first way an output folder differs from what it must hold.
#[derive(Debug, thiserror::Error)]
pub enum Mismatch {
    #[error("{}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{}: spaces or line endings beyond the hashes", .path.display())]
    Padded { path: PathBuf },
    #[error("{}: {verdict}", .path.display())]
    Wrong { path: PathBuf, verdict: Verdict },
    #[error("{}: not a wanted output", .path.display())]
    Unwanted { path: PathBuf },
}

/// Checks that `out` holds exactly the `expected` outputs, each with exactly its hashes in order,
/// and nothing else (no temporary file); the error names the first output that is wrong.
pub fn check_expected<H: AsRef<[ChunkHash]>>(expected: &[(String, H)], out: &Path) -> Result<(), Mismatch> {
    for (name, hashes) in expected {
        let path = out.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => return Err(Mismatch::Unreadable { path, source }),
        };
        match judge(hashes.as_ref(), &text) {
            // As written: a hash and a newline a line, nothing more.
            Verdict::Complete { chunks } if text.len() != chunks * 33 => return Err(Mismatch::Padded { path }),
            Verdict::Complete { .. } => {}
            verdict => return Err(Mismatch::Wrong { path, verdict }),
        }
    }
    let mut present: Vec<String> = match std::fs::read_dir(out) {
        Ok(entries) => entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect(),
        Err(_) => Vec::new(),
    };
    present.retain(|name| !expected.iter().any(|(n, _)| n == name));
    match present.first() {
        Some(extra) => Err(Mismatch::Unwanted { path: out.join(extra) }),
        None => Ok(()),
    }
}

/// The verdict on the output at `path`, which must hold `hashes`.
pub fn judge_file(hashes: &[ChunkHash], path: &Path) -> Verdict {
    match std::fs::read(path) {
        Ok(bytes) => judge(hashes, &String::from_utf8_lossy(&bytes)),
        Err(_) => Verdict::Missing,
    }
}

/// Compares an output's lines with the hashes it must hold; spaces are forgiven, as the classic
/// grading's `diff -w` forgives them.
fn judge(hashes: &[ChunkHash], text: &str) -> Verdict {
    let lines: Vec<String> = text.lines().map(|line| line.split_whitespace().collect()).collect();
    let differs =
        (0..hashes.len().max(lines.len())).find(|&i| lines.get(i).map(String::as_str) != hashes.get(i).map(|h| h.as_str()));
    match differs {
        None => Verdict::Complete { chunks: hashes.len() },
        Some(i) => {
            Verdict::WrongLine { line: i + 1, expected: hashes.get(i).copied(), found: lines.get(i).map(|l| l.to_string()) }
        }
    }
}

/// The verdicts as a table, one row per client and file.
pub fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.file.len()).max().unwrap_or(4).max(4);
    let mut text = format!("{:<6}  {:<width$}  verdict\n", "client", "file");
    for check in checks {
        text += &format!("{:<6}  {:<width$}  {}\n", check.rank, check.file, check.verdict);
    }
    let failed = checks.iter().filter(|c| !c.verdict.is_ok()).count();
    text += &match failed {
        0 => format!("all {} outputs are complete and correct\n", checks.len()),
        n => format!("{n} of {} outputs are wrong or missing\n", checks.len()),
    };
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u128) -> Vec<ChunkHash> {
        (1..=n).map(ChunkHash::from_u128).collect()
    }

    fn text(hashes: &[ChunkHash]) -> String {
        hashes.iter().map(|h| format!("{}\n", h.as_str())).collect()
    }

    #[test]
    fn a_verdict_names_the_first_wrong_line() {
        let want = hashes(3);
        assert_eq!(judge(&want, &text(&want)), Verdict::Complete { chunks: 3 });
        assert_eq!(judge(&want, &text(&want).replace('\n', "  \n")), Verdict::Complete { chunks: 3 }, "diff -w");
        let spaced = format!("  {}\r\n{} \t\n{}", want[0], want[1], want[2]);
        assert_eq!(judge(&want, &spaced), Verdict::Complete { chunks: 3 }, "leading spaces, CRLF, no last newline");
        let swapped = text(&[want[0], want[2], want[1]]);
        let verdict = judge(&want, &swapped);
        assert_eq!(verdict.to_string(), format!("line 2: expected {}, found '{}'", want[1], want[2]));
        assert_eq!(
            judge(&want, &text(&want[..2])).to_string(),
            format!("line 3: expected {}, found the end of the file", want[2])
        );
        assert_eq!(judge(&want[..2], &text(&want)).to_string(), "line 3: one line too many");
    }
}
