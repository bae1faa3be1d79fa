// `gemma4 version`: the tool's version and the ONNX Runtime it loaded.
#include <iostream>

#include "cli/command.h"
#include "gemma4/runtime.h"
#include "gemma4/version.h"

namespace gemma4::cli {
namespace {

void Setup(CLI::App& app) {
  app.callback([] {
    std::cout << "gemma4-ort " GEMMA4_VERSION_STRING "\n";
    const OrtInfo& ort = GetOrtInfo();
    std::cout << "ONNX Runtime " << ort.version << " (" << ort.library_path << "), C API " << ort.api_version << "\n";
    std::cout << "providers:";
    for (const auto& p : ort.providers) std::cout << ' ' << p;
    std::cout << '\n';
    const KernelInfo kernels = GetKernelInfo();
    std::cout << "kernels: int4 MatMulNBits " << kernels.isa << " (supported:";
    for (const auto& isa : kernels.supported) std::cout << ' ' << isa;
    std::cout << "); CPU features: " << kernels.cpu_features << '\n';
  });
}

const bool kRegistered = RegisterCommand({"version", "Print the version of gemma4 and of ONNX Runtime", Setup});

}  // namespace
}  // namespace gemma4::cli
