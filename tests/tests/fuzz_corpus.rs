//! The fuzz targets' corpus (`fuzz/corpus/<target>/`, grown by `cargo fuzz`
//! runs recorded in SECURITY.md), replayed on stable through the same entry
//! points, so every input a fuzzer ever kept stays a regression test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 5] = [
    ("domain_values", ls_http::fuzzing::domain_values),
    ("jwt", ls_http::fuzzing::jwt),
    ("headers", ls_http::fuzzing::headers),
    ("form", ls_http::fuzzing::form),
    ("json", ls_http::fuzzing::json),
];

#[test]
fn every_corpus_input_is_handled() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
            count += 1;
        }
        assert!(count > 0, "the {name} corpus is empty");
    }
}

#[test]
fn every_fuzz_target_is_replayed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut ours: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    ours.sort();
    assert_eq!(names, ours);
}
