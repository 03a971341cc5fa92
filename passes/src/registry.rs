//! The pass registry: every pass, listed once.
//!
//! [`PASSES`] drives pipeline validation (unknown names get the list of valid ones and a
//! close-match suggestion), `asplitc passes`, the IR dump banners, `--time-passes` and the
//! generated docs/passes.md ([`render_markdown`], which adds each pass file's `//!` header). Adding a pass means adding its file and
//! one line here; nothing else lists passes.

use crate::pass::PassInfo;

/// Every registered pass, in the order `asplitc passes` lists them.
pub static PASSES: &[&PassInfo] = &[
    &crate::canonicalize::INFO,
    &crate::fold_constants::INFO,
    &crate::dce::INFO,
    &crate::fold_batchnorm::INFO,
    &crate::fuse::INFO,
    &crate::insert_boundary::INFO,
    &crate::exact_conv::INFO,
];

/// The pipeline `asplitc MODEL.onnx` runs when `--passes` is not given.
pub const DEFAULT_PIPELINE: &str = "canonicalize,fold-constants,dce,fold-batchnorm,fuse";

/// Looks a pass up by name.
pub fn lookup(name: &str) -> Option<&'static PassInfo> {
    PASSES.iter().copied().find(|p| p.name == name)
}

/// Every pass name, comma-separated (for diagnostics).
pub fn names() -> String {
    PASSES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// The closest name among `candidates` to `name`, if it is close enough to be a typo
/// (edit distance at most a third of the longer name, and at most 3).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|&(d, c)| d <= 3 && d * 3 <= name.len().max(c.len()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The listing of `asplitc passes`: name and summary, aligned.
pub fn render_list() -> String {
    let width = PASSES.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in PASSES {
        out.push_str(&format!("{:width$}  {}\n", p.name, p.summary));
    }
    out
}

/// docs/passes.md, generated from the registry. `describe` gives a pass's long description
/// (markdown), if any; the docs test passes the `//!` header of the pass's source file, so
/// the before/after example and the statistics a pass records are written once, beside it.
pub fn render_markdown(describe: impl Fn(&PassInfo) -> Option<String>) -> String {
    let mut out = String::from(
        "# Passes\n\n\
         <!-- Generated from passes/src/registry.rs and the `//!` header of each pass's file \
         by `ASPLIT_BLESS=1 cargo test -p asplit-passes registry`; do not edit. -->\n\n\
         A pipeline is a comma-separated list of passes, each optionally followed by options \
         in braces: `canonicalize,fold-constants{max-elements=1024},dce`. Give one with \
         `--passes PIPELINE` to `asplitc opt FILE.air` (IR in, IR out) or to \
         `asplitc MODEL.onnx -o OUT`; `asplitc passes` lists the passes.\n\n",
    );
    out.push_str(&format!("The default pipeline is `{DEFAULT_PIPELINE}`.\n\n"));
    out.push_str(
        "Pass-manager flags: `--verify-each[=BOOL]` (verify after every pass; on by default in \
         debug builds and tests), `--print-ir-before=P`, `--print-ir-after=P`, \
         `--print-ir-after-all` (MLIR-style banners on stderr), `--dump-dir D` \
         (`00-input.air`, `01-<pass>.air`, …), `--time-passes` and `--pass-statistics` \
         (tables on stderr).\n\n",
    );
    out.push_str("| pass | summary |\n|---|---|\n");
    for p in PASSES {
        out.push_str(&format!("| [`{}`](#{}) | {} |\n", p.name, p.name, p.summary));
    }
    for p in PASSES {
        out.push_str(&format!("\n## {}\n\n{}\n", p.name, p.summary));
        if let Some(text) = describe(p) {
            out.push_str(&format!("\n{}\n", text.trim_end()));
        }
        if p.options.is_empty() {
            out.push_str("\nNo options.\n");
            continue;
        }
        out.push_str("\n| option | type | default | meaning |\n|---|---|---|---|\n");
        for o in p.options {
            out.push_str(&format!(
                "| `{}` | {} | `{}` | {} |\n",
                o.name,
                o.kind.name(),
                o.default,
                o.doc
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::PassOptions;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_kebab_case_and_defaults_build() {
        let mut seen = HashSet::new();
        for p in PASSES {
            assert!(seen.insert(p.name), "{} listed twice", p.name);
            assert!(
                p.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{} is not kebab-case",
                p.name
            );
            assert!(!p.summary.is_empty() && !p.summary.contains('\n'), "{} summary", p.name);
            let opts = PassOptions::resolve(p.options, &[]).expect("defaults parse");
            let pass = (p.build)(&opts).expect("builds with defaults");
            assert_eq!(pass.name(), p.name);
        }
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let names = || PASSES.iter().map(|p| p.name);
        assert_eq!(suggest("canonicalise", names()), Some("canonicalize"));
        assert_eq!(suggest("dce2", names()), Some("dce"));
        assert_eq!(suggest("fold-constant", names()), Some("fold-constants"));
        assert_eq!(suggest("inline", names()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn titles_are_camel_case() {
        assert_eq!(crate::fold_constants::INFO.title(), "FoldConstants");
        assert_eq!(crate::dce::INFO.title(), "Dce");
    }

    /// The `//!` header of a pass's source file (`src/<name>.rs` or `src/<name>/mod.rs`, with
    /// `-` as `_`), as markdown: rustdoc links `[`x`]` become plain code spans.
    fn source_header(p: &PassInfo) -> Option<String> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let stem = p.name.replace('-', "_");
        let text = std::fs::read_to_string(src.join(format!("{stem}.rs")))
            .or_else(|_| std::fs::read_to_string(src.join(stem).join("mod.rs")))
            .ok()?;
        let lines: Vec<&str> = text
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        let mut md = lines.join("\n");
        while let Some(start) = md.find("[`") {
            let Some(len) = md[start..].find("`]") else { break };
            let end = start + len + 2;
            if md[end..].starts_with('(') {
                break;
            }
            let inner = md[start + 1..end - 1].to_string();
            md.replace_range(start..end, &inner);
        }
        (!md.is_empty()).then_some(md)
    }

    #[test]
    fn every_pass_has_a_source_header() {
        for p in PASSES {
            let h = source_header(p).unwrap_or_default();
            assert!(h.starts_with(&format!("`{}`", p.name)), "{}: header is {h:?}", p.name);
        }
    }

    /// docs/passes.md is generated from the registry; `ASPLIT_BLESS=1` rewrites it.
    #[test]
    fn docs_passes_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/passes.md");
        let want = render_markdown(source_header);
        if std::env::var_os("ASPLIT_BLESS").is_some() {
            std::fs::write(&path, &want).expect("docs/ is writable");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/passes.md is stale; rerun with ASPLIT_BLESS=1 cargo test -p asplit-passes"
        );
    }
}
