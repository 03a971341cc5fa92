//! Malformed input never panics: thousands of randomly corrupted request frames and model
//! descriptions go through `wire::read_frame` and `ModelInfo::parse`, which must return
//! (an error, or for a frame whose corruption missed every checked byte, the same payload).
//! The corruptions come from a fixed-seed generator, so a failure reproduces.

mod common;

use asplit_runtime::meta::{ModelInfo, Role};
use asplit_runtime::wire::{self, Frame, FrameSpec};
use common::info;

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips, overwrites, cuts or extends `bytes` at random.
fn corrupt(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 => {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
            1 => {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            _ => b.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
        }
    }
    b
}

#[test]
fn corrupted_frames_are_errors_not_panics() {
    let spec = FrameSpec::request(&info(Role::Edge, 77));
    let good = wire::encode(&spec, 3, &[&[10, 20, 30, 40]]).expect("encodes");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut rejected = 0;
    for _ in 0..20_000 {
        let bad = corrupt(&mut rng, &good);
        match wire::read_frame(&mut &bad[..], &spec) {
            Err(_) => rejected += 1,
            Ok(Frame::Data { payloads, .. }) => {
                // Only bytes after the frame (ignored by a single read) may differ.
                assert!(bad.starts_with(&good), "a corrupted frame was accepted");
                assert_eq!(payloads, vec![vec![10, 20, 30, 40]]);
            }
            Ok(Frame::Error { .. }) => {
                assert!(bad.starts_with(&good), "a corrupted frame became an error frame")
            }
        }
    }
    assert!(rejected > 15_000, "{rejected}");
}

#[test]
fn corrupted_descriptions_are_errors_not_panics() {
    let text = info(Role::Cloud, 77).to_text();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..20_000 {
        let bad = corrupt(&mut rng, text.as_bytes());
        let s = String::from_utf8_lossy(&bad);
        // Whatever is accepted is a consistent description that round-trips.
        if let Ok(parsed) = ModelInfo::parse(&s) {
            assert_eq!(ModelInfo::parse(&parsed.to_text()), Ok(parsed));
        }
    }
}
