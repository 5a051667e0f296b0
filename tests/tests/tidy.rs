//! Fails the build when a domain crate gains a dependency on a runtime,
//! HTTP, an ORM, a config loader or a random generator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[test]
fn domain_crates_are_free_of_io() {
    let found = ls_integration::tidy::violations(&ls_integration::tidy::domain_metadata());
    assert!(
        found.is_empty(),
        "domain crates must not depend on I/O crates (see ARCHITECTURE.md):\n  {}",
        found.join("\n  ")
    );
    // The rule looked at real crates: each domain crate is in the graph.
    let meta = ls_integration::tidy::domain_metadata();
    let names: Vec<&str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for c in ls_integration::tidy::DOMAIN_CRATES {
        assert!(names.contains(c), "{c} missing from the workspace");
    }
    // ... with their dependencies: accounts hashes with argon2.
    let accounts = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("accounts v"))
        })
        .unwrap();
    assert!(
        accounts["deps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["pkg"].as_str().is_some_and(|p| p.starts_with("argon2 v"))),
        "{accounts}"
    );
}

/// Every library crate forbids unsafe code.
#[test]
fn every_crate_forbids_unsafe_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut roots = vec![root.join("tests/src/lib.rs")];
    for dir in ["crates", "bins"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            for file in ["src/lib.rs", "src/main.rs"] {
                if path.join(file).exists() {
                    roots.push(path.join(file));
                }
            }
        }
    }
    assert!(roots.len() >= 10, "{roots:?}");
    for file in roots {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{} lacks #![forbid(unsafe_code)]",
            file.display()
        );
    }
}

/// No source file under `crates/` or `bins/` grows past 700 lines: a file
/// that does has become a house of its own and wants rooms.
#[test]
fn no_source_file_is_too_long() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let long = ls_integration::module_graph::long_files(&root);
    assert!(
        long.is_empty(),
        "files over {} lines (split them by what they do):\n  {}",
        ls_integration::module_graph::MAX_LINES,
        long.iter()
            .map(|(p, n)| format!("{} ({n})", p.display()))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// Inside each crate, sibling modules never import each other in a loop
/// (`crate::`, `super::` and `self::` paths, through re-exports; test code
/// aside). ARCHITECTURE.md gives the direction of each crate's modules.
#[test]
fn modules_import_each_other_in_no_loop() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crates = ls_integration::module_graph::workspace_crates(&root);
    assert!(crates.len() >= 9, "{crates:?}");
    let mut loops = Vec::new();
    for (name, file) in &crates {
        let c = ls_integration::module_graph::Crate::read(name, file);
        assert!(c.module_count() >= 1, "{name}");
        loops.extend(c.loops());
    }
    assert!(
        loops.is_empty(),
        "modules that import each other in a loop:\n  {}",
        loops.join("\n  ")
    );
}
