//! Planning annotations (phase, placement, quantization) in the text form and the verifier:
//! they round-trip exactly, the hand-written Planned and Split files in `tests/data/`
//! verify, and each planning invariant of `verify.rs` is rejected when broken.

use asplit_ir::graph::{Graph, Phase, Placement};
use asplit_ir::ops::OpKind;
use asplit_ir::parse::{parse, ParseErrorKind};
use asplit_ir::print::{print, PrintOptions};
use asplit_ir::quant::{QuantParams, Scheme};
use asplit_ir::verify::verify;
use std::path::Path;

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read_to_string(path).expect("data file")
}

fn parsed(text: &str) -> Graph {
    parse(text).unwrap_or_else(|e| panic!("does not parse: {e}\n{text}"))
}

/// Every violation message, one per line.
fn violations(text: &str) -> String {
    match verify(&parsed(text)) {
        Ok(()) => String::new(),
        Err(v) => v.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\n"),
    }
}

/// The placement of each live node in order and the quantization of each value, by dense
/// position (inputs, then node results in order).
type Annotations = (Vec<Option<Placement>>, Vec<Option<QuantParams>>);

fn annotations(g: &Graph) -> Annotations {
    let places = g.order.iter().map(|n| g.placement.get(n).copied()).collect();
    let values =
        g.inputs.iter().copied().chain(g.order.iter().flat_map(|&n| g.nodes[n].outputs.clone()));
    (places, values.map(|v| g.quant.get(&v).cloned()).collect())
}

#[test]
fn planned_and_split_files_verify_and_round_trip_their_annotations() {
    for (file, phase) in [("planned.air", Phase::Planned), ("boundary.air", Phase::Split)] {
        let g = parsed(&data(file));
        assert_eq!(g.phase, phase, "{file}");
        verify(&g).unwrap_or_else(|v| panic!("{file}: {v:?}"));
        let text = print(&g, &PrintOptions::default());
        let back = parsed(&text);
        assert_eq!(back.phase, g.phase);
        assert_eq!(annotations(&back), annotations(&g), "{file}");
        assert_eq!(print(&back, &PrintOptions::default()), text);
    }
}

#[test]
fn quantization_annotation_reads_back_bit_exactly() {
    let g = parsed(&data("planned.air"));
    let (places, quants) = annotations(&g);
    assert!(places.iter().all(Option::is_some));
    let w = quants[1].as_ref().expect("the weight is annotated");
    assert_eq!((w.bits, w.scheme, w.axis), (4, Scheme::Symmetric, Some(0)));
    assert_eq!(w.scale, vec![0.1, 0.1, 0.04285714]);
    assert_eq!(w.zero_point, vec![0, 0, 0]);
    let x = quants[0].as_ref().expect("the input is annotated");
    assert_eq!((x.bits, x.scheme, x.axis, x.zero_point[0]), (8, Scheme::Asymmetric, None, 128));
    assert!(quants[4].is_none(), "the cloud's result is not quantized");
}

#[test]
fn every_scheme_and_layout_round_trips() {
    let cases = [
        QuantParams::asymmetric(3, -1.5, 2.0).unwrap(),
        QuantParams::symmetric(16, 3.0).unwrap(),
        QuantParams::symmetric_per_channel(2, &[1.0, 1e-7, 250.0], Some(1)).unwrap(),
        QuantParams {
            bits: 5,
            scheme: Scheme::Asymmetric,
            scale: vec![0.5, 0.25, 0.125],
            zero_point: vec![0, 7, 31],
            axis: Some(1),
        },
    ];
    for p in cases {
        let mut g = parsed("graph @g(%x: f32[2,3]) phase(planned) {\n  %r = relu(%x) : f32[2,3] @edge\n  return %r\n}\n");
        let r = g.nodes[g.order[0]].outputs[0];
        g.quant.insert(r, p.clone());
        let text = print(&g, &PrintOptions::default());
        let back = parsed(&text);
        let r2 = back.nodes[back.order[0]].outputs[0];
        assert_eq!(back.quant.get(&r2), Some(&p), "{text}");
        assert_eq!(verify(&back), Ok(()), "{text}");
    }
}

