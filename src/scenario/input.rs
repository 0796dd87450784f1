//! Parser for a peer's `in<R>.txt`: owned files with their chunk hashes, then wanted file names.
//!
//! Format, one item a line: the number of owned files; for each, `<name> <chunk count>` and that
//! many 32-hex-digit hashes; the number of wanted files; their names. Blank lines are skipped,
//! surrounding spaces and `\r` line endings are ignored, and the last line may lack its newline.
//! Every error names the file, the line and the problem.

use crate::protocol::hash::ChunkHash;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedFile {
    pub name: String,
    pub hashes: Vec<ChunkHash>,
    /// Line of the `<name> <chunk count>` header, for errors found later by the tracker.
    pub line: usize,
    /// Line of each hash, likewise.
    pub hash_lines: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantedFile {
    pub name: String,
    pub line: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInput {
    pub owned: Vec<OwnedFile>,
    pub wanted: Vec<WantedFile>,
}

/// A problem in an input file; `line` is 1-based, absent when the file as a whole is at fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct InputError {
    pub path: String,
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.problem),
            None => write!(f, "{}: {}", self.path, self.problem),
        }
    }
}

/// A value that breaks a rule, said in words; an [`InputError`] adds the file and line it is on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl InputError {
    pub fn new(path: impl Into<String>, line: Option<usize>, problem: impl Into<String>) -> Self {
        InputError { path: path.into(), line, problem: problem.into() }
    }
}

/// The name of peer `rank`'s input file.
pub fn input_file_name(rank: u32) -> String {
    format!("in{rank}.txt")
}

/// Where peer `rank`'s input is, as messages should name it: plain `in3.txt` in the working
/// directory, `dir/in3.txt` elsewhere.
pub fn input_path(dir: &Path, rank: u32) -> std::path::PathBuf {
    if dir == Path::new(".") {
        input_file_name(rank).into()
    } else {
        dir.join(input_file_name(rank))
    }
}

/// Reads and parses one input file.
pub fn read_peer_input(path: &Path) -> Result<PeerInput, InputError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        let problem = match e.kind() {
            std::io::ErrorKind::NotFound => "input file not found".to_string(),
            _ => format!("cannot read input file: {e}"),
        };
        InputError::new(&shown, None, problem)
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        InputError::new(&shown, Some(line), "not text: the line holds bytes that are not UTF-8")
    })?;
    parse_peer_input(&shown, text)
}

/// Checks a file name: it becomes part of an output path, so it must not leave the output folder.
pub fn check_file_name(name: &str) -> Result<(), Invalid> {
    if name.contains('/') || name.contains('\\') {
        return Err(Invalid(format!("file name '{name}' contains a path separator")));
    }
    if name == "." || name.contains("..") {
        return Err(Invalid(format!("file name '{name}' is not allowed: it could name a folder")));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid(format!("file name {name:?} contains a control character")));
    }
    Ok(())
}

