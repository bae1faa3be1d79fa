// `gemma4 verify DIR|owner/name`: every file of a package against its manifest.json, or a cache
// snapshot against its blob hashes. Exit status 1 and one line per damaged file otherwise.
#include <iostream>

#include "cli/command.h"
#include "cli/progress_bar.h"
#include "gemma4/hub.h"
#include "gemma4/hub_cache.h"
#include "gemma4/manifest.h"

namespace gemma4::cli {
namespace {

struct VerifyFlags {
  std::string target;
  std::string dtype = "q4";
  bool quiet = false;
};

void Run(const VerifyFlags& f) {
  std::filesystem::path dir = f.target;
  if (LooksLikeRepoId(f.target)) {
    PullOptions options;
    options.dtype = f.dtype;
    options.offline = true;  // verify what is here; never download
    dir = ResolveOrPull(f.target, options);
  }
  ProgressBar bar("verify");
  VerifyProgressFn progress;
  if (!f.quiet) progress = [&bar](const VerifyProgress& p) {
    bar.Update(p.done, p.total, p.file);
    return true;
  };
  const VerifyResult r = VerifyPackage(dir, progress);
  bar.Finish();
  const char* basis = r.basis == VerifyBasis::kManifest ? "manifest.json" : "the cache's blob hashes";
  for (const auto& p : r.problems) std::cout << "BAD " << p << '\n';
  if (!r.ok()) {
    std::cerr << "error: " << r.problems.size() << " damaged file(s) in " << dir.string() << " (checked against " << basis
              << ")\n";
    throw CLI::RuntimeError(1);
  }
  std::cout << "OK " << r.files_checked << " files, " << FormatBytes(r.bytes_checked) << " match " << basis << " ("
            << dir.string() << ")\n";
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<VerifyFlags>();
  app.add_option("package", f->target, "Package directory, or a repo id in the Hugging Face cache")->required();
  app.add_option("--dtype", f->dtype, "Variant to look for when a repo id is given")->capture_default_str();
  app.add_flag("-q,--quiet", f->quiet, "No progress bar");
  app.callback([f] { Run(*f); });
}

const bool kRegistered =
    RegisterCommand({"verify", "Check a package's files against its manifest (or the cache's hashes)", Setup});

}  // namespace
}  // namespace gemma4::cli
