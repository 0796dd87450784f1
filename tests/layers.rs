//! The layers of `src/`: each folder uses only its own layer and those below it, the protocol
//! uses no MPI, terminal or command-line crate, and no two modules use each other. Test modules
//! (from a file's first `#[cfg(test)]` on) may build fixtures with any layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first; `scenario` holds the files beside the protocol, at its level.
const LAYERS: [(&str, u32); 9] = [
    ("protocol", 0),
    ("scenario", 0),
    ("transport", 1),
    ("record", 2),
    ("analysis", 3),
    ("tools", 4),
    ("tui", 4),
    ("commands", 5),
    ("cli", 5),
];
/// Crates the protocol must not name.
const NOT_IN_PROTOCOL: [&str; 4] = ["mpi::", "ratatui::", "crossterm::", "clap::"];

fn rank(layer: &str) -> Option<u32> {
    LAYERS.iter().find(|(name, _)| *name == layer).map(|&(_, rank)| rank)
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// A file's code without its tests and its `//` comments (doc links count: they are uses). A
/// test item starts at a `#[cfg(test)]` at the start of a line and ends with its first line
/// that ends in `;`, or at the next `}` that starts a line; a file named `tests.rs` is all tests.
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let (mut kept, mut lines) = (Vec::new(), text.lines());
    while let Some(line) = lines.next() {
        if line == "#[cfg(test)]" {
            for item in lines.by_ref() {
                if item == "}" || (!item.starts_with('#') && item.ends_with(';') && !item.starts_with(' ')) {
                    break;
                }
            }
        } else if !line.trim_start().starts_with("// ") {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// `layer::module` of a path below `src/`, or the layer alone for its `mod.rs`.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    match parts.as_slice() {
        [layer, module, ..] if module != "mod" => format!("{layer}::{module}"),
        [layer, ..] => layer.clone(),
        [] => unreachable!("a file has a name"),
    }
}

/// Every `crate::a::b` a text names, as `a::b` (or `a` when `b` is an item, not a module).
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let path: Vec<&str> = text[at + 7..]
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap()
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        match path.as_slice() {
            [layer, module, ..] if module.starts_with(char::is_lowercase) => found.insert(format!("{layer}::{module}")),
            [layer, ..] => found.insert(layer.to_string()),
            [] => false,
        };
    }
    found
}

struct Tree {
    /// Module (`layer::module`) to the modules it uses, and the file that does.
    edges: BTreeMap<String, BTreeMap<String, PathBuf>>,
    /// Every file with its layer and its code.
    files: Vec<(PathBuf, String, String)>,
}

fn tree() -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    let mut tree = Tree { edges: BTreeMap::new(), files: Vec::new() };
    for path in paths {
        let relative = path.strip_prefix(&src).unwrap().to_path_buf();
        if relative.components().count() == 1 {
            continue; // lib.rs, main.rs, cli.rs: the top, above every layer but the commands
        }
        let layer = relative.iter().next().unwrap().to_string_lossy().to_string();
        let text = code(&path);
        let from = module_of(&relative);
        for used in uses(&text) {
            if used != from && !used.starts_with(&format!("{from}::")) {
                tree.edges.entry(from.clone()).or_default().entry(used).or_insert_with(|| relative.clone());
            }
        }
        tree.files.push((relative, layer, text));
    }
    tree
}

#[test]
fn every_file_sits_in_a_known_layer() {
    let unknown: Vec<_> = tree().files.iter().filter(|(_, layer, _)| rank(layer).is_none()).map(|f| f.0.clone()).collect();
    assert!(unknown.is_empty(), "files outside the layers {LAYERS:?}: {unknown:?}");
}

#[test]
fn no_layer_uses_a_higher_one() {
    let tree = tree();
    assert!(tree.files.len() > 30, "the sources were found");
    let mut upward = Vec::new();
    for (from, used) in &tree.edges {
        let from_rank = rank(from.split("::").next().unwrap()).unwrap();
        for (to, file) in used {
            let to_layer = to.split("::").next().unwrap();
            let to_rank = rank(to_layer).unwrap_or_else(|| panic!("{}: crate::{to} is in no layer", file.display()));
            if to_rank > from_rank {
                upward.push(format!("{} uses crate::{to}", file.display()));
            }
        }
    }
    assert!(upward.is_empty(), "lower layers using higher ones:\n{}", upward.join("\n"));
}

#[test]
fn the_protocol_names_no_mpi_terminal_or_command_line_crate() {
    let tree = tree();
    let mut named = Vec::new();
    for (file, layer, text) in &tree.files {
        for krate in NOT_IN_PROTOCOL.iter().filter(|k| layer == "protocol" && text.contains(*k)) {
            named.push(format!("{} names {krate}", file.display()));
        }
    }
    assert!(named.is_empty(), "{}", named.join("\n"));
}

#[test]
fn no_two_modules_use_each_other_even_through_others() {
    let tree = tree();
    // Depth-first search for a path back to where it started.
    fn back_to(tree: &Tree, start: &str, at: &str, seen: &mut BTreeSet<String>, path: &mut Vec<String>) -> bool {
        for next in tree.edges.get(at).into_iter().flat_map(|e| e.keys()) {
            path.push(next.clone());
            if next == start || (seen.insert(next.clone()) && back_to(tree, start, next, seen, path)) {
                return true;
            }
            path.pop();
        }
        false
    }
    for start in tree.edges.keys() {
        let mut path = vec![start.clone()];
        let cycle = back_to(&tree, start, start, &mut BTreeSet::new(), &mut path);
        assert!(!cycle, "a cycle of uses: {}", path.join(" -> "));
    }
}

#[test]
fn the_checks_see_uses_and_layers() {
    assert_eq!(uses("use crate::protocol::ids::Rank;"), BTreeSet::from(["protocol::ids".to_string()]));
    assert_eq!(uses("crate::protocol::IN_FLIGHT"), BTreeSet::from(["protocol".to_string()]));
    assert_eq!(module_of(Path::new("protocol/peer/download.rs")), "protocol::peer");
    assert_eq!(module_of(Path::new("protocol/mod.rs")), "protocol");
    assert!(rank("tools") > rank("analysis") && rank("analysis") > rank("protocol"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.rs");
    let text = "use crate::a::b;\n#[cfg(test)]\nmod tests;\nuse crate::c::d;\n#[cfg(test)]\nmod t {\n    use crate::e::f;\n}\nuse crate::g::h;\n";
    std::fs::write(&file, text).unwrap();
    let seen = uses(&code(&file));
    assert_eq!(seen, ["a::b", "c::d", "g::h"].map(String::from).into_iter().collect(), "tests are left out, the rest kept");
}
