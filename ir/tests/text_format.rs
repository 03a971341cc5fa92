//! Tests of the `.air` text form: printer, parser, round-trips, diagnostics and the
//! generated `docs/ops.md`.
//!
//! Round-trip: every file in `tests/data/` parses, and `print(parse(print(g))) == print(g)`
//! with and without `print_constants`; the canonical prints are insta snapshots. Parse
//! errors are rendered without colour and snapshotted. Garbled variants of the data files
//! must never panic the parser. Nothing here runs shape rules or kernels.

use asplit_ir::attr::{Attr, AttrKind, Attrs};
use asplit_ir::graph::Graph;
use asplit_ir::ops::{OpKind, OPS};
use asplit_ir::parse::{parse, parse_named, ParseError, ParseErrorKind};
use asplit_ir::print::{print, PrintOptions};
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::{DType, TensorType};
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PLAIN: PrintOptions = PrintOptions { print_constants: false };
const FULL: PrintOptions = PrintOptions { print_constants: true };

fn render(e: &ParseError) -> String {
    let mut s = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut s, e)
        .expect("rendering into a String cannot fail");
    s
}

fn parse_ok(name: &str, text: &str) -> Graph {
    parse_named(name, text).unwrap_or_else(|e| panic!("{name} does not parse:\n{}", render(&e)))
}

fn data_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "air"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "expected the hand-written .air files in {dir:?}");
    files
}

fn read(path: &Path) -> (String, String) {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
    (stem, std::fs::read_to_string(path).expect("readable .air file"))
}

/// `print(parse(print(g))) == print(g)`; returns the reparsed graph.
fn assert_round_trip(name: &str, g: &Graph, opts: &PrintOptions) -> Graph {
    let once = print(g, opts);
    let g2 = parse_ok(name, &once);
    let twice = print(&g2, opts);
    assert_eq!(once, twice, "{name}: print(parse(print(g))) != print(g) ({opts:?})");
    g2
}

/// Same nodes, attributes (tensors compared by type and content hash), types and names.
fn assert_same_graph(a: &Graph, b: &Graph, what: &str) {
    assert_eq!(a.name, b.name, "{what}: graph name");
    assert_eq!(a.inputs.len(), b.inputs.len(), "{what}: input count");
    assert_eq!(a.outputs.len(), b.outputs.len(), "{what}: output count");
    assert_eq!(a.order.len(), b.order.len(), "{what}: node count");
    for (&na, &nb) in a.order.iter().zip(&b.order) {
        let (x, y) = (&a.nodes[na], &b.nodes[nb]);
        assert_eq!(x.op, y.op, "{what}");
        assert_eq!(x.inputs.len(), y.inputs.len(), "{what}: operands of {}", x.op);
        let tys = |g: &Graph, vs: &[_]| vs.iter().map(|&v| g.ty(v).clone()).collect::<Vec<_>>();
        assert_eq!(tys(a, &x.outputs), tys(b, &y.outputs), "{what}: result types of {}", x.op);
        let ax: Vec<_> = x.attrs.iter().collect();
        let ay: Vec<_> = y.attrs.iter().collect();
        assert_eq!(ax.len(), ay.len(), "{what}: attributes of {}", x.op);
        for ((ka, va), (kb, vb)) in ax.into_iter().zip(ay) {
            assert_eq!(ka, kb, "{what}");
            match (va, vb) {
                (Attr::Tensor(p), Attr::Tensor(q)) => {
                    assert_eq!(p.ty(), q.ty(), "{what}: {ka}");
                    assert_eq!(p.content_hash(), q.content_hash(), "{what}: contents of {ka}");
                }
                _ => assert_eq!(va, vb, "{what}: attribute {ka} of {}", x.op),
            }
        }
    }
    let names = |g: &Graph, vs: &[_]| {
        vs.iter().map(|&v| g.values[v].name.clone()).collect::<Vec<Option<String>>>()
    };
    assert_eq!(names(a, &a.inputs), names(b, &b.inputs), "{what}: input names");
    assert_eq!(names(a, &a.outputs), names(b, &b.outputs), "{what}: output names");
}

