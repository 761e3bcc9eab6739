//! The layout ARCHITECTURE.md promises, checked on the source: features know nothing of HTTP,
//! and no two top-level modules import each other, directly or around a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that hold product logic and must not know about HTTP.
const FEATURES: [&str; 11] = [
    "accounts",
    "auth",
    "conversations",
    "domain",
    "ids",
    "inbox",
    "ingest",
    "json",
    "problem",
    "storage",
    "workers",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file of a top-level module (a folder or a single file), by module name.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files = Vec::new();
            let mut stack = vec![path];
            while let Some(dir) = stack.pop() {
                for e in std::fs::read_dir(dir).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        files.push(p);
                    }
                }
            }
            out.entry(name).or_default().extend(files);
        } else if name != "lib" && name != "main" {
            out.entry(name).or_default().push(path);
        }
    }
    out
}

/// The code of a file without its comments (doc comments name other modules freely).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `text` refers to as `crate::name`.
fn uses(text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if names.contains(&name) {
            found.insert(name);
        }
    }
    found
}

#[test]
fn features_know_nothing_of_http() {
    for (name, files) in modules() {
        if !FEATURES.contains(&name.as_str()) {
            continue;
        }
        for file in files {
            let text = code(&file);
            for http in [
                "axum",
                "crate::web",
                "crate::error",
                "crate::routes",
                "crate::state",
            ] {
                assert!(!text.contains(http), "{} uses {http}", file.display());
            }
        }
    }
}

#[test]
fn no_import_cycles_between_top_level_modules() {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, files) in &modules {
        let mut deps = BTreeSet::new();
        for file in files {
            deps.extend(uses(&code(file), &names));
        }
        deps.remove(name);
        graph.insert(name.clone(), deps);
    }
    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            panic!("import cycle: {} -> {node}", path[at..].join(" -> "));
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in &graph[node] {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}
