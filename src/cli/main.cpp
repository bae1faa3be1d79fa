// Entry point of the `gemma4` tool: builds the subcommands, installs the log sink, and turns
// library errors into one line on stderr and exit status 1.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "gemma4/error.h"
#include "gemma4/log.h"
#include "gemma4/version.h"

namespace gemma4::cli {

namespace {
std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace

bool RegisterCommand(Command command) {
  Registry().push_back(std::move(command));
  return true;
}

const std::vector<Command>& RegisteredCommands() { return Registry(); }

}  // namespace gemma4::cli

int main(int argc, char** argv) {
  using namespace gemma4;
  CLI::App app{"gemma4: run Gemma 4 E2B (text, INT4 ONNX) on ONNX Runtime", "gemma4"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gemma4-ort " GEMMA4_VERSION_STRING);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log debug messages to stderr");

  auto commands = cli::RegisteredCommands();
  std::sort(commands.begin(), commands.end(),
            [](const cli::Command& a, const cli::Command& b) { return a.name < b.name; });
  for (const auto& command : commands) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    command.setup(*sub);
  }

  SetLogSink([](LogLevel level, std::string_view message) {
    const char* prefix = level == LogLevel::kError ? "error: " : level == LogLevel::kWarn ? "warning: " : "";
    std::cerr << prefix << message << '\n';
  });
  app.parse_complete_callback([&] { SetLogLevel(verbose ? LogLevel::kDebug : LogLevel::kInfo); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
