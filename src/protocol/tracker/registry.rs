//! The start of a run: collect every peer's registration, then check the inputs against each
//! other before anyone downloads. Errors name the file and line at fault.

use crate::protocol::error::{Breach, RunError};
use crate::protocol::ids::Rank;
use crate::protocol::message::Registration;
use crate::protocol::tracker::state::{CatalogFile, Tracker};
use crate::scenario::input::{InputError, OwnedFile, PeerInput};
use std::collections::BTreeMap;

pub struct Registry {
    registrations: Vec<Option<Registration>>,
}

impl Registry {
    pub fn new(peers: usize) -> Registry {
        Registry { registrations: vec![None; peers] }
    }

    pub fn add(&mut self, from: Rank, registration: Registration) -> Result<(), Breach> {
        let slot = self
            .registrations
            .get_mut(from.peer_index())
            .ok_or_else(|| Breach(format!("registration from unknown rank {from}")))?;
        if slot.replace(registration).is_some() {
            return Err(Breach(format!("rank {from} registered twice")));
        }
        Ok(())
    }

    pub fn is_complete(&self) -> bool {
        self.registrations.iter().all(Option::is_some)
    }

    /// Checks all inputs together and builds the tracker, or says what is wrong (the first problem,
    /// in rank order).
    pub fn into_tracker(self) -> Result<Tracker, RunError> {
        let mut peers: Vec<(String, PeerInput)> = Vec::with_capacity(self.registrations.len());
        for registration in self.registrations {
            let Registration { path, input } = registration.ok_or_else(|| Breach("registration missing".into()))?;
            peers.push((path, input?));
        }

        // name -> the file as first seen, and where
        let mut catalog: BTreeMap<&str, (&OwnedFile, &str)> = BTreeMap::new();
        for (path, input) in &peers {
            for owned in &input.owned {
                match catalog.get(owned.name.as_str()) {
                    None => {
                        catalog.insert(&owned.name, (owned, path));
                    }
                    Some(&(first, first_path)) => {
                        if let Some((line, problem)) = describe_difference(first, first_path, owned) {
                            return Err(InputError::new(path.clone(), Some(line), problem).into());
                        }
                    }
                }
            }
        }
        for (path, input) in &peers {
            if let Some(w) = input.wanted.iter().find(|w| !catalog.contains_key(w.name.as_str())) {
                return Err(InputError::new(path, Some(w.line), format!("wants '{}', which no peer owns", w.name)).into());
            }
        }

        // Files are numbered in natural order (file2 before file10), as people list them.
        let mut files: Vec<CatalogFile> = catalog
            .iter()
            .map(|(name, (first, _))| CatalogFile { name: name.to_string(), hashes: first.hashes.clone() })
            .collect();
        files.sort_by(|a, b| natural_order(&a.name, &b.name));
        let inputs = peers.into_iter().map(|(_, input)| input).collect::<Vec<_>>();
        Ok(Tracker::new(files, &inputs))
    }
}

/// Compares names so that runs of digits compare as numbers: `file2` < `file10`.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn runs(name: &str) -> Vec<(bool, &str)> {
        let mut runs = Vec::new();
        let mut rest = name;
        while let Some(first) = rest.chars().next() {
            let digits = first.is_ascii_digit();
            let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
            runs.push((digits, &rest[..end]));
            rest = &rest[end..];
        }
        runs
    }
    let key = |run: &(bool, &str)| {
        let (digits, text) = *run;
        // Numbers compare by length once leading zeros are gone, then as text.
        let number = if digits { text.trim_start_matches('0') } else { "" };
        (!digits, number.len(), number.to_string(), text.to_string())
    };
    runs(a).iter().map(key).cmp(runs(b).iter().map(key))
}

/// How `other` differs from `first` (owned at `first_path`), if it does: the line in `other`'s
/// input and the problem.
fn describe_difference(first: &OwnedFile, first_path: &str, other: &OwnedFile) -> Option<(usize, String)> {
    let name = &other.name;
    if first.hashes.len() != other.hashes.len() {
        let (here, there) = (other.hashes.len(), first.hashes.len());
        return Some((other.line, format!("file '{name}' has {here} chunks here but {there} at {first_path}:{}", first.line)));
    }
    let at = first.hashes.iter().zip(&other.hashes).position(|(a, b)| a != b)?;
    let problem = format!("chunk {} of '{name}' has a different hash here than at {first_path}:{}", at + 1, first.hash_lines[at]);
    Some((other.hash_lines[at], problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::input::parse_peer_input;

    const H1: &str = "3fcfb9d1242fdce64aee2bfe35266912";
    const H2: &str = "6dd6078d720fc86c885f7f87faf0d32a";

    fn registry(inputs: &[&str]) -> Registry {
        let mut registry = Registry::new(inputs.len());
        for (i, text) in inputs.iter().enumerate() {
            let path = format!("in{}.txt", i + 1);
            let input = parse_peer_input(&path, text);
            registry.add(Rank::from_peer_index(i), Registration { path, input }).unwrap();
        }
        registry
    }

    fn error_of(inputs: &[&str]) -> String {
        registry(inputs).into_tracker().err().expect("an error").to_string()
    }

    #[test]
    fn accepts_the_same_file_owned_twice() {
        let same = format!("1\nf 2\n{H1}\n{H2}\n0\n");
        assert!(registry(&[&same, &same, "0\n1\nf\n"]).into_tracker().is_ok());
    }

    #[test]
    fn the_first_input_error_in_rank_order_wins() {
        assert_eq!(
            error_of(&["0\n0\n", "0\nx\n", "zzz"]),
            "in2.txt:2: the number of wanted files: expected a whole number, found 'x'"
        );
    }

    #[test]
    fn refuses_one_name_with_two_hash_lists() {
        let a = format!("1\nf 2\n{H1}\n{H2}\n0\n");
        let b = format!("1\nf 2\n{H1}\n{H1}\n0\n");
        assert_eq!(error_of(&[&a, &b]), "in2.txt:4: chunk 2 of 'f' has a different hash here than at in1.txt:4");
        assert_eq!(error_of(&[&a, "0\n0\n", "1\nf 1\nX\n"]), "in3.txt:3: expected hash 1 of 1 of 'f' (32 hex digits), found 'X'");
        assert_eq!(error_of(&[&a, &format!("1\nf 1\n{H1}\n0\n")]), "in2.txt:2: file 'f' has 1 chunks here but 2 at in1.txt:2");
    }

    #[test]
    fn refuses_a_wanted_file_nobody_owns() {
        assert_eq!(error_of(&[&format!("1\nf 1\n{H1}\n0\n"), "0\n2\nf\ng\n"]), "in2.txt:4: wants 'g', which no peer owns");
    }

    #[test]
    fn files_are_numbered_in_natural_order() {
        let mut names = vec!["file10", "file2", "b", "file1", "a10b", "a9b", "file02"];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(names, ["a9b", "a10b", "b", "file1", "file02", "file2", "file10"]);
    }

    #[test]
    fn a_rank_registers_once() {
        let mut registry = Registry::new(1);
        let reg = Registration { path: "in1.txt".into(), input: Ok(PeerInput::default()) };
        registry.add(Rank(1), reg.clone()).unwrap();
        assert!(registry.is_complete());
        assert_eq!(registry.add(Rank(1), reg.clone()).unwrap_err().0, "rank 1 registered twice");
        assert_eq!(registry.add(Rank(5), reg).unwrap_err().0, "registration from unknown rank 5");
    }
}