#[test]
fn data_files_round_trip_and_print_canonically() {
    for path in data_files() {
        let (stem, text) = read(&path);
        let g = parse_ok(&stem, &text);
        let plain = assert_round_trip(&stem, &g, &PLAIN);
        let full = assert_round_trip(&stem, &g, &FULL);
        // With every constant printed, nothing is lost.
        assert_same_graph(&g, &full, &stem);
        assert_eq!(print(&g, &PLAIN), print(&plain, &PLAIN), "{stem}");
        insta::assert_snapshot!(format!("print_{stem}"), print(&g, &PLAIN));
    }
}

#[test]
fn data_files_cover_every_op() {
    let mut seen = BTreeSet::new();
    for path in data_files() {
        let (stem, text) = read(&path);
        let g = parse_ok(&stem, &text);
        seen.extend(g.live_nodes().map(|(_, n)| n.op));
    }
    let missing: Vec<&str> =
        OpKind::ALL.iter().filter(|k| !seen.contains(*k)).map(|k| k.mnemonic()).collect();
    assert!(missing.is_empty(), "ops used by no file in tests/data: {missing:?}");
}

/// A value of each attribute kind, distinct from the table defaults.
fn sample_attr(kind: AttrKind) -> Attr {
    match kind {
        AttrKind::Int => Attr::Int(-3),
        AttrKind::Float => Attr::Float(0.125),
        AttrKind::Ints => Attr::Ints(vec![2, -1]),
        AttrKind::Floats => Attr::Floats(vec![0.5, -1.5e-7]),
        AttrKind::Str => Attr::Str("a \"b\"\n".into()),
        AttrKind::DType => Attr::DType(DType::I8),
        AttrKind::Tensor => Attr::Tensor(Arc::new(
            Tensor::from_f32([2, 3], vec![1.0, -2.0, 0.5, 1e-3, 7.0, 8.25]).expect("6 elements"),
        )),
    }
}

#[test]
fn every_op_round_trips_with_every_attribute_set() {
    for def in OPS {
        let mut g = Graph::new(format!("op_{}", def.mnemonic));
        let ty = TensorType::new(DType::F32, [2, 3]);
        let n_operands = def.operands.len() + usize::from(def.variadic);
        let inputs: Vec<_> = (0..n_operands).map(|_| g.add_input(None, ty.clone())).collect();
        let mut attrs = Attrs::new();
        for a in def.attrs {
            attrs.set(a.name, sample_attr(a.kind));
        }
        let results = def.num_results(&attrs);
        let n = g.add_node_typed(def.kind, attrs, inputs, vec![ty.clone(); results]);
        g.outputs = g.nodes[n].outputs.clone();
        let back = assert_round_trip(def.mnemonic, &g, &PLAIN);
        assert_same_graph(&g, &back, def.mnemonic);
        // Leaving out every attribute that has a default gives that default.
        let text = print(&g, &PLAIN);
        let g2 = parse_ok(def.mnemonic, &strip_defaulted_attrs(&text, def));
        let node = &g2.nodes[g2.order[0]];
        for a in def.attrs {
            let want = a.default.value().unwrap_or_else(|| sample_attr(a.kind));
            assert_eq!(node.attrs.get(a.name), Some(&want), "{}.{}", def.mnemonic, a.name);
        }
    }
}

