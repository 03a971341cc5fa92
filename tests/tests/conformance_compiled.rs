//! Conformance of compiled code, and the writer of docs/conformance.md: every ONNX backend
//! case is run by the reference interpreter; every case that passes there is compiled with
//! asplit-codegen and run natively (in-process, LLVM O3 for the host), same data, same
//! tolerances — once as imported and once after the default pass pipeline.
//!
//! Fails when a case passes in the interpreter but not compiled (in either column), unless
//! it is listed in `tests/conformance/known_compiled_failures.txt` (`suite/name # reason`
//! for both columns, `suite/name [plain] # reason` or `suite/name [pipeline] # reason` for
//! one), and when a listed case passes in a listed column (so the list cannot go stale).
//! The interpreter's own policy is asserted by `tests/tests/conformance.rs`.
//! `ASPLIT_CONFORMANCE_SUITES` selects suites as for the interpreter test (the doc is then
//! not rewritten).

use asplit_tests::conformance::compiled::{
    known_compiled_failures, run_case_compiled, Column, CompiledReport,
};
use asplit_tests::conformance::doc::{render_markdown, DocInput};
use asplit_tests::conformance::{known_failures, par_map, run_all, selected_cases, Outcome};
use asplit_tests::workspace_root;
use std::collections::HashMap;
use std::time::Instant;

#[test]
fn compiled_code_passes_what_the_interpreter_passes() {
    let (cases, subset) = selected_cases().expect("test data is present");
    let start = Instant::now();
    let interp = run_all(&cases, 2);
    let interp_time = start.elapsed();
    let passing: Vec<_> =
        interp.iter().filter(|r| r.outcome == Outcome::Pass).map(|r| r.case.clone()).collect();
    let start = Instant::now();
    let reports = par_map(&passing, 2, run_case_compiled);
    let compiled_time = start.elapsed();
    let mut by_key: HashMap<String, CompiledReport> =
        passing.iter().map(|c| c.key()).zip(reports).collect();
    let compiled: Vec<Option<CompiledReport>> =
        interp.iter().map(|r| by_key.remove(&r.case.key())).collect();
    let root = workspace_root();
    let known = known_failures(&root.join("tests/conformance/known_failures.txt"));
    let known_compiled =
        known_compiled_failures(&root.join("tests/conformance/known_compiled_failures.txt"))
            .expect("known_compiled_failures.txt is well-formed");
    if !subset {
        let command = "cargo test -p asplit-tests --test conformance_compiled";
        let doc = DocInput {
            interp: &interp,
            compiled: &compiled,
            known: &known,
            known_compiled: &known_compiled,
            command,
        };
        std::fs::write(root.join("docs/conformance.md"), render_markdown(&doc))
            .expect("docs/ is writable");
    }
    let (mut unexpected, mut stale) = (Vec::new(), Vec::new());
    for column in Column::ALL {
        let mut pass = 0;
        for (r, c) in interp.iter().zip(&compiled) {
            let Some(c) = c else { continue };
            let key = (r.case.key(), column);
            match c.outcome(column) {
                Outcome::Pass => {
                    pass += 1;
                    if known_compiled.contains_key(&key) {
                        stale.push(format!("{} [{}]", key.0, column.tag()));
                    }
                }
                Outcome::Fail(why) if !known_compiled.contains_key(&key) => {
                    unexpected.push(format!("{} [{}]: {why}", key.0, column.tag()))
                }
                _ => {}
            }
        }
        eprintln!(
            "{}: {pass} of {} interpreter-passing cases pass",
            column.heading(),
            passing.len()
        );
    }
    let unchanged = compiled.iter().flatten().filter(|c| c.pipeline_unchanged).count();
    eprintln!(
        "{unchanged} cases unchanged by the pipeline (compiled once); interpreter {:.1} s, \
         compiled {:.1} s",
        interp_time.as_secs_f64(),
        compiled_time.as_secs_f64()
    );
    for key in &stale {
        eprintln!("now passes compiled (remove from the known list): {key}");
    }
    assert!(unexpected.is_empty(), "unexpected compiled failures:\n{}", unexpected.join("\n"));
    if !subset {
        assert!(stale.is_empty(), "known compiled failures that now pass:\n{}", stale.join("\n"));
    }
}
