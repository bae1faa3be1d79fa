// The ONNX Runtime layer: the two sessions of a package (embedding graph and decoder graph) and
// one forward step over a KV cache. No ONNX Runtime type appears here; see src/runtime/ for the
// wrappers, and src/runtime/discovered_io.h for what the sessions were found to take and return.
#pragma once

#include <atomic>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gemma4/package.h"

namespace gemma4 {

// Which ONNX Runtime this process loaded, and what it can do.
struct OrtInfo {
  std::string version;        // "1.30.0"
  std::string library_path;   // the shared object actually mapped
  int api_version = 0;        // the C API version we requested (from the headers we built with)
  std::vector<std::string> providers;  // "CPUExecutionProvider", "CUDAExecutionProvider", ...
};
// Loads the ONNX Runtime API on first use; throws Error(kRuntime) when the library is too old.
const OrtInfo& GetOrtInfo();

// Our own CPU kernels (src/kernels/) as this process would use them.
struct KernelInfo {
  std::string isa;                      // the int4 kernel's target: "avx512vnni", "avxvnni", "avx2", "scalar"
  std::vector<std::string> supported;   // every target this CPU runs, slowest first
  std::string cpu_features;             // "avx2 fma f16c avx_vnni avx512f ..." as found by CPUID/XGETBV
};
// Throws Error(kInvalidArgument/kUnsupported) when GEMMA4_KERNEL_ISA names an unknown or
// unsupported target.
KernelInfo GetKernelInfo();

struct RuntimeOptions {
  int threads = 0;                       // intra-op threads; 0 lets ONNX Runtime pick (one per core)
  std::string device = "cpu";            // decoder: "cpu" or "cuda"
  std::string embed_device = "cpu";      // embedding graph; "cpu" keeps the big tables off the GPU
  int graph_optimization_level = 99;     // 0 none, 1 basic, 2 extended, 99 all
  size_t max_context = 0;                // 0: the model's max_position_embeddings
  size_t prefill_chunk = 0;              // tokens per prefill call; 0: the whole prompt in one call, or
                                         // 128 when the decoder lacks num_logits_to_keep (its logits
                                         // cover every position: this bounds that buffer)
  bool kv_prefill = true;                // prefill all but the last tokens through a copy of the decoder
                                         // pruned to its KV outputs (skips the KV-shared layers and the
                                         // LM head); off: every prompt token runs the whole graph
  bool kv_in_place = true;               // update caches in place where the graph allows it (past and
                                         // present bound to one buffer: GroupQueryAttention); off: every
                                         // step writes present.* into a second buffer (a full copy)
  bool fuse_norms = false;               // rewrite RMSNorms spelt out in elementary ops (Reciprocal/Sqrt,
                                         // Pow -0.5) into SimplifiedLayerNormalization at load, where the
                                         // pattern matches exactly (runtime/onnx_norm_fusion.h). Off by
                                         // default: the fused kernel rounds differently (float32 ulps),
                                         // which can flip a near-tie against the unfused graph
                                         // transformers.js and the model card's loop run
  std::string kernels = "ort";           // MatMulNBits on the CPU: "gemma4" runs the float32 nodes our int4
                                         // kernel handles (4-bit, block 32, accuracy_level 4) on it, reading
                                         // the weights in place; "ort" keeps ONNX Runtime's kernel everywhere
                                         // (the default until the greedy tokens match the references on every
                                         // test package, see docs/BENCHMARKS.md)
  std::string attention = "ort";         // GroupQueryAttention on the CPU: "gemma4" runs decode steps (up to 8
                                         // new positions after a past) on our decode attention kernel, which
                                         // reads each cached row once for all the query heads that share it and
                                         // only inside a sliding window; prompts stay on ONNX Runtime's operator.
                                         // "ort" keeps ONNX Runtime's everywhere (the default until the greedy
                                         // tokens match the references on every test package)
  bool kv_window = false;                // sliding-window layers keep only their window where the graph
                                         // allows it (onnx_kv_window.h); off: every cache keeps all.
                                         // Off by default for now: on graphs whose MatMulNBits quantize
                                         // activations (accuracy_level 4) the shorter key range rounds
                                         // differently enough to flip near-ties (docs/BENCHMARKS.md)
  size_t kv_window_margin = 0;           // positions kept beyond the window so that a rewind (rejected
                                         // draft tokens, prefix reuse) stays a length change; 0: one
                                         // window. A rewind further back re-prefills the conversation
  bool lm_head_in_place = true;          // a float LM head (MatMul over a float16 or float32 [K, N] initializer,
                                         // float32 activations) runs on gemma4's float kernel, which reads the
                                         // weight where ONNX Runtime maps it instead of holding a float32 copy
                                         // (the constant-folded Cast, the packed B: 1.6 GB at Gemma's 262144 x
                                         // 1536). Only where a probe at load shows it gives ONNX Runtime's
                                         // results bit for bit (runtime/onnx_lm_head.h, runtime/lm_head.h);
                                         // off: ONNX Runtime's MatMul
  std::string lm_head_quant;             // "int8": re-quantize a float LM head at load to MatMulNBits, 8 bits,
                                         // block 32 (about a quarter of a float32 copy; changes the logits,
                                         // `gemma4 info` measures by how much). "": the head as exported. Does
                                         // nothing to a head that is already MatMulNBits (LmHeadInfo::note says so)
  bool profile = false;                  // write ONNX Runtime profiles (profile_prefix below)
  std::string profile_prefix = "gemma4_profile";
};

// How the decoder's LM head (the node that computes the logits) runs, decided at load.
struct LmHeadInfo {
  std::string form;        // what the graph has, e.g. "MatMul, float16 weight [1536, 262144] through a Cast to
                           // float32", "MatMulNBits (4 bits)", "not found"
  std::string kernel;      // what runs it: "onnxruntime", "gemma4 float kernel", "onnxruntime MatMulNBits int8"
  std::string note;        // why it runs so (what a probe found, why an edit does not apply)
  bool in_place = false;   // on gemma4's float kernel, the weight read where ONNX Runtime maps it
  bool quantized = false;  // re-quantized to int8 at load (RuntimeOptions::lm_head_quant)
};

// Checks `device` names an available provider; throws Error(kUnsupported) naming the loaded
// library and its providers when it does not ("cuda" on a CPU-only build).
void CheckDeviceAvailable(const std::string& device);

class KvState;

// Both sessions of a package. Immutable after construction and safe to share between threads:
// every call takes the per-conversation KvState it works on.
class Runtime {
 public:
  Runtime(const Package& package, const RuntimeOptions& options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const;
  size_t max_context() const;  // effective limit on cached + new tokens
  size_t vocab_size() const;   // logits per position: the last dimension of the decoder's logits
  // Whether prefill uses the decoder pruned to its KV outputs (RuntimeOptions::kv_prefill and a
  // graph that could be pruned: no subgraphs, some nodes not needed by present.*).
  bool has_kv_prefill() const;
  // How many RMSNorms the load-time rewrite fused into SimplifiedLayerNormalization (0 when off or
  // when the graph has none it recognises; ONNX Runtime may still fuse some forms itself).
  size_t rms_norms_fused() const;
  // What computes the logits and on which kernel (RuntimeOptions::lm_head_in_place, lm_head_quant).
  const LmHeadInfo& lm_head() const;
  // MatMulNBits nodes of the decoder's sessions on our int4 kernel and on ONNX Runtime's.
  size_t own_kernel_nodes() const;
  size_t ort_kernel_nodes() const;
  // GroupQueryAttention nodes of the decoder's sessions on our decode attention kernel and left on
  // ONNX Runtime's alone.
  size_t own_attention_nodes() const;
  size_t ort_attention_nodes() const;

  // Where the KV caches (and a split decoder's boundary tensors) live: host mappings, or the
  // decoder's CUDA memory ("cuda:0 (...)"), so that a step moves only new ids in and logits out.
  std::string kv_memory() const;

  // A fresh, empty cache for one conversation.
  std::unique_ptr<KvState> NewState() const;

  // Runs `ids` through the embedding graph and the decoder on top of `state`, appending them
  // to the cache. Returns the logits of the last `logits_to_keep` positions as float32, row-major
  // [logits_to_keep, vocab], valid until the next Forward on `state`.
  // Throws Error(kLimit) when the context would exceed max_context(); the state is unchanged then.
  std::span<const float> Forward(KvState& state, std::span<const int32_t> ids, size_t logits_to_keep = 1) const;

 private:
  // What the sessions were discovered to take and return is the library's own business: its code
  // reads it through runtime/discovered_io.h.
  friend struct RuntimeAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The KV cache of one conversation and the tokens it holds.
class KvState {
 public:
  virtual ~KvState() = default;
  virtual size_t length() const = 0;                    // tokens in the cache
  virtual const std::vector<int32_t>& tokens() const = 0;
  // Drops everything after the first `length` tokens (no-op when already that short).
  virtual void Truncate(size_t length) = 0;
  virtual std::unique_ptr<KvState> Clone() const = 0;   // deep copy (costly: copies the cache)

  // Wall time spent inside ONNX Runtime's Run (embedding and decoder graphs) by every Forward on
  // this state so far: what `gemma4 bench` subtracts from a step to get the host work around it.
  double ort_run_ms() const { return ort_run_ms_; }
  void AddOrtRunMs(double ms) { ort_run_ms_ += ms; }

  // Stops a Forward on this state that another thread is running, as soon as ONNX Runtime lets
  // it (a long prefill need not finish first): that Forward throws Error(kCancelled) and leaves
  // the state as it was before the call, and later ones do too until ClearInterrupt(). Safe to
  // call from any thread, with or without a Forward running.
  void Interrupt() {
    interrupted_ = true;
    OnInterrupt();
  }
  void ClearInterrupt() {
    interrupted_ = false;
    OnClearInterrupt();
  }
  bool interrupted() const { return interrupted_; }

 protected:
  virtual void OnInterrupt() {}
  virtual void OnClearInterrupt() {}

 private:
  double ort_run_ms_ = 0;
  std::atomic<bool> interrupted_{false};
};

}  // namespace gemma4
