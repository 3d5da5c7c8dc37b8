//! Issue 9: no two modules that import each other, anywhere in the
//! workspace. Every crate (each workspace member's `src/lib.rs`,
//! `src/main.rs` and `src/bin/*.rs`) is read from its root along its `mod x;`
//! declarations; each `crate::` and `super::` path (`super::X` in `a::b` is
//! a path into `a`) is an import of the longest module its path names. A
//! parent's `mod child;` is a declaration, not an import. A cycle fails the
//! test with every import along it, file and line.

mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use scan::{ModulePath, PathUse};

/// One crate's module graph: module -> imported module -> first import's
/// place ("file:line").
type Graph = BTreeMap<ModulePath, BTreeMap<ModulePath, String>>;

#[test]
fn no_two_modules_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testbed crate is inside the workspace");
    let mut report = Vec::new();
    let mut crates = 0;
    for member in members(root) {
        for (name, file) in crate_roots(root, &member) {
            crates += 1;
            let graph = graph(root, &file);
            for (cycle, group) in cycles(&graph) {
                report.push(describe(&name, &cycle, &group, &graph));
            }
        }
    }
    assert!(
        crates >= 5,
        "found only {crates} crates under {}",
        root.display()
    );
    assert!(
        report.is_empty(),
        "import cycles between modules (no two modules may import each other):\n{}",
        report.join("\n")
    );
}

/// The `members = [..]` of the workspace's Cargo.toml.
fn members(root: &Path) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
    let line = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("a members = [..] line in the workspace Cargo.toml");
    let members: Vec<String> = line
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!members.is_empty(), "no members in {line:?}");
    members
}

/// (name, root file) of each crate of `member`: its library, its main
/// binary and its `src/bin/` binaries.
fn crate_roots(root: &Path, member: &str) -> Vec<(String, PathBuf)> {
    let src = root.join(member).join("src");
    let mut roots: Vec<(String, PathBuf)> = [("lib", "lib.rs"), ("main", "main.rs")]
        .into_iter()
        .map(|(kind, file)| (format!("{member} ({kind})"), src.join(file)))
        .filter(|(_, file)| file.is_file())
        .collect();
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        for bin in bins.filter_map(Result::ok).map(|entry| entry.path()) {
            if bin.extension().is_some_and(|ext| ext == "rs") {
                let name = bin.file_stem().unwrap().to_string_lossy().into_owned();
                roots.push((format!("{member} (bin {name})"), bin));
            }
        }
    }
    roots
}

/// Reads the crate rooted at `file` and builds its import graph.
fn graph(root: &Path, file: &Path) -> Graph {
    let mut modules: BTreeSet<ModulePath> = BTreeSet::new();
    let mut uses: Vec<(PathUse, PathBuf)> = Vec::new();
    let mut queue = vec![(ModulePath::new(), file.to_path_buf(), true)];
    while let Some((module, file, owns_dir)) = queue.pop() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
        let scanned = scan::scan(&module, &text);
        modules.insert(module.clone());
        // Children of `a.rs` live in `a/`; of `a/mod.rs` and roots, beside it.
        let dir = if owns_dir {
            file.parent().unwrap().to_path_buf()
        } else {
            file.with_extension("")
        };
        for (parent, child) in scanned.declared {
            let mut path = parent.clone();
            path.push(child.clone());
            let inline_dirs = &parent[module.len()..];
            let base = inline_dirs.iter().fold(dir.clone(), |dir, m| dir.join(m));
            let flat = base.join(format!("{child}.rs"));
            let nested = base.join(&child).join("mod.rs");
            match (flat.is_file(), nested.is_file()) {
                (true, _) => queue.push((path, flat, false)),
                (false, true) => queue.push((path, nested, true)),
                (false, false) => panic!(
                    "{} declares mod {child}, but neither {} nor {} exists",
                    file.display(),
                    flat.display(),
                    nested.display()
                ),
            }
        }
        for inline in scanned.paths.iter().map(|u| u.from.clone()) {
            modules.insert(inline);
        }
        uses.extend(scanned.paths.into_iter().map(|u| (u, file.clone())));
    }
    let mut graph = Graph::new();
    for (import, file) in uses {
        let target = (0..=import.path.len())
            .rev()
            .map(|n| import.path[..n].to_vec())
            .find(|prefix| modules.contains(prefix))
            .unwrap_or_default();
        if target == import.from {
            continue;
        }
        let place = format!(
            "{}:{}",
            file.strip_prefix(root).unwrap_or(&file).display(),
            import.line
        );
        graph
            .entry(import.from)
            .or_default()
            .entry(target)
            .or_insert(place);
    }
    graph
}

