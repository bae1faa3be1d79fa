// `gemma4 run`: one prompt in, the answer streamed to stdout (or one JSON object with --json).
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/flags.h"
#include "cli/grammar_flags.h"
#include "cli/interrupt.h"
#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/grammar.h"
#include "gemma4/log.h"
#include "core/read_file.h"
#include "gemma4/speculative.h"

namespace gemma4::cli {
namespace {

struct RunFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt;
  std::string prompt_file;
  std::string prompt_ids;
  std::string system;
  bool raw = false;
  bool json = false;
  bool stats = false;
  bool no_thinking = false;
  size_t draft_max = 0;    // --draft-max: prompt lookup decoding, drafts per decoder call (0: off)
  size_t draft_ngram = 3;  // --draft-ngram: longest n-gram looked up
  GrammarFlags grammar;   // --grammar / --json-schema
};

std::vector<int32_t> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  size_t index = 0;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument("range");
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw Error(ErrorKind::kInvalidArgument, "--prompt-ids: item " + std::to_string(index) + " ('" + item +
                                                   "') is not a token id");
    }
    ++index;
  }
  if (ids.empty()) throw Error(ErrorKind::kInvalidArgument, "--prompt-ids: no ids given");
  return ids;
}

void Run(RunFlags& f) {
  if (f.model.model.empty()) {
    f.model.model = DemoModelPath();
    if (f.model.model.empty()) throw Error(ErrorKind::kInvalidArgument, "no model given: use -m DIR or -m owner/name");
    std::cerr << "note: no -m given; using the small demo package generated at build time (" << f.model.model
              << "). It has random weights, so its text is gibberish; pass -m for a real model.\n";
  }
  const int sources = !f.prompt.empty() + !f.prompt_file.empty() + !f.prompt_ids.empty();
  if (sources > 1) throw Error(ErrorKind::kInvalidArgument, "give only one of -p, -f and --prompt-ids");
  std::string text = f.prompt;
  if (!f.prompt_file.empty()) text = ReadTextFile(f.prompt_file);
  if (sources == 0) {
    std::stringstream s;
    s << std::cin.rdbuf();
    text = s.str();
  }

  std::shared_ptr<const Grammar> grammar = LoadGrammar(f.grammar);  // before the model: a bad file fails fast

  LoadOptions load;
  load.dtype = f.model.dtype;
  load.runtime = f.model.runtime;
  auto model = Model::Load(ResolveModelArg(f.model), load);

  std::vector<int32_t> prompt;
  std::optional<ChatRequest> chat;  // with the chat template: the reply is parsed (--json's content...)
  if (!f.prompt_ids.empty()) {
    prompt = ParseIds(f.prompt_ids);
  } else if (f.raw) {
    prompt = model->TokenizeRaw(text);
  } else {
    chat.emplace();
    if (!f.system.empty()) chat->messages.push_back({{"role", "system"}, {"content", f.system}});
    chat->messages.push_back({{"role", "user"}, {"content", text}});
    if (f.no_thinking) chat->extra["enable_thinking"] = false;
  }

  GenerateOptions options;
  options.max_new_tokens = static_cast<size_t>(f.sampling.max_new_tokens);
  options.sampling = ResolveSampling(f.sampling, *model);
  options.stop = f.sampling.stop;
  options.ignore_eos = f.sampling.ignore_eos;
  options.grammar = grammar;
  if (f.draft_max > 0) {
    options.draft = std::make_shared<PromptLookupDraft>(f.draft_ngram, 1);
    options.draft_max = f.draft_max;
  }
  InterruptScope interrupt;  // Ctrl-C ends the answer, not the program
  options.cancel = &interrupt.flag();
  if (!f.json) {
    options.on_token = [](std::string_view piece, int32_t) {
      std::cout << piece << std::flush;
      return true;
    };
  }

  Session session(model);
  ChatResult r;
  if (chat) r = GenerateChat(session, *chat, options);
  else static_cast<GenerationResult&>(r) = session.Generate(prompt, options);
  if (f.json) {
    nlohmann::ordered_json j = {{"prompt_ids", r.prompt_ids},
                        {"output_ids", r.output_ids},
                        {"text", r.text},
                        {"stop_reason", StopReasonName(r.stop_reason)},
                        {"draft_tokens", r.draft_tokens},
                        {"accepted_tokens", r.accepted_tokens},
                        {"timings",
                         {{"load_ms", r.timings.load_ms},
                          {"prefill_ms", r.timings.prefill_ms},
                          {"decode_ms", r.timings.decode_ms},
                          {"prompt_tokens", r.timings.prompt_tokens},
                          {"generated_tokens", r.timings.generated_tokens},
                          {"decode_calls", r.timings.decode_calls}}}};
    if (chat) {
      // The reply parsed by the library's one parser (gemma4/reply_parser.h), as the server returns it.
      j["content"] = r.reply.content;
      j["reasoning"] = r.reply.reasoning;
      j["tool_calls"] = AssistantMessage(r.reply).value("tool_calls", nlohmann::ordered_json::array());
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  } else {
    std::cout << '\n' << std::flush;
  }
  if (f.stats || r.stop_reason == StopReason::kCancelled) {
    const auto& t = r.timings;
    const double decode_tokens = t.generated_tokens > 1 ? double(t.generated_tokens - 1) : 0.0;
    std::fprintf(stderr, "[%s] load %.0f ms | prefill %zu tokens in %.1f ms (%.1f tok/s) | decode %zu tokens in %.1f ms (%.1f tok/s)\n",
                 std::string(StopReasonName(r.stop_reason)).c_str(), t.load_ms, t.prefilled_tokens, t.prefill_ms,
                 t.prefill_ms > 0 ? t.prefilled_tokens * 1000.0 / t.prefill_ms : 0.0, t.generated_tokens, t.decode_ms,
                 t.decode_ms > 0 ? decode_tokens * 1000.0 / t.decode_ms : 0.0);
    if (r.draft_tokens > 0 || f.draft_max > 0) {
      std::fprintf(stderr, "[draft] %zu of %zu drafted tokens accepted (%.1f%%) | %zu decoder calls for %zu tokens\n",
                   r.accepted_tokens, r.draft_tokens,
                   r.draft_tokens ? 100.0 * double(r.accepted_tokens) / double(r.draft_tokens) : 0.0, t.decode_calls,
                   t.generated_tokens > 0 ? t.generated_tokens - 1 : size_t{0});
    }
  }
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  AddModelFlags(app, f->model, /*model_required=*/false);
  AddSamplingFlags(app, f->sampling);
  app.add_option("-p,--prompt", f->prompt, "Prompt text (default: read stdin)");
  app.add_option("-f,--file", f->prompt_file, "Read the prompt from a file");
  app.add_option("--prompt-ids", f->prompt_ids, "Token ids, comma-separated: no template, no tokenizer");
  app.add_option("--system", f->system, "System message");
  app.add_flag("--raw", f->raw, "No chat template: tokenize the prompt as tokenizer(text) does");
  app.add_flag("--no-thinking", f->no_thinking, "Pass enable_thinking=false to the chat template");
  app.add_option("--draft-max", f->draft_max,
                 "Speculative decoding from the prompt (lookup decoding): draft up to K tokens per decoder call "
                 "and verify them in one call; same output as greedy, greedy only (ignored when sampling); 0 = off")
      ->capture_default_str();
  app.add_option("--draft-ngram", f->draft_ngram,
                 "Longest n-gram looked up in the prompt and output for --draft-max (down to 1)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  AddGrammarFlags(app, f->grammar);
  app.add_flag("--json", f->json, "Print one JSON object at the end instead of streaming text");
  app.add_flag("--stats", f->stats, "Print load, prefill and decode speed to stderr");
  app.callback([f] { Run(*f); });
}

const bool kRegistered = RegisterCommand({"run", "Generate an answer to one prompt", Setup});

}  // namespace
}  // namespace gemma4::cli
