// Shared flag definitions and the model-opening helper used by run, chat, serve, info and bench.
#include "cli/flags.h"

#include <unistd.h>

#include <filesystem>

#include "cli/progress_bar.h"
#include "gemma4/hub.h"
#include "gemma4/hub_cache.h"

namespace gemma4::cli {

void AddModelFlags(CLI::App& app, ModelFlags& flags, bool model_required) {
  auto* m = app.add_option("-m,--model", flags.model, "Model package: a directory, or a Hugging Face repo id owner/name[@rev]")
                ->envname("GEMMA4_MODEL");
  if (model_required) m->required();
  app.add_option("--dtype", flags.dtype, "ONNX variant to load (q4, q4f16, fp16, fp32, ...)")
      ->envname("GEMMA4_DTYPE")->capture_default_str();
  app.add_option("-t,--threads", flags.runtime.threads, "Intra-op threads (0: one per core)")
      ->envname("GEMMA4_THREADS")->check(CLI::Range(0, 1024))->capture_default_str();
  app.add_option("-c,--ctx-size", flags.runtime.max_context, "Context size in tokens (0: the model's maximum)")
      ->envname("GEMMA4_CTX_SIZE")->capture_default_str();
  app.add_option("--device", flags.runtime.device, "Device of the decoder graph")
      ->check(CLI::IsMember({"cpu", "cuda"}))->envname("GEMMA4_DEVICE")->capture_default_str();
  app.add_option("--embed-device", flags.runtime.embed_device, "Device of the embedding graph (cpu keeps its tables off the GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))->envname("GEMMA4_EMBED_DEVICE")->capture_default_str();
  app.add_option("--prefill-chunk", flags.runtime.prefill_chunk, "Prefill at most this many tokens per decoder call (0: all, or 128 when the graph lacks num_logits_to_keep)")
      ->envname("GEMMA4_PREFILL_CHUNK")->capture_default_str();
  app.add_flag("!--no-kv-prefill", flags.runtime.kv_prefill,
               "Prefill every prompt token through the whole decoder (default: all but the last go through a copy "
               "pruned to the KV-owning layers)");
  app.add_flag("!--no-kv-in-place", flags.runtime.kv_in_place,
               "Copy every KV cache into a second buffer each step (default: layers whose attention can update "
               "its cache in place, e.g. GroupQueryAttention, write only the new positions)");
  app.add_flag("--fuse-norms", flags.runtime.fuse_norms,
               "Rewrite RMSNorms spelt out in elementary ops into SimplifiedLayerNormalization at load (fewer "
               "kernels per step; rounds differently, so near-ties may resolve otherwise than the unfused graph)");
  app.add_flag("!--no-lm-head-in-place", flags.runtime.lm_head_in_place,
               "Keep a float LM head on ONNX Runtime's MatMul, which holds a float32 copy of its weight (default: "
               "gemma4's float kernel reads the weight in place, where a probe at load shows it gives ONNX Runtime's "
               "results bit for bit)");
  app.add_option("--lm-head-quant", flags.runtime.lm_head_quant,
                 "Re-quantize a float LM head at load: int8 (MatMulNBits, 8 bits, block 32; faster and smaller, changes "
                 "the logits: `gemma4 info --lm-head-quant int8` measures by how much). Does nothing to a head that is "
                 "already MatMulNBits")
      ->check(CLI::IsMember({"int8"}))->envname("GEMMA4_LM_HEAD_QUANT");
  app.add_option("--kernels", flags.runtime.kernels,
                 "MatMulNBits kernel: ort (ONNX Runtime's) or gemma4 (ours, int4 x int8, weights read in place, float32 "
                 "graphs; GEMMA4_KERNEL_ISA=scalar|avx2|avxvnni|avx512vnni forces its CPU target)")
      ->check(CLI::IsMember({"gemma4", "ort"}))->envname("GEMMA4_KERNELS")->capture_default_str();
  app.add_option("--attention", flags.runtime.attention,
                 "GroupQueryAttention kernel for decode steps: ort (ONNX Runtime's) or gemma4 (ours: each cached row read "
                 "once for all query heads, only inside a sliding window; prompts stay on ONNX Runtime's)")
      ->check(CLI::IsMember({"gemma4", "ort"}))->envname("GEMMA4_ATTENTION")->capture_default_str();
  app.add_flag("--kv-window,!--no-kv-window", flags.runtime.kv_window,
               "Sliding-window layers keep only their window plus a rollback margin, where the graph allows it "
               "(default off: every layer keeps the whole history)");
  app.add_option("--kv-window-margin", flags.runtime.kv_window_margin,
                 "Positions sliding-window layers keep beyond their window, so that rewinding that far stays cheap "
                 "(0: one window; a rewind further back re-prefills the conversation)")
      ->capture_default_str();
  app.add_option("--graph-opt", flags.runtime.graph_optimization_level, "ONNX Runtime graph optimisation level (0, 1, 2, 99)")
      ->check(CLI::IsMember({0, 1, 2, 99}))->capture_default_str();
}

std::string DemoModelPath() {
  // The build writes the demo package next to the executable: <build>/demo-model.
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  buf[n] = 0;
  std::filesystem::path demo = std::filesystem::path(buf).parent_path() / "demo-model";
  std::error_code ec;
  return std::filesystem::is_directory(demo, ec) ? demo.string() : std::string();
}

std::string ResolveModelArg(const ModelFlags& flags) {
  PullOptions options;
  options.dtype = flags.dtype;
  std::unique_ptr<ProgressBar> bar;
  options.progress = PullProgressPrinter(bar, "pull " + flags.model);
  return ResolveOrPull(flags.model, options).string();
}

Package OpenModelPackage(const ModelFlags& flags) {
  return OpenPackage(ResolveModelArg(flags), PackageOptions{flags.dtype});
}

}  // namespace gemma4::cli

#include "gemma4/model.h"
#include "gemma4/sampling.h"

namespace gemma4::cli {

void AddSamplingFlags(CLI::App& app, SamplingFlags& f) {
  app.add_option("-n,--n-predict", f.max_new_tokens, "Maximum new tokens (0: until the context is full)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  f.temp_opt = app.add_option("--temp", f.temperature, "Temperature; 0 is greedy (default: generation_config.json)")
                   ->check(CLI::NonNegativeNumber);
  f.top_k_opt = app.add_option("--top-k", f.top_k, "Keep the K most likely tokens; 0 is off (default: generation_config.json)")
                    ->check(CLI::NonNegativeNumber);
  f.top_p_opt = app.add_option("--top-p", f.top_p, "Nucleus sampling mass in (0, 1] (default: generation_config.json)");
  f.min_p_opt = app.add_option("--min-p", f.min_p, "Drop tokens below min-p times the top probability");
  f.typical_opt = app.add_option("--typical-p", f.typical_p, "Locally typical sampling mass in (0, 1]");
  f.repeat_opt = app.add_option("--repeat-penalty", f.repeat_penalty, "Repetition penalty (1 is off)");
  app.add_option("--presence-penalty", f.presence_penalty, "OpenAI presence penalty in [-2, 2]");
  app.add_option("--frequency-penalty", f.frequency_penalty, "OpenAI frequency penalty in [-2, 2]");
  f.seed_opt = app.add_option("-s,--seed", f.seed, "RNG seed; the same seed gives the same text (default: random)");
  app.add_option("--stop", f.stop, "Stop when this text appears (not printed); repeatable")->take_all();
  app.add_flag("--ignore-eos", f.ignore_eos, "Keep generating past end-of-sequence tokens");
}

SamplingParams ResolveSampling(const SamplingFlags& f, const Model& model) {
  SamplingOverrides o;
  if (f.temp_opt->count()) o.temperature = f.temperature;
  if (f.top_k_opt->count()) o.top_k = f.top_k;
  if (f.top_p_opt->count()) o.top_p = f.top_p;
  if (f.min_p_opt->count()) o.min_p = f.min_p;
  if (f.typical_opt->count()) o.typical_p = f.typical_p;
  if (f.repeat_opt->count()) o.repetition_penalty = f.repeat_penalty;
  o.presence_penalty = f.presence_penalty;
  o.frequency_penalty = f.frequency_penalty;
  if (f.seed_opt->count()) o.seed = f.seed;
  return gemma4::ResolveSampling(SamplingParamsFromGenerationConfig(model.package().generation.sampling), o,
                                 RandomSeed());
}

}  // namespace gemma4::cli
