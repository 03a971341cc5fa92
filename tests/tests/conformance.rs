//! Conformance: the ONNX backend test data through the importer and the reference
//! interpreter.
//!
//! Fails when a case fails that is not listed in `tests/conformance/known_failures.txt`,
//! or when a listed case no longer fails (so the list cannot go stale). Set
//! `ASPLIT_CONFORMANCE_SUITES=node,light` to run a subset. This test does not write
//! docs/conformance.md: `tests/tests/conformance_compiled.rs` writes it, with the interpreter
//! column next to the compiled ones (one writer, so two test binaries never race on it).

use asplit_tests::conformance::{known_failures, run_all, selected_cases, Outcome};
use asplit_tests::workspace_root;

#[test]
fn onnx_backend_conformance() {
    let (cases, subset) = selected_cases().expect("test data is present");
    let reports = run_all(&cases, 2);
    let known = known_failures(&workspace_root().join("tests/conformance/known_failures.txt"));
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for r in &reports {
        let key = r.case.key();
        match &r.outcome {
            Outcome::Pass => {
                pass += 1;
                if known.contains_key(&key) {
                    stale.push(key);
                }
            }
            Outcome::Fail(why) => {
                fail += 1;
                if !known.contains_key(&key) {
                    unexpected.push(format!("{key}: {why}"));
                }
            }
            Outcome::Skip(_) => skip += 1,
        }
    }
    eprintln!(
        "conformance: {pass} passed, {fail} failed ({} unexpected), {skip} skipped",
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "unexpected failures:\n{}", unexpected.join("\n"));
    if !subset {
        assert!(
            stale.is_empty(),
            "known failures that now pass (remove them):\n{}",
            stale.join("\n")
        );
    }
}
