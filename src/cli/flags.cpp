// Shared flag definitions and the model-opening helper used by run, chat, serve, info and bench.
#include "cli/flags.h"

#include <unistd.h>

#include <filesystem>

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
  app.add_option("--prefill-chunk", flags.runtime.prefill_chunk, "Prefill at most this many tokens per decoder call (0: all)")
      ->envname("GEMMA4_PREFILL_CHUNK")->capture_default_str();
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

Package OpenModelPackage(const ModelFlags& flags) {
  return OpenPackage(ResolveModelPath(flags.model), PackageOptions{flags.dtype});
}

}  // namespace gemma4::cli