pub fn parse_peer_input(path: &str, text: &str) -> Result<PeerInput, InputError> {
    // Editors on Windows may start a file with a byte-order mark; it is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Lines::new(path, text);
    let mut input = PeerInput::default();
    let mut owned_names = HashSet::new();

    let owned_count = lines.count("the number of owned files")?;
    for _ in 0..owned_count {
        let (line, header) = lines.next("an owned file's '<name> <chunk count>'")?;
        let (name, chunks) = match header.split_whitespace().collect::<Vec<_>>()[..] {
            [name, chunks] => (name, chunks),
            _ => return Err(lines.error(line, format!("expected '<name> <chunk count>', found '{}'", shorten(header)))),
        };
        check_file_name(name).map_err(|p| lines.error(line, p.0))?;
        if !owned_names.insert(name.to_string()) {
            return Err(lines.error(line, format!("file '{name}' is listed twice among owned files")));
        }
        let chunk_count = parse_count(chunks).map_err(|p| lines.error(line, format!("chunk count of '{name}': {p}")))?;
        if chunk_count == 0 {
            return Err(lines.error(line, format!("file '{name}' has no chunks; a file needs at least one")));
        }
        let (mut hashes, mut hash_lines) = (Vec::new(), Vec::new());
        for i in 0..chunk_count {
            let what = format!("hash {} of {chunk_count} of '{name}'", i + 1);
            let (hash_line, text) = lines.next(&what)?;
            let hash = ChunkHash::parse(text)
                .ok_or_else(|| lines.error(hash_line, format!("expected {what} (32 hex digits), found '{}'", shorten(text))))?;
            hashes.push(hash);
            hash_lines.push(hash_line);
        }
        input.owned.push(OwnedFile { name: name.to_string(), hashes, line, hash_lines });
    }

    let wanted_count = lines.count("the number of wanted files")?;
    let mut wanted_names = HashSet::new();
    for i in 0..wanted_count {
        let (line, name) = lines.next(&format!("wanted file name {} of {wanted_count}", i + 1))?;
        if name.split_whitespace().count() != 1 {
            return Err(lines.error(line, format!("expected one wanted file name, found '{}'", shorten(name))));
        }
        check_file_name(name).map_err(|p| lines.error(line, p.0))?;
        if owned_names.contains(name) {
            return Err(lines.error(line, format!("wants '{name}', which this peer already owns")));
        }
        if !wanted_names.insert(name.to_string()) {
            return Err(lines.error(line, format!("file '{name}' is listed twice among wanted files")));
        }
        input.wanted.push(WantedFile { name: name.to_string(), line });
    }

    if let Some((line, extra)) = lines.next_nonblank() {
        return Err(lines.error(line, format!("unexpected content after the wanted files: '{}'", shorten(extra))));
    }
    Ok(input)
}

fn parse_count(token: &str) -> Result<usize, Invalid> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid(format!("expected a whole number, found '{}'", shorten(token))));
    }
    token.parse().map_err(|_| Invalid(format!("'{}' is too large", shorten(token))))
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Numbered, trimmed, non-blank lines of one input file.
struct Lines<'a> {
    path: &'a str,
    inner: std::iter::Enumerate<std::str::Lines<'a>>,
    /// The last non-blank line read, which an error at the end of the file names.
    last_line: usize,
}

impl<'a> Lines<'a> {
    fn new(path: &'a str, text: &'a str) -> Self {
        Lines { path, inner: text.lines().enumerate(), last_line: 0 }
    }

    fn next_nonblank(&mut self) -> Option<(usize, &'a str)> {
        let (index, line) = self.inner.by_ref().map(|(i, raw)| (i, raw.trim())).find(|(_, line)| !line.is_empty())?;
        self.last_line = index + 1;
        Some((index + 1, line))
    }

    fn next(&mut self, what: &str) -> Result<(usize, &'a str), InputError> {
        self.next_nonblank().ok_or_else(|| {
            let line = (self.last_line > 0).then_some(self.last_line);
            InputError::new(self.path, line, format!("file ends where {what} was expected"))
        })
    }

    fn count(&mut self, what: &str) -> Result<usize, InputError> {
        let (line, text) = self.next(what)?;
        parse_count(text).map_err(|problem| {
            // A file header or a hash where a count belongs: the count before it was too small.
            let misplaced = text.split_whitespace().count() == 2 || ChunkHash::parse(text).is_some();
            let hint = if misplaced && line > 1 { " (is a count above too small?)" } else { "" };
            self.error(line, format!("{what}: {problem}{hint}"))
        })
    }

    fn error(&self, line: usize, problem: impl Into<String>) -> InputError {
        InputError::new(self.path, Some(line), problem)
    }
}

