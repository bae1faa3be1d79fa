// Subcommands of the `gemma4` tool. Each cli/<name>_cmd.cpp registers one at static
// initialisation, so adding a command never edits a shared table.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace gemma4::cli {

struct Command {
  std::string name;
  std::string help;
  // Adds the command's flags to `app` and sets its callback. The callback throws gemma4::Error
  // on failure (main prints it and exits 1) or CLI::RuntimeError(code) for a specific exit code.
  std::function<void(CLI::App& app)> setup;
};

bool RegisterCommand(Command command);
const std::vector<Command>& RegisteredCommands();

}  // namespace gemma4::cli