/// Per group of modules that all reach each other: one cycle through it
/// (first module repeated at the end), and the whole group.
fn cycles(graph: &Graph) -> Vec<(Vec<ModulePath>, Vec<ModulePath>)> {
    let nodes: Vec<&ModulePath> = graph.keys().collect();
    let mut seen: BTreeSet<&ModulePath> = BTreeSet::new();
    let mut found = Vec::new();
    for start in nodes {
        if seen.contains(start) {
            continue;
        }
        let Some(mut cycle) = path_between(graph, start, start) else {
            continue;
        };
        // Everything on a cycle through `start` is in its group: report it once.
        let group: Vec<&ModulePath> = graph
            .keys()
            .filter(|m| {
                *m == start
                    || (path_between(graph, start, m).is_some()
                        && path_between(graph, m, start).is_some())
            })
            .collect();
        seen.extend(group.iter().copied());
        cycle.insert(0, start.clone());
        found.push((cycle, group.into_iter().cloned().collect()));
    }
    found
}

/// The shortest import path from `from` to `to` (at least one step), the
/// modules after `from`.
fn path_between(graph: &Graph, from: &ModulePath, to: &ModulePath) -> Option<Vec<ModulePath>> {
    let mut came_from: BTreeMap<&ModulePath, &ModulePath> = BTreeMap::new();
    let mut frontier = vec![from];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for module in frontier {
            for target in graph.get(module).into_iter().flat_map(BTreeMap::keys) {
                if came_from.contains_key(target) {
                    continue;
                }
                came_from.insert(target, module);
                if target == to {
                    let mut path = vec![target.clone()];
                    let mut at = target;
                    while let Some(&before) = came_from.get(at).filter(|&&b| b != from) {
                        path.push(before.clone());
                        at = before;
                    }
                    path.reverse();
                    return Some(path);
                }
                next.push(target);
            }
        }
        frontier = next;
    }
    None
}

fn describe(name: &str, cycle: &[ModulePath], group: &[ModulePath], graph: &Graph) -> String {
    let show = |m: &ModulePath| {
        if m.is_empty() {
            "crate".to_owned()
        } else {
            m.join("::")
        }
    };
    let mut text = format!(
        "  {name}: {}",
        cycle.iter().map(show).collect::<Vec<_>>().join(" -> ")
    );
    for pair in cycle.windows(2) {
        let place = &graph[&pair[0]][&pair[1]];
        text.push_str(&format!(
            "\n    {place}: {} imports {}",
            show(&pair[0]),
            show(&pair[1])
        ));
    }
    if group.len() + 1 > cycle.len() {
        let members: Vec<String> = group.iter().map(show).collect();
        text.push_str(&format!(
            "\n    (the whole group that reaches each other: {})",
            members.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod reading {
    use super::scan::{expand, scan};

    fn paths(module: &[&str], text: &str) -> Vec<String> {
        let module = module.iter().map(|s| s.to_string()).collect();
        scan(&module, text)
            .paths
            .into_iter()
            .map(|u| format!("{} <- {}", u.path.join("::"), u.from.join("::")))
            .collect()
    }

    #[test]
    fn use_trees_are_flattened() {
        let tree = [
            "crate", "::", "{", "a", "::", "X", ",", "b", "::", "{", "self", ",", "Y", "as", "Z",
            "}", "}",
        ];
        let flat: Vec<String> = expand(&tree).iter().map(|p| p.join("::")).collect();
        assert_eq!(flat, ["crate::a::X", "crate::b::self", "crate::b::Y"]);
    }

    #[test]
    fn super_is_the_parent_and_inline_modules_count() {
        let text = "use super::core::Engine;\nfn f() { crate::x::go(); }\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        assert_eq!(
            paths(&["engine", "bake"], text),
            [
                "engine::core::Engine <- engine::bake",
                "x::go <- engine::bake",
                "engine::bake <- engine::bake::tests"
            ]
        );
    }

    #[test]
    fn comments_strings_and_macros_are_not_paths() {
        let text = "// use crate::a;\nlet url = \"http://x/crate::b\"; let c = '\\''; let q = '\"';\nmacro_rules! m { () => { $crate::c::d() } }\nuse crate::e::F;\n";
        assert_eq!(paths(&[], text), ["e::F <- "]);
    }
}