#[test]
fn malformed_annotations_are_parse_errors() {
    let cases = [
        ("%r = relu(%x) : f32[2] @moon", "unknown placement `@moon`"),
        ("%r = relu(%x) : f32[2] quant<x4, 1.0> @edge", "a quantized type"),
        ("%r = relu(%x) : f32[2] quant<u17, 1.0> @edge", "a quantized type"),
        ("%r = relu(%x) : f32[2] quant<i4:-1, {1.0}> @edge", "channel axis -1 is negative"),
        ("%r = relu(%x) : f32[2] quant<u4, 1.0:99999999999> @edge", "does not fit in i32"),
        ("%r = relu(%x) : f32[2] quant<u4, 1.0 @edge", "`>` to close"),
    ];
    for (node, want) in cases {
        let text = format!("graph @g(%x: f32[2]) phase(planned) {{\n  {node}\n  return %r\n}}\n");
        let err = parse(&text).expect_err(node);
        assert!(err.to_string().contains(want), "{node}: {err}");
        assert!(matches!(err.kind(), ParseErrorKind::Syntax | ParseErrorKind::Number), "{node}");
    }
    let err = parse("graph @g(%x: f32[2]) phase(done) {\n  return %x\n}\n").unwrap_err();
    assert!(err.to_string().contains("`planned` or `split`"), "{err}");
}

const SPLIT_HEAD: &str = "graph @g(%x: f32[1,4]) phase(split) {\n";

#[test]
fn verifier_rejects_a_cloud_node_reading_an_edge_value_directly() {
    let text = format!(
        "{SPLIT_HEAD}  %a = relu(%x) : f32[1,4] @edge\n  %b = sigmoid(%a) : f32[1,4] @cloud\n  return %b\n}}\n"
    );
    let v = violations(&text);
    assert!(
        v.contains(
            "node 1 (sigmoid): runs on the cloud but reads operand 0, an edge value, directly"
        ),
        "{v}"
    );
    // The same graph is a fine Planned graph: the crossing is still implicit there.
    assert_eq!(violations(&text.replace("phase(split)", "phase(planned)")), "");
    // A graph input is an edge value too.
    let text = format!("{SPLIT_HEAD}  %b = sigmoid(%x) : f32[1,4] @cloud\n  return %b\n}}\n");
    assert!(violations(&text).contains("reads operand 0, an edge value, directly"));
}

#[test]
fn verifier_accepts_the_boundary_and_checks_its_slots() {
    let good = format!(
        "{SPLIT_HEAD}  %a = relu(%x) : f32[1,4] @edge\n  %s = send(%a) {{slot = 0}} : f32[1,4] @edge\n  %r = recv(%s) {{slot = 0}} : f32[1,4] @cloud\n  %b = sigmoid(%r) : f32[1,4] @cloud\n  return %b\n}}\n"
    );
    assert_eq!(violations(&good), "");
    let v = violations(&good.replace("%r = recv(%s) {slot = 0}", "%r = recv(%s) {slot = 1}"));
    assert!(v.contains("`recv` slot Some(1) differs from its `send`'s slot Some(0)"), "{v}");
    let v = violations(&good.replace(
        "%r = recv(%s) {slot = 0} : f32[1,4] @cloud",
        "%r = recv(%a) {slot = 0} : f32[1,4] @cloud",
    ));
    assert!(v.contains("`recv` must read the result of a `send`"), "{v}");
    let v =
        violations(&good.replace(
            "send(%a) {slot = 0} : f32[1,4] @edge",
            "send(%a) {slot = 0} : f32[1,4] @cloud",
        ));
    assert!(v.contains("`send` runs on the edge"), "{v}");
    let v = violations(&good.replace("phase(split)", "phase(planned)"));
    assert!(v.contains("`send` appears only in a `phase(split)` graph"), "{v}");
    let twice = good.replace(
        "  return %b",
        "  %s2 = send(%a) {slot = 0} : f32[1,4] @edge\n  %r2 = recv(%s2) {slot = 0} : f32[1,4] @cloud\n  %c = add(%b, %r2) : f32[1,4] @cloud\n  return %c",
    );
    assert!(
        violations(&twice).contains("slot 0 is already sent by node 1"),
        "{}",
        violations(&twice)
    );
}

