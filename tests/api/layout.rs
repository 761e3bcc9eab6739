//! The layout ARCHITECTURE.md promises, checked on the source: every top-level module has a row
//! in its code map, no module imports what its row's "may not import" cell names, and no two
//! top-level modules import each other, directly or around a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What "HTTP" stands for in the code map: the crate and the modules that know requests.
const HTTP: [&str; 5] = ["axum", "web", "error", "routes", "state"];

/// What "the features" stands for in the code map: the modules that hold product logic.
const FEATURES: [&str; 12] = [
    "accounts",
    "auth",
    "automation",
    "connectors",
    "conversations",
    "engagement",
    "inbox",
    "ingest",
    "live",
    "outbox",
    "polling",
    "rules",
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

/// The code map of ARCHITECTURE.md: each row's modules (`name/` or `name.rs`) with what its
/// last cell forbids. The cell names modules and `axum` in backticks, "HTTP" for [`HTTP`], "the
/// features" for [`FEATURES`], and "every other module", less those named after "but".
fn may_not_import(all: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let ticked = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let map = doc
        .split("\n## Code map")
        .nth(1)
        .expect("ARCHITECTURE.md has a code map")
        .split("\n## ")
        .next()
        .unwrap();
    let mut rows = BTreeMap::new();
    for line in map.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let forbidden = cells[cells.len() - 1];
        let (named, except) = forbidden.split_once(" but ").unwrap_or((forbidden, ""));
        for module in ticked(cells[0]) {
            let module = module
                .trim_end_matches('/')
                .trim_end_matches(".rs")
                .to_owned();
            let mut set: BTreeSet<String> = ticked(named).into_iter().collect();
            if named.contains("HTTP") {
                set.extend(HTTP.iter().map(|s| s.to_string()));
            }
            if named.contains("the features") {
                set.extend(FEATURES.iter().map(|s| s.to_string()));
            }
            if named.contains("every other module") {
                set.extend(all.iter().cloned());
            }
            for allowed in ticked(except) {
                set.remove(&allowed);
            }
            set.remove(&module);
            for name in &set {
                assert!(
                    name == "axum" || all.contains(name),
                    "ARCHITECTURE.md: the row of `{module}` forbids `{name}`, which is no module"
                );
            }
            assert!(
                rows.insert(module.clone(), set).is_none(),
                "ARCHITECTURE.md: `{module}` has two rows"
            );
        }
    }
    rows
}

#[test]
fn every_top_level_module_has_a_row_in_the_code_map() {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let rows = may_not_import(&names);
    let listed: BTreeSet<String> = rows
        .keys()
        .filter(|m| *m != "lib" && *m != "main")
        .cloned()
        .collect();
    assert_eq!(
        listed, names,
        "the code map's rows against the modules under src/"
    );
}

#[test]
fn no_module_imports_what_its_row_forbids() {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let rows = may_not_import(&names);
    let mut broken = Vec::new();
    for (name, files) in &modules {
        let Some(forbidden) = rows.get(name) else {
            continue;
        };
        for file in files {
            let text = code(file);
            let used = uses(&text, &names);
            for f in forbidden {
                if (f == "axum" && text.contains("axum")) || used.contains(f) {
                    broken.push(format!("{} imports {f}", file.display()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports the code map forbids:\n{}",
        broken.join("\n")
    );
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
