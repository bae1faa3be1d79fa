// `gemma4 chat`: an interactive multi-turn conversation with streaming answers, line editing and
// history (readline), and slash commands. The KV cache of earlier turns is reused every turn.
#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "cli/flags.h"
#include "cli/grammar_flags.h"
#include "cli/interrupt.h"
#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/package.h"

namespace gemma4::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string system;
  bool stats = false;
  bool thinking = false;
  GrammarFlags grammar;  // --grammar / --json-schema: every answer follows it
};

const char* kHelp =
    "commands:\n"
    "  /reset          forget the conversation (keeps the system message)\n"
    "  /system TEXT    set the system message (empty to remove) and reset\n"
    "  /save FILE      write the conversation as a JSON array of messages\n"
    "  /load FILE      read a conversation written by /save\n"
    "  /stats          toggle per-turn speed\n"
    "  /help           this text;  /quit or Ctrl-D to leave;  Ctrl-C stops an answer\n";

// Reads one line; readline on a terminal, plain getline otherwise (pipes, tests).
bool ReadLine(std::string& line, bool interactive) {
  if (interactive) {
    char* raw = readline("> ");
    if (!raw) return false;
    line = raw;
    if (!line.empty()) add_history(raw);
    free(raw);
    return true;
  }
  return static_cast<bool>(std::getline(std::cin, line));
}

void Chat(ChatFlags& f) {
  std::shared_ptr<const Grammar> grammar = LoadGrammar(f.grammar);  // every answer follows it
  LoadOptions load;
  load.dtype = f.model.dtype;
  load.runtime = f.model.runtime;
  auto model = Model::Load(ResolveModelArg(f.model), load);
  Conversation conversation(model);
  if (!f.system.empty()) conversation.SetSystem(f.system);
  GenerateOptions options;
  options.max_new_tokens = static_cast<size_t>(f.sampling.max_new_tokens);
  options.sampling = ResolveSampling(f.sampling, *model);
  options.stop = f.sampling.stop;
  options.ignore_eos = f.sampling.ignore_eos;
  options.grammar = grammar;
  // The parsed reply is printed: the answer on stdout, thoughts (--thinking) on stderr.
  const ReplyDeltaFn print = [](const ReplyParser::Event& e) {
    if (e.kind == ReplyParser::Event::kReasoning) std::cerr << e.text << std::flush;
    else if (e.kind == ReplyParser::Event::kContent) std::cout << e.text << std::flush;
  };
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  if (f.thinking) extra["enable_thinking"] = true;

  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::cerr << "gemma4 chat: " << model->package().root.string() << " (/help for commands)\n";
  InterruptScope interrupt;
  options.cancel = &interrupt.flag();
  std::string line;
  while (ReadLine(line, interactive)) {
    if (line.empty()) continue;
    if (line[0] == '/') {
      const auto space = line.find(' ');
      const std::string cmd = line.substr(0, space);
      const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
      try {
        if (cmd == "/quit" || cmd == "/exit") break;
        if (cmd == "/help") std::cerr << kHelp;
        else if (cmd == "/reset") conversation.Reset(), std::cerr << "(conversation reset)\n";
        else if (cmd == "/system") conversation.SetSystem(arg), conversation.Reset(), std::cerr << "(system message set)\n";
        else if (cmd == "/stats") f.stats = !f.stats, std::cerr << "(stats " << (f.stats ? "on" : "off") << ")\n";
        else if (cmd == "/save") {
          std::ofstream out(arg);
          if (!out) throw Error(ErrorKind::kInvalidArgument, arg + ": cannot write");
          out << conversation.messages().dump(2) << '\n';
          std::cerr << "(saved " << conversation.messages().size() << " messages to " << arg << ")\n";
        } else if (cmd == "/load") {
          conversation.SetMessages(nlohmann::ordered_json(ReadJsonFile(arg)));
          std::cerr << "(loaded " << conversation.messages().size() << " messages)\n";
        } else {
          std::cerr << "unknown command " << cmd << "; /help lists them\n";
        }
      } catch (const Error& e) {
        std::cerr << "error: " << e.what() << '\n';
      }
      continue;
    }
    interrupt.Clear();
    try {
      ChatResult r = conversation.Reply(line, options, extra, print);
      std::cout << '\n' << std::flush;
      if (r.stop_reason == StopReason::kCancelled) std::cerr << "(stopped)\n";
      if (f.stats) {
        const auto& t = r.timings;
        std::fprintf(stderr, "[reused %zu of %zu prompt tokens | prefill %zu in %.1f ms | %zu tokens at %.1f tok/s]\n",
                     r.reused_tokens, t.prompt_tokens, t.prefilled_tokens, t.prefill_ms, t.generated_tokens,
                     t.decode_ms > 0 && t.generated_tokens > 1 ? (t.generated_tokens - 1) * 1000.0 / t.decode_ms : 0.0);
      }
    } catch (const Error& e) {
      std::cout << '\n';
      std::cerr << "error: " << e.what() << '\n';
    }
  }
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<ChatFlags>();
  AddModelFlags(app, f->model);
  AddSamplingFlags(app, f->sampling);
  app.add_option("--system", f->system, "System message");
  app.add_flag("--thinking", f->thinking, "Pass enable_thinking=true to the chat template");
  app.add_flag("--stats", f->stats, "Show per-turn speed and cache reuse");
  AddGrammarFlags(app, f->grammar);
  app.callback([f] { Chat(*f); });
}

const bool kRegistered = RegisterCommand({"chat", "Interactive multi-turn chat with streaming answers", Setup});

}  // namespace
}  // namespace gemma4::cli