/// Rank 0's check that the inputs folder holds no `in<R>.txt` beyond the peers of this run
/// (missing ones are reported by the peers that look for them). A folder rank 0 cannot see, as on
/// another host, is left to the peers.
pub fn check_input_count(dir: &Path, peers: usize) -> Result<(), InputError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut extra: Vec<usize> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let digits = name.strip_prefix("in")?.strip_suffix(".txt")?;
            // Only names a rank would read: in7.txt, not in07.txt or in+7.txt.
            let rank = digits.parse::<usize>().ok()?;
            (input_file_name(rank as u32) == name).then_some(rank)
        })
        .filter(|&rank| rank == 0 || rank > peers)
        .collect();
    extra.sort_unstable();
    match extra.first() {
        None => Ok(()),
        Some(&rank) => Err(InputError::new(
            input_path(dir, rank as u32).display().to_string(),
            None,
            format!(
                "present, but -np {} runs peers 1 to {peers} only: start one rank per input file plus the tracker, or remove it",
                peers + 1
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "3fcfb9d1242fdce64aee2bfe35266912";
    const H2: &str = "6dd6078d720fc86c885f7f87faf0d32a";

    fn parse(text: &str) -> Result<PeerInput, InputError> {
        parse_peer_input("in1.txt", text)
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_classic_layout() {
        let input = parse(&format!("1\nfile1 2\n{H1}\n{H2}\n2\nfile2\nfile3")).unwrap();
        assert_eq!(input.owned.len(), 1);
        assert_eq!(input.owned[0].name, "file1");
        assert_eq!(input.owned[0].line, 2);
        assert_eq!(input.owned[0].hashes[1].as_str(), H2);
        let wanted: Vec<_> = input.wanted.iter().map(|w| (w.name.as_str(), w.line)).collect();
        assert_eq!(wanted, [("file2", 6), ("file3", 7)]);
    }

    #[test]
    fn tolerates_crlf_trailing_spaces_and_blank_lines() {
        let input = parse(&format!("1\r\nfile1 1  \r\n\r\n{H1}\r\n0\r\n\r\n")).unwrap();
        assert_eq!(input.owned[0].hashes[0].as_str(), H1);
        assert!(input.wanted.is_empty());
    }

    #[test]
    fn a_peer_may_own_and_want_nothing() {
        assert_eq!(parse("0\n0\n").unwrap(), PeerInput::default());
    }

    #[test]
    fn names_the_line_of_a_bad_hash() {
        assert_eq!(
            error_of(&format!("1\nfile1 2\n{H1}\nxyz\n0\n")),
            "in1.txt:4: expected hash 2 of 2 of 'file1' (32 hex digits), found 'xyz'"
        );
    }

    #[test]
    fn names_a_count_that_does_not_match_the_lines() {
        assert_eq!(
            error_of(&format!("1\nfile1 3\n{H1}\n{H2}\n")),
            "in1.txt:4: file ends where hash 3 of 3 of 'file1' was expected"
        );
        assert_eq!(
            error_of(&format!("1\nfile1 1\n{H1}\n{H2}\n0\n")),
            format!("in1.txt:4: the number of wanted files: expected a whole number, found '{H2}' (is a count above too small?)")
        );
    }

    #[test]
    fn refuses_counts_that_are_not_whole_numbers() {
        assert_eq!(error_of("-1\n0\n"), "in1.txt:1: the number of owned files: expected a whole number, found '-1'");
        assert_eq!(error_of("two\n"), "in1.txt:1: the number of owned files: expected a whole number, found 'two'");
        assert_eq!(error_of("1\nfile1 x\n"), "in1.txt:2: chunk count of 'file1': expected a whole number, found 'x'");
        assert_eq!(
            error_of("99999999999999999999999\n"),
            "in1.txt:1: the number of owned files: '99999999999999999999999' is too large"
        );
    }

    #[test]
    fn a_huge_count_is_an_error_not_an_allocation() {
        assert_eq!(
            error_of("1\nfile1 18446744073709551615\n"),
            "in1.txt:2: file ends where hash 1 of 18446744073709551615 of 'file1' was expected"
        );
    }

    #[test]
    fn a_count_too_small_is_hinted_at_and_the_end_is_the_last_real_line() {
        assert_eq!(
            error_of(&format!("1\nf 1\n{H1}\ng 1\n{H2}\n0\n")),
            "in1.txt:4: the number of wanted files: expected a whole number, found 'g 1' (is a count above too small?)"
        );
        assert_eq!(error_of(&format!("1\nf 2\n{H1}\n\n\n")), "in1.txt:3: file ends where hash 2 of 2 of 'f' was expected");
    }

    #[test]
    fn a_byte_order_mark_is_not_content() {
        assert_eq!(parse("\u{feff}0\n0\n").unwrap(), PeerInput::default());
    }

    #[test]
    fn hash_lines_are_kept_for_later_errors() {
        let input = parse(&format!("1\nf 2\n{H1}\n\n{H2}\n0\n")).unwrap();
        assert_eq!(input.owned[0].hash_lines, [3, 5]);
    }

    #[test]
    fn refuses_an_empty_file() {
        assert_eq!(error_of(""), "in1.txt: file ends where the number of owned files was expected");
    }

    #[test]
    fn refuses_duplicate_and_unsafe_names() {
        assert_eq!(error_of(&format!("2\nf 1\n{H1}\nf 1\n{H1}\n0\n")), "in1.txt:4: file 'f' is listed twice among owned files");
        assert_eq!(error_of("0\n2\ng\ng\n"), "in1.txt:4: file 'g' is listed twice among wanted files");
        assert_eq!(error_of("0\n1\n../etc\n"), "in1.txt:3: file name '../etc' contains a path separator");
        assert_eq!(error_of("0\n1\n..\n"), "in1.txt:3: file name '..' is not allowed: it could name a folder");
        assert_eq!(error_of(&format!("1\nf 1\n{H1}\n1\nf\n")), "in1.txt:5: wants 'f', which this peer already owns");
    }

    #[test]
    fn refuses_malformed_headers_and_trailing_content() {
        assert_eq!(error_of("1\nfile1\n"), "in1.txt:2: expected '<name> <chunk count>', found 'file1'");
        assert_eq!(error_of("1\nfile1 0\n0\n"), "in1.txt:2: file 'file1' has no chunks; a file needs at least one");
        assert_eq!(error_of("0\n1\nfile2\nfile3\n"), "in1.txt:4: unexpected content after the wanted files: 'file3'");
    }

    #[test]
    fn counts_inputs_against_the_ranks() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["in1.txt", "in2.txt", "notes.txt", "in2.txt.bak", "in07.txt", "in+9.txt"] {
            std::fs::write(dir.path().join(name), "0\n0\n").unwrap();
        }
        assert!(check_input_count(dir.path(), 2).is_ok());
        let err = check_input_count(dir.path(), 1).unwrap_err().to_string();
        assert!(err.ends_with("in2.txt: present, but -np 2 runs peers 1 to 1 only: start one rank per input file plus the tracker, or remove it"), "{err}");
        std::fs::write(dir.path().join("in0.txt"), "").unwrap();
        assert!(check_input_count(dir.path(), 2).unwrap_err().to_string().contains("in0.txt"));
    }

    #[test]
    fn reads_files_and_reports_missing_and_binary_ones() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("in7.txt");
        let err = read_peer_input(&missing).unwrap_err();
        assert_eq!(err.line, None);
        assert!(err.to_string().ends_with("in7.txt: input file not found"), "{err}");

        let binary = dir.path().join("in2.txt");
        std::fs::write(&binary, b"1\nf 1\n\xff\xfe\x00garbage\n").unwrap();
        let err = read_peer_input(&binary).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.problem.contains("not UTF-8"), "{err}");
    }
}