#[test]
fn verifier_checks_placement_and_quantization() {
    let head = "graph @g(%x: f32[1,4]) phase(planned) {\n";
    let v = violations(&format!("{head}  %a = relu(%x) : f32[1,4]\n  return %a\n}}\n"));
    assert!(v.contains("node 0 (relu): has no placement"), "{v}");
    let v = violations(&format!(
        "{head}  %a = relu(%x) : f32[1,4] @cloud\n  %b = sigmoid(%a) : f32[1,4] @edge\n  return %b\n}}\n"
    ));
    assert!(
        v.contains("node 1 (sigmoid): runs on the edge but operand 0 is produced on the cloud"),
        "{v}"
    );
    let v = violations(&format!(
        "{head}  %a = relu(%x) : f32[1,4] quant<u4, 0.5:0> @cloud\n  return %a\n}}\n"
    ));
    assert!(v.contains("result 0 is quantized but not on the edge"), "{v}");
    let v = violations(&format!(
        "{head}  %a = relu(%x) : f32[1,4] quant<u4:1, {{0.5:0, 0.5:0}}> @edge\n  return %a\n}}\n"
    ));
    assert!(
        v.contains("2 scale(s) / zero point(s) for a tensor with 4 channel(s) on axis 1"),
        "{v}"
    );
    let v = violations(&format!(
        "{head}  %a = relu(%x) : f32[1,4] quant<u4, 0.5:16> @edge\n  return %a\n}}\n"
    ));
    assert!(v.contains("zero point 16 is outside 0..=15"), "{v}");
    let v =
        violations("graph @g(%x: f32[1,4]) {\n  %a = relu(%x) : f32[1,4] @edge\n  return %a\n}\n");
    assert!(v.contains("annotations on a graph without `phase(planned)`"), "{v}");
    let v = violations(&format!(
        "{SPLIT_HEAD}  %a = relu(%x) : f32[1,4] quant<u4, 0.5:0> @edge\n  return %a\n}}\n"
    ));
    assert!(v.contains("keeps a quantization annotation in the Split phase"), "{v}");
}

#[test]
fn split_outputs_come_from_the_cloud_when_it_runs() {
    let text = format!(
        "{SPLIT_HEAD}  %a = relu(%x) : f32[1,4] @edge\n  %s = send(%a) {{slot = 0}} : f32[1,4] @edge\n  %r = recv(%s) {{slot = 0}} : f32[1,4] @cloud\n  %b = sigmoid(%r) : f32[1,4] @cloud\n  return %b, %a\n}}\n"
    );
    assert!(violations(&text).contains("output 1 is an edge value"), "{}", violations(&text));
    // Edge-only: nothing runs on the cloud, the edge returns the outputs.
    let edge_only = format!("{SPLIT_HEAD}  %a = relu(%x) : f32[1,4] @edge\n  return %a\n}}\n");
    assert_eq!(violations(&edge_only), "");
}

#[test]
fn constants_are_readable_from_either_side() {
    let text = format!(
        "{SPLIT_HEAD}  %k = const {{value = tensor<f32[1,4]: splat(1.0)>}} : f32[1,4] @edge\n  %a = add(%x, %k) : f32[1,4] @edge\n  %s = send(%a) {{slot = 0}} : f32[1,4] @edge\n  %r = recv(%s) {{slot = 0}} : f32[1,4] @cloud\n  %b = mul(%r, %k) : f32[1,4] @cloud\n  return %b\n}}\n"
    );
    assert_eq!(violations(&text), "");
    let g = parsed(&text);
    assert!(g.live_nodes().any(|(_, n)| n.op == OpKind::Recv));
}
