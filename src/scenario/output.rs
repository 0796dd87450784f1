//! Output files `client<R>_<file>`: written whole or not at all.

use crate::protocol::hash::ChunkHash;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn output_file_name(rank: u32, file: &str) -> String {
    format!("client{rank}_{file}")
}

/// Writes the hashes, one per line, to `dir/name`, creating `dir` if needed, atomically.
pub fn write_atomically(dir: &Path, name: &str, hashes: &[ChunkHash]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut text = String::with_capacity(hashes.len() * 33);
    for hash in hashes {
        text.push_str(hash.as_str());
        text.push('\n');
    }
    replace_atomically(&dir.join(name), text.as_bytes())
}

/// Writes `contents` to a temporary file beside `path`, then renames it into place, so a reader
/// never sees a partial file, even if the run dies halfway; on failure nothing is left behind.
pub fn replace_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.part", std::process::id()));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut f| f.write_all(contents))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write: {source}", .path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Why outputs cannot be written to a folder: said of the folder, for a message that names it.
#[derive(Debug, thiserror::Error)]
pub enum Unwritable {
    #[error("cannot resolve the output folder: {0}")]
    Unresolvable(#[source] std::io::Error),
    #[error("no part of the output folder exists")]
    Nowhere,
    #[error("cannot create the folder: {} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("cannot write in {}: {source}", .folder.display())]
    Denied { folder: PathBuf, source: std::io::Error },
}

/// Checks, before the run starts, that outputs could be written to `dir`, without creating it:
/// the folder, or the nearest of its ancestors that exists, must be a folder this rank can write
/// in.
pub fn check_writable(dir: &Path) -> Result<(), Unwritable> {
    let absolute = std::path::absolute(dir).map_err(Unwritable::Unresolvable)?;
    let existing = absolute.ancestors().find(|a| a.exists()).ok_or(Unwritable::Nowhere)?;
    if !existing.is_dir() {
        return Err(Unwritable::NotAFolder(existing.to_path_buf()));
    }
    let probe = existing.join(format!(".mpitorrent-probe.{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|source| Unwritable::Denied { folder: existing.to_path_buf(), source })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_hash_per_line_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let hashes = [ChunkHash::from_u128(1), ChunkHash::from_u128(2)];
        write_atomically(dir.path(), "client1_f", &hashes).unwrap();
        let text = std::fs::read_to_string(dir.path().join("client1_f")).unwrap();
        assert_eq!(text, format!("{}\n{}\n", hashes[0], hashes[1]));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["client1_f"]);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("client1_f/in-the-way")).unwrap();
        assert!(write_atomically(dir.path(), "client1_f", &[ChunkHash::from_u128(1)]).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["client1_f"], "only the folder that was in the way");
    }

    #[test]
    fn an_unwritable_folder_is_refused_up_front_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "").unwrap();
        let err = check_writable(&file.join("sub")).unwrap_err().to_string();
        assert!(err.contains("plain-file is not a folder"), "{err}");
        assert!(check_writable(&dir.path().join("new/deeper")).is_ok());
        assert!(!dir.path().join("new").exists(), "the check creates nothing");
        write_atomically(&dir.path().join("new/deeper"), "client1_f", &[ChunkHash::from_u128(3)]).unwrap();
        assert!(dir.path().join("new/deeper/client1_f").exists());
    }
}
