// `gemma4 pull REPO[@REVISION]`: download a package into the Hugging Face cache; prints the
// snapshot path on stdout (so `$(gemma4 pull ...)` works), progress on stderr.
#include <iostream>

#include "cli/command.h"
#include "cli/flags.h"
#include "cli/progress_bar.h"
#include "gemma4/hub.h"

namespace gemma4::cli {
namespace {

struct PullFlags {
  std::string spec;
  std::string dtype = "q4";
  std::vector<std::string> include;
  int jobs = 4;
  bool quiet = false;
};

void Pull(const PullFlags& f) {
  PullOptions options;
  options.dtype = f.dtype;
  options.include = f.include;
  options.jobs = f.jobs;
  std::unique_ptr<ProgressBar> bar;
  if (!f.quiet) options.progress = PullProgressPrinter(bar, "pull");
  const PullResult r = gemma4::Pull(f.spec, options);
  if (bar) bar->Finish();
  if (!f.quiet) {
    std::cerr << (r.offline ? "offline: served from the cache " : "pulled ") << r.repo << "@" << r.revision << " ("
              << r.commit.substr(0, 12) << "): " << r.files.size() << " files, " << FormatBytes(r.downloaded_bytes)
              << " downloaded, " << FormatBytes(r.cached_bytes) << " already cached\n";
  }
  std::cout << r.snapshot.string() << '\n';
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<PullFlags>();
  app.add_option("repo", f->spec, "Hugging Face repo id: owner/name or owner/name@revision")->required();
  app.add_option("--dtype", f->dtype, "ONNX variant whose files make up the package (q4, q4f16, fp16, fp32, ...)")
      ->envname("GEMMA4_DTYPE")->capture_default_str();
  app.add_option("--include", f->include, "Download exactly the repo files matching this glob instead (repeatable)")
      ->take_all();
  app.add_option("-j,--jobs", f->jobs, "Files downloaded in parallel")->check(CLI::Range(1, 32))->capture_default_str();
  app.add_flag("-q,--quiet", f->quiet, "No progress bar; print only the snapshot path");
  app.footer(
      "Environment: HF_HUB_CACHE / HF_HOME (cache folder), HF_ENDPOINT (hub URL), HF_TOKEN (gated or private repos),\n"
      "HF_HUB_OFFLINE=1 (use the cache only). Interrupted downloads resume where they stopped.");
  app.callback([f] { Pull(*f); });
}

const bool kRegistered =
    RegisterCommand({"pull", "Download a model package from the Hugging Face hub into its cache", Setup});

}  // namespace
}  // namespace gemma4::cli