/// Rewrites the attribute dict of the one node in `text`, keeping only required attributes.
fn strip_defaulted_attrs(text: &str, def: &asplit_ir::ops::OpDef) -> String {
    let mut attrs = Vec::new();
    for a in def.attrs.iter().filter(|a| a.default.value().is_none()) {
        let v = asplit_ir::print::format_attr(&sample_attr(a.kind), &PLAIN);
        attrs.push(format!("{} = {v}", a.name));
    }
    let dict = if attrs.is_empty() { String::new() } else { format!(" {{{}}}", attrs.join(", ")) };
    text.lines()
        .map(|l| match (l.find(" {"), l.rfind("} : ")) {
            (Some(open), Some(close)) if l.contains(def.mnemonic) => {
                format!("{}{dict}{}", &l[..open], &l[close + 1..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// splitmix64, for deterministic test data.
fn rng(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn print_constants_keeps_every_bit() {
    let mut s = 42u64;
    let n = 500;
    let f32s: Vec<f32> = (0..n).map(|_| f32::from_bits(rng(&mut s) as u32)).collect();
    let f64s: Vec<f64> = (0..n).map(|_| f64::from_bits(rng(&mut s))).collect();
    let f16s: Vec<half::f16> = (0..n).map(|_| half::f16::from_bits(rng(&mut s) as u16)).collect();
    let ints: Vec<i64> = (0..n).map(|_| rng(&mut s) as i64).collect();
    let datas = [
        TensorData::F32(f32s.into_iter().filter(|x| !x.is_nan()).collect()),
        TensorData::F64(f64s.into_iter().filter(|x| !x.is_nan()).collect()),
        TensorData::F16(f16s.into_iter().filter(|x| !x.is_nan()).collect()),
        TensorData::I64(ints.iter().copied().chain([i64::MIN, i64::MAX]).collect()),
        TensorData::I32(ints.iter().map(|&x| x as i32).collect()),
        TensorData::I8(ints.iter().map(|&x| x as i8).collect()),
        TensorData::U8(ints.iter().map(|&x| x as u8).collect()),
        TensorData::Bool(ints.iter().map(|&x| x & 1 == 1).collect()),
    ];
    let mut g = Graph::new("bits");
    for d in datas {
        let len = d.len();
        let v = g.add_const(Tensor::new([len], d).expect("1-d"));
        g.outputs.push(v);
    }
    let back = assert_round_trip("bits", &g, &FULL);
    for (&a, &b) in g.outputs.iter().zip(&back.outputs) {
        let (ta, tb) = (g.const_value(a), back.const_value(b));
        assert_eq!(ta.map(|t| t.data()), tb.map(|t| t.data()), "elements differ");
    }
}

#[test]
fn tensor_bodies_follow_the_printing_rules() {
    let mut g = Graph::new("rules");
    let distinct = |n: usize| (0..n).map(|i| i as f32 * 0.5).collect::<Vec<f32>>();
    let small = g.add_const(Tensor::from_f32([16], distinct(16)).expect("16"));
    let big_t = Tensor::from_f32([17], distinct(17)).expect("17");
    let big_hash = big_t.content_hash();
    let big = g.add_const(big_t);
    let same = g.add_const(Tensor::from_f32([4, 5], vec![-0.0; 20]).expect("20"));
    let mixed_zero = g.add_const(Tensor::from_f32([2], vec![0.0, -0.0]).expect("2"));
    g.outputs = vec![small, big, same, mixed_zero];
    let text = print(&g, &PLAIN);
    assert!(text.contains("tensor<f32[16]: [0.0, 0.5, 1.0, "), "{text}");
    assert!(text.contains(&format!("tensor<f32[17]: hash({big_hash:#018x})>")), "{text}");
    assert!(text.contains("tensor<f32[4,5]: splat(-0.0)>"), "{text}");
    assert!(text.contains("tensor<f32[2]: [0.0, -0.0]>"), "{text}");
    let full = print(&g, &FULL);
    assert!(full.contains("tensor<f32[17]: [0.0, 0.5, "), "{full}");
    // An elided tensor keeps its type and hash.
    let back = parse_ok("rules", &text);
    let node = back.producer(back.outputs[1]).map(|n| &back.nodes[n]);
    let elided = node.and_then(|n| n.attrs.get("value"));
    let ty = TensorType::new(DType::F32, [17]);
    assert_eq!(elided, Some(&Attr::Elided { ty, hash: big_hash }));
}

#[test]
fn values_are_renumbered_densely_in_definition_order() {
    let text = r#"graph @g(%b: f32[2] "in", %a: f32[2]) {
  %z = add(%a, %b) : f32[2]
  %y, %x = split(%z) {axis = 0, split = [1, 1]} : f32[1], f32[1]
  return %x "out", %b
}"#;
    let want = r#"graph @g(%0: f32[2] "in", %1: f32[2]) {
  %2 = add(%1, %0) : f32[2]
  %3, %4 = split(%2) {axis = 0, split = [1, 1]} : f32[1], f32[1]
  return %4 "out", %0 "in"
}
"#;
    let g = parse_ok("g", text);
    assert_eq!(print(&g, &PLAIN), want);
    assert_eq!(g.to_string(), want, "Display uses the default options");
}

#[test]
fn nodes_without_results_have_no_equals_and_no_types() {
    // A split with no parts has no results (the verifier rejects it; the text form does not).
    let text = "graph @g(%0: f32[2]) {\n  split(%0) {axis = 0, split = []}\n  return %0\n}\n";
    let g = parse_ok("g", text);
    assert_eq!(g.nodes[g.order[0]].outputs.len(), 0);
    assert_eq!(print(&g, &PLAIN), text);
    let typed = text.replace("[]}", "[]} : f32[2]");
    assert_eq!(parse(&typed).err().map(|e| e.kind()), Some(ParseErrorKind::TypeCount));
}

#[test]
fn omitted_attributes_get_table_defaults() {
    let text = "graph @g(%x: f32[1,2], %w: f32[3,2]) {
  %y = gemm(%x, %w) {trans_b = 1} : f32[1,3]
  return %y
}";
    let g = parse_ok("g", text);
    let node = &g.nodes[g.order[0]];
    assert_eq!(node.attrs.float("alpha"), Ok(1.0));
    assert_eq!(node.attrs.float("beta"), Ok(1.0));
    assert_eq!(node.attrs.int("trans_a"), Ok(0));
    assert_eq!(node.attrs.int("trans_b"), Ok(1));
    assert!(print(&g, &PLAIN).contains(
        "{activation = \"none\", activation_params = [], alpha = 1.0, beta = 1.0, trans_a = 0, \
         trans_b = 1}"
    ));
}

#[test]
fn seeded_random_tensors_are_reproducible() {
    let text = "graph @g() {
  %a = const {value = tensor<f32[3,4]: random(seed = 5, lo = -2.0, hi = 3.0)>} : f32[3,4]
  %b = const {value = tensor<f64[3,4]: random(hi = 3.0, seed = 5, lo = -2.0)>} : f64[3,4]
  return %a, %b
}";
    let g = parse_ok("g", text);
    let want = asplit_ir::tensor::seeded_uniform(5, 12, -2.0, 3.0);
    let a = g.const_value(g.outputs[0]).and_then(|t| t.as_f32().map(<[f32]>::to_vec));
    assert_eq!(a, Some(want.clone()));
    let b = g.const_value(g.outputs[1]).map(|t| t.data().clone());
    let want64: Vec<f64> = want.iter().map(|&x| f64::from(x)).collect();
    assert_eq!(b, Some(TensorData::F64(want64)));
}

/// (snapshot name, source, expected kind).
const BAD: &[(&str, &str, ParseErrorKind)] = &[
    (
        "missing_close_paren",
        "graph @g(%0: f32[2], %1: f32[2]) {\n  %2 = add(%0, %1} : f32[2]\n  return %2\n}\n",
        ParseErrorKind::Syntax,
    ),
    (
        "unknown_op",
        "graph @g(%0: f32[1,3,8,8], %1: f32[4,3,3,3]) {\n  %2 = Conv(%0, %1) : f32[1,4,6,6]\n  return %2\n}\n",
        ParseErrorKind::UnknownOp,
    ),
    (
        "unknown_attr",
        "graph @g(%0: f32[1,3,8,8], %1: f32[4,3,3,3]) {\n  %2 = conv(%0, %1) {stride = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1]} : f32[1,4,6,6]\n  return %2\n}\n",
        ParseErrorKind::UnknownAttr,
    ),
    (
        "attr_kind",
        "graph @g(%0: f32[2,3]) {\n  %1 = softmax(%0) {axis = [1]} : f32[2,3]\n  return %1\n}\n",
        ParseErrorKind::AttrKind,
    ),
    (
        "missing_attr",
        "graph @g(%0: f32[2,3]) {\n  %1 = transpose(%0) : f32[3,2]\n  return %1\n}\n",
        ParseErrorKind::MissingAttr,
    ),
    (
        "undefined_value",
        "graph @g(%0: f32[2]) {\n  %1 = relu(%7) : f32[2]\n  return %1\n}\n",
        ParseErrorKind::UndefinedValue,
    ),
    (
        "redefined_value",
        "graph @g(%0: f32[2]) {\n  %1 = relu(%0) : f32[2]\n  %1 = relu(%1) : f32[2]\n  return %1\n}\n",
        ParseErrorKind::RedefinedValue,
    ),
    (
        "result_count",
        "graph @g(%0: f32[4]) {\n  %1, %2 = split(%0) {axis = 0, split = [1, 1, 2]} : f32[1], f32[1]\n  return %1\n}\n",
        ParseErrorKind::ResultCount,
    ),
    (
        "indices_result_count",
        "graph @g(%0: f32[1,1,4]) {\n  %1, %2 = max_pool(%0) {kernel_shape = [2], strides = [2], pads = [0, 0], dilations = [1]} : f32[1,1,2], i64[1,1,2]\n  return %1\n}\n",
        ParseErrorKind::ResultCount,
    ),
    (
        "type_count",
        "graph @g(%0: f32[2]) {\n  %1 = relu(%0) : f32[2], f32[2]\n  return %1\n}\n",
        ParseErrorKind::TypeCount,
    ),
    (
        "u8_out_of_range",
        "graph @g() {\n  %0 = const {value = tensor<u8[3]: [0, 255, 256]>} : u8[3]\n  return %0\n}\n",
        ParseErrorKind::Number,
    ),
    (
        "element_count",
        "graph @g() {\n  %0 = const {value = tensor<f32[2,3]: [1.0, 2.0, 3.0, 4.0, 5.0]>} : f32[2,3]\n  return %0\n}\n",
        ParseErrorKind::TensorElements,
    ),
    (
        "unterminated_string",
        "graph @g(%0: f32[2] \"input) {\n  return %0\n}\n",
        ParseErrorKind::Syntax,
    ),
    (
        "duplicate_attr",
        "graph @g(%0: f32[2,3]) {\n  %1 = softmax(%0) {axis = 1, axis = 0} : f32[2,3]\n  return %1\n}\n",
        ParseErrorKind::DuplicateAttr,
    ),
    (
        "operand_count",
        "graph @g(%0: f32[2]) {\n  %1 = add(%0) : f32[2]\n  return %1\n}\n",
        ParseErrorKind::OperandCount,
    ),
    (
        "conflicting_name",
        "graph @g(%0: f32[2] \"x\") {\n  return %0 \"y\"\n}\n",
        ParseErrorKind::ConflictingName,
    ),
    (
        "too_large",
        "graph @g() {\n  %0 = const {value = tensor<f32[65536,65536]: splat(0.0)>} : f32[65536,65536]\n  return %0\n}\n",
        ParseErrorKind::TooLarge,
    ),
    (
        "random_int",
        "graph @g() {\n  %0 = const {value = tensor<i64[4]: random(seed = 1)>} : i64[4]\n  return %0\n}\n",
        ParseErrorKind::TensorElements,
    ),
    (
        "f32_overflow",
        "graph @g(%0: f32[2]) {\n  %1 = leaky_relu(%0) {alpha = 1e39} : f32[2]\n  return %1\n}\n",
        ParseErrorKind::Number,
    ),
    (
        "i64_overflow",
        "graph @g(%0: f32[2]) {\n  %1 = softmax(%0) {axis = 9223372036854775808} : f32[2]\n  return %1\n}\n",
        ParseErrorKind::Number,
    ),
    (
        "missing_return",
        "graph @g(%0: f32[2]) {\n  %1 = relu(%0) : f32[2]\n}\n",
        ParseErrorKind::Syntax,
    ),
    (
        "trailing_text",
        "graph @g(%0: f32[2]) {\n  return %0\n}\ngraph @h() {\n",
        ParseErrorKind::Syntax,
    ),
    (
        "empty_input",
        "; nothing but a comment\n",
        ParseErrorKind::Syntax,
    ),
];

/// The errors worth a rendered snapshot (the others check kind and message only).
const SNAPSHOTTED: &[&str] = &[
    "missing_close_paren",
    "unknown_op",
    "unknown_attr",
    "attr_kind",
    "missing_attr",
    "undefined_value",
    "redefined_value",
    "result_count",
    "indices_result_count",
    "u8_out_of_range",
    "unterminated_string",
    "operand_count",
];

#[test]
fn parse_errors_have_kinds_spans_and_renderings() {
    for &(name, src, kind) in BAD {
        let e = match parse_named(&format!("{name}.air"), src) {
            Ok(_) => panic!("{name} parsed"),
            Err(e) => e,
        };
        assert_eq!(e.kind(), kind, "{name}: {}", render(&e));
        let span = e.span();
        assert!(span.offset() + span.len() <= src.len(), "{name}: span out of the source");
        if SNAPSHOTTED.contains(&name) {
            insta::assert_snapshot!(format!("error_{name}"), render(&e));
        }
    }
}

#[test]
fn error_messages_say_what_was_expected_and_found() {
    let e =
        parse("graph @g(%0: f32[2], %1: f32[2]) {\n  %2 = add(%0, %1} : f32[2]\n  return %2\n}")
            .err()
            .map(|e| e.message().to_string());
    assert_eq!(e.as_deref(), Some("expected `,` or `)` after operand, found `}`"));
    let e = parse("graph @g(%0: f32[2]) {\n  %1 = Relu(%0) : f32[2]\n  return %1\n}");
    assert_eq!(e.as_ref().err().and_then(|e| e.help_text()), Some("did you mean `relu`?"));
}

/// The largest element count of a `splat(..)` or `random(..)` tensor in `text` (so fuzzing
/// skips mutants that would legitimately materialize huge tensors; the limit has its own
/// test).
fn largest_materialized(text: &str) -> u128 {
    let mut largest = 0u128;
    for body in ["splat(", "random("] {
        for (at, _) in text.match_indices(body) {
            let Some(open) = text[..at].rfind("tensor<") else { continue };
            largest = largest.max(shape_product(&text[open..at]));
        }
    }
    largest
}

/// The product of the first `[d0,d1,...]` in `s` (0 if there is none).
fn shape_product(s: &str) -> u128 {
    let Some(open) = s.find('[') else { return 0 };
    let inner = s[open + 1..].split(']').next().unwrap_or("");
    inner
        .split(',')
        .map(|d| d.trim().parse::<u128>().unwrap_or(1))
        .fold(1u128, |a, x| a.saturating_mul(x))
}

/// Parses `text`; an error must have an in-bounds span and render; a success must round-trip.
fn check_no_panic(text: &str) {
    if largest_materialized(text) > 1 << 20 {
        return;
    }
    match parse(text) {
        Err(e) => {
            let span = e.span();
            assert!(span.offset() + span.len() <= text.len(), "span out of bounds for {text:?}");
            let _ = render(&e);
        }
        Ok(g) => {
            let _ = assert_round_trip("mutant", &g, &PLAIN);
        }
    }
}

#[test]
fn truncated_and_garbled_inputs_never_panic() {
    const PIECES: &[&str] = &[
        "{", "}", "(", ")", "[", "]", "<", ">", ",", ":", "=", "-", "%", "@", "\"", "\\", ";",
        "\n", " ", "0x", "é", "inf", "nan", "tensor<", "splat(", "random(", "hash(", "%0", "1e",
        ".", "f32[", "\u{0}", "1.5", "true",
    ];
    let mut s = 7u64;
    for path in data_files() {
        let (_, text) = read(&path);
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for &cut in &bounds {
            check_no_panic(&text[..cut]);
        }
        for _ in 0..400 {
            let mut t = text.clone();
            for _ in 0..1 + rng(&mut s) % 3 {
                let b: Vec<usize> = t.char_indices().map(|(i, _)| i).chain([t.len()]).collect();
                let i = b[(rng(&mut s) as usize) % b.len()];
                let j = b[(rng(&mut s) as usize) % b.len()];
                let (lo, hi) = (i.min(j), i.max(j).min(i.min(j) + 12));
                let hi = b.iter().copied().filter(|&x| x <= hi).max().unwrap_or(lo).max(lo);
                match rng(&mut s) % 3 {
                    0 => t.replace_range(lo..hi, ""),
                    1 => {
                        let piece = PIECES[(rng(&mut s) as usize) % PIECES.len()];
                        t.insert_str(lo, piece);
                    }
                    _ => {
                        let dup = t[lo..hi].to_string();
                        t.insert_str(hi, &dup);
                    }
                }
            }
            check_no_panic(&t);
        }
    }
}

#[test]
fn docs_ops_md_is_generated_from_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ops.md");
    let want = asplit_ir::opdoc::ops_markdown();
    if std::env::var("ASPLIT_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &want).expect("docs/ops.md is writable");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/ops.md is stale: run `ASPLIT_BLESS=1 cargo test -p asplit-ir --test text_format`"
    );
}
