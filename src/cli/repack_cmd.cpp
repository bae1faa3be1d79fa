// `gemma4 repack SRC DST`: the community export -> the text-only package of one dtype, checked by
// loading it into ONNX Runtime before it appears at DST.
#include <iostream>

#include "cli/command.h"
#include "cli/progress_bar.h"
#include "gemma4/model.h"
#include "gemma4/repack.h"

namespace gemma4::cli {
namespace {

struct RepackFlags {
  std::string src, dst;
  std::string dtype = "q4";
  bool link = false;
  bool force = false;
  bool no_load = false;
  bool quiet = false;
};

void Run(const RepackFlags& f) {
  RepackOptions options;
  options.dtype = f.dtype;
  options.link = f.link;
  options.overwrite = f.force;
  ProgressBar bar("repack");
  if (!f.quiet) {
    options.progress = [&bar](const RepackProgress& p) {
      bar.Update(p.done, p.total, p.file);
      return true;
    };
  }
  if (!f.no_load) {
    options.verify = [&](const std::filesystem::path& dir) {
      bar.Finish();
      LoadOptions load;
      load.dtype = f.dtype;
      Model::Load(dir.string(), load);  // throws if ONNX Runtime cannot load it: DST stays untouched
    };
  }
  const RepackResult r = Repack(f.src, f.dst, options);
  bar.Finish();
  if (!f.quiet) {
    for (const auto& file : r.files) {
      std::fprintf(stderr, "  %-48s %12s  %s\n", file.path.c_str(), FormatBytes(file.size).c_str(),
                   std::string(CopyMethodName(file.method)).c_str());
    }
    std::cerr << "repacked " << r.files.size() << " files (" << FormatBytes(r.total_bytes) << ", dtype " << r.dtype
              << (f.no_load ? "" : ", loaded by ONNX Runtime") << ")\n";
  }
  std::cout << r.dst.string() << '\n';
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<RepackFlags>();
  app.add_option("src", f->src, "Full export (onnx-community/gemma-4-E2B-it-ONNX layout)")->required();
  app.add_option("dst", f->dst, "Where the text-only package goes (must not exist unless --force)")->required();
  app.add_option("--dtype", f->dtype, "ONNX variant to keep")
      ->check(CLI::IsMember({"q4", "q4f16", "fp16", "fp32", "quantized", "uint8", "int8", "bnb4"}))
      ->capture_default_str();
  app.add_flag("--link", f->link, "Share data with SRC: reflinks where the filesystem can, else hard links (hub cache blobs are copied)");
  app.add_flag("--force", f->force, "Replace an existing DST (atomically, once the new package is ready)");
  app.add_flag("--no-load", f->no_load, "Skip the ONNX Runtime load check (the package checks still run)");
  app.add_flag("-q,--quiet", f->quiet, "No progress bar or file list");
  app.callback([f] { Run(*f); });
}

const bool kRegistered =
    RegisterCommand({"repack", "Make the text-only package (one dtype) from a full community export", Setup});

}  // namespace
}  // namespace gemma4::cli
