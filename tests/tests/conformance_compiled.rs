//! Conformance of compiled code: every ONNX backend case that passes in the reference
//! interpreter is compiled with asplit-codegen and run natively (in-process, LLVM O3 for
//! the host), same data, same tolerances; docs/conformance-compiled.md is regenerated.
//!
//! Fails when a case passes in the interpreter but not compiled, unless it is listed in
//! `tests/conformance/known_compiled_failures.txt` (`suite/name # reason`), and when a
//! listed case passes (so the list cannot go stale). `ASPLIT_CONFORMANCE_SUITES` selects
//! suites as for the interpreter test (the doc is then not rewritten).

use asplit_tests::conformance::{
    known_failures, par_map, render_compiled_markdown, run_all, run_case_compiled, selected_cases,
    Outcome,
};
use asplit_tests::workspace_root;

#[test]
fn compiled_code_passes_what_the_interpreter_passes() {
    let (cases, subset) = selected_cases().expect("test data is present");
    let interp = run_all(&cases, 2);
    let passing: Vec<_> =
        interp.iter().filter(|r| r.outcome == Outcome::Pass).map(|r| r.case.clone()).collect();
    let outcomes = par_map(&passing, 2, run_case_compiled);
    let mut by_key: std::collections::HashMap<String, Outcome> =
        passing.iter().map(|c| c.key()).zip(outcomes).collect();
    let compiled: Vec<Option<Outcome>> =
        interp.iter().map(|r| by_key.remove(&r.case.key())).collect();
    let root = workspace_root();
    let known = known_failures(&root.join("tests/conformance/known_compiled_failures.txt"));
    if !subset {
        let md = render_compiled_markdown(&interp, &compiled);
        std::fs::write(root.join("docs/conformance-compiled.md"), md).expect("docs/ is writable");
    }
    let (mut pass, mut unexpected, mut stale) = (0, Vec::new(), Vec::new());
    for (r, c) in interp.iter().zip(&compiled) {
        let key = r.case.key();
        match c {
            Some(Outcome::Pass) => {
                pass += 1;
                if known.contains_key(&key) {
                    stale.push(key);
                }
            }
            Some(Outcome::Fail(why)) if !known.contains_key(&key) => {
                unexpected.push(format!("{key}: {why}"))
            }
            _ => {}
        }
    }
    eprintln!(
        "compiled conformance: {pass} of {} interpreter-passing cases pass compiled, {} unexpected failures",
        passing.len(),
        unexpected.len()
    );
    for key in &stale {
        eprintln!("now passes compiled (remove from the known list): {key}");
    }
    assert!(unexpected.is_empty(), "unexpected compiled failures:\n{}", unexpected.join("\n"));
    if !subset {
        assert!(stale.is_empty(), "known compiled failures that now pass:\n{}", stale.join("\n"));
    }
}
