//! No public conformance function is left out: each `pub async fn` of the suite's sources
//! (`src/conformance/`, every file, read from disk so a new file is seen too) is in exactly one
//! registration list, or in `OUTSIDE_MACROS`, and every listed name is such a function.

use std::collections::BTreeMap;
use std::path::Path;

use clientnest_core::conformance::registry::{OUTSIDE_MACROS, registered};

/// `(file, name)` of every `pub async fn` at the start of a line (free functions, not
/// methods) in the `.rs` files under `dir`.
fn public_functions(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read the conformance sources").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            public_functions(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("read a source file");
            for line in source.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    out.push((path.display().to_string(), name));
                }
            }
        }
    }
}

/// Which lists hold each name.
fn lists_by_name() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut by_name: BTreeMap<_, Vec<_>> = BTreeMap::new();
    let outside = [("OUTSIDE_MACROS", OUTSIDE_MACROS)];
    for (list, names) in registered().chain(outside) {
        for name in names {
            by_name.entry(*name).or_default().push(list);
        }
    }
    by_name
}

#[test]
fn every_conformance_function_is_registered_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/conformance");
    let mut functions = Vec::new();
    public_functions(&dir, &mut functions);
    assert!(functions.len() > 150, "only {} public conformance functions found", functions.len());

    let by_name = lists_by_name();
    let mut problems = Vec::new();
    for (file, name) in &functions {
        match by_name.get(name.as_str()).map(Vec::as_slice) {
            Some([_]) => {}
            None | Some([]) => problems.push(format!("{name} ({file}) is in no registration list")),
            Some(lists) => problems.push(format!("{name} ({file}) is in several lists: {lists:?}")),
        }
    }
    for (name, lists) in &by_name {
        if !functions.iter().any(|(_, f)| f == name) {
            problems.push(format!("{name} (in {lists:?}) is no public conformance function"));
        }
    }
    assert!(problems.is_empty(), "registration is off:\n{}", problems.join("\n"));
}
