//! The code-generation target: triple, CPU and features (the host's by default), the
//! optimisation pipeline (`default<O3>` of LLVM's new pass manager) and object emission.
//!
//! [`Target::lanes`] is the f32 vector width the kernels are written for: 16 with AVX-512,
//! 8 with AVX, 4 otherwise. Cross targets (`aarch64-unknown-linux-gnu`, …) work when the
//! installed LLVM has their backend. This file knows nothing about graphs or kernels.

use crate::error::CodegenError;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target as LlvmTarget, TargetMachine,
    TargetTriple,
};
use inkwell::OptimizationLevel;
use std::path::Path;
use std::sync::Once;

/// What to compile for; `None` fields mean "the host's".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetSpec {
    /// Target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub triple: Option<String>,
    /// CPU name, e.g. `skylake-avx512` (host triple: host CPU; else `generic`).
    pub cpu: Option<String>,
    /// Feature string, e.g. `+avx2,+fma`.
    pub features: Option<String>,
}

/// A configured LLVM target machine.
pub struct Target {
    machine: TargetMachine,
    /// Triple in use.
    pub triple: String,
    /// CPU in use.
    pub cpu: String,
    /// Features in use.
    pub features: String,
    /// f32 lanes of the widest vector registers worth using.
    pub lanes: u32,
}

static INIT: Once = Once::new();

fn init_llvm() {
    INIT.call_once(|| {
        // Every backend the installed LLVM has, so cross triples resolve too.
        LlvmTarget::initialize_all(&InitializationConfig::default());
    });
}

impl Target {
    /// The host: its triple, CPU and features.
    pub fn host() -> Result<Target, CodegenError> {
        Target::new(&TargetSpec::default())
    }

    /// The target `spec` describes.
    pub fn new(spec: &TargetSpec) -> Result<Target, CodegenError> {
        init_llvm();
        let host_triple = TargetMachine::get_default_triple();
        let host = host_triple.as_str().to_string_lossy().into_owned();
        let triple_s = spec.triple.clone().unwrap_or(host.clone());
        let is_host = triple_s == host;
        let triple = TargetTriple::create(&triple_s);
        let llvm = LlvmTarget::from_triple(&triple)
            .map_err(|e| CodegenError::llvm(format!("target {triple_s}: {e}")))?;
        let cpu = spec.cpu.clone().unwrap_or_else(|| {
            if is_host {
                TargetMachine::get_host_cpu_name().to_string()
            } else {
                "generic".into()
            }
        });
        let features = spec.features.clone().unwrap_or_else(|| {
            if is_host && spec.cpu.is_none() {
                TargetMachine::get_host_cpu_features().to_string()
            } else {
                String::new()
            }
        });
        let machine = llvm
            .create_target_machine(
                &triple,
                &cpu,
                &features,
                OptimizationLevel::Aggressive,
                RelocMode::PIC,
                CodeModel::Default,
            )
            .ok_or_else(|| CodegenError::llvm(format!("no target machine for {triple_s} {cpu}")))?;
        let lanes = lanes_for(&triple_s, &cpu, &features);
        Ok(Target { machine, triple: triple_s, cpu, features, lanes })
    }

    /// Sets the module's triple and data layout to this target's.
    pub fn configure(&self, module: &Module<'_>) {
        module.set_triple(&self.machine.get_triple());
        module.set_data_layout(&self.machine.get_target_data().get_data_layout());
    }

    /// Runs LLVM's `default<O3>` pipeline on `module`.
    pub fn optimize(&self, module: &Module<'_>) -> Result<(), CodegenError> {
        self.run_passes(module, "default<O3>")
    }

    /// Runs the pass pipeline `passes` (new pass manager syntax) on `module`.
    pub fn run_passes(&self, module: &Module<'_>, passes: &str) -> Result<(), CodegenError> {
        let opts = PassBuilderOptions::create();
        opts.set_loop_vectorization(true);
        opts.set_loop_slp_vectorization(true);
        opts.set_loop_unrolling(true);
        opts.set_loop_interleaving(true);
        opts.set_merge_functions(false);
        module
            .run_passes(passes, &self.machine, opts)
            .map_err(|e| CodegenError::llvm(format!("pass pipeline {passes}: {e}")))
    }

    /// The object file of `module`, in memory.
    pub fn object_bytes(&self, module: &Module<'_>) -> Result<Vec<u8>, CodegenError> {
        let buf = self
            .machine
            .write_to_memory_buffer(module, FileType::Object)
            .map_err(|e| CodegenError::llvm(format!("object emission: {e}")))?;
        Ok(buf.as_slice().to_vec())
    }

    /// Writes the object file of `module` to `path`.
    pub fn write_object(&self, module: &Module<'_>, path: &Path) -> Result<(), CodegenError> {
        let bytes = self.object_bytes(module)?;
        std::fs::write(path, bytes)
            .map_err(|source| CodegenError::Io { path: path.display().to_string(), source })
    }

    /// One line naming the target (goes into the fingerprint and `--info`).
    pub fn describe(&self) -> String {
        format!("{} cpu={} lanes={}", self.triple, self.cpu, self.lanes)
    }
}

/// f32 lanes for a triple/CPU/feature string.
fn lanes_for(triple: &str, cpu: &str, features: &str) -> u32 {
    let has = |f: &str| features.split(',').any(|x| x == f);
    if triple.starts_with("x86_64") || triple.starts_with("i686") {
        if has("+avx512f") || (features.is_empty() && cpu.contains("avx512")) {
            16
        } else if has("+avx") || (features.is_empty() && cpu_has_avx(cpu)) {
            8
        } else {
            4
        }
    } else {
        4
    }
}

fn cpu_has_avx(cpu: &str) -> bool {
    ["haswell", "skylake", "znver", "icelake", "sapphirerapids", "alderlake", "broadwell"]
        .iter()
        .any(|c| cpu.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_follow_the_features() {
        assert_eq!(lanes_for("x86_64-unknown-linux-gnu", "x", "+avx512f,+avx2,+avx"), 16);
        assert_eq!(lanes_for("x86_64-unknown-linux-gnu", "x", "-avx512f,+avx2,+avx"), 8);
        assert_eq!(lanes_for("x86_64-unknown-linux-gnu", "x", "+sse2"), 4);
        assert_eq!(lanes_for("aarch64-unknown-linux-gnu", "generic", ""), 4);
    }

    #[test]
    fn host_target_builds_and_unknown_triples_are_errors() {
        let t = Target::host().expect("host target");
        assert!(t.lanes >= 4);
        let bad = TargetSpec { triple: Some("nonsense-none-none".into()), ..Default::default() };
        assert!(matches!(Target::new(&bad), Err(CodegenError::Llvm(_))));
    }
}
