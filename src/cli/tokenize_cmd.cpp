// `gemma4 tokenize` and the shared helpers of `detokenize`: text -> ids with the package's
// tokenizer. Scripts rely on the output formats (plain ids, --json, --jsonl); keep them stable.
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

#include "cli/command.h"
#include "cli/tokenizer_flags.h"
#include "gemma4/error.h"
#include "gemma4/hub_cache.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {

Tokenizer LoadTokenizerFor(const std::string& model) {
  std::filesystem::path p(model);
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) {
    std::filesystem::path config = p.parent_path() / "tokenizer_config.json";
    return Tokenizer::FromFile(p, std::filesystem::exists(config, ec) ? config : std::filesystem::path());
  }
  return Tokenizer::FromDirectory(ResolveModelPath(model));
}

std::string ReadAllStdin() {
  std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return data;
}

namespace {

std::string IdsJson(const std::vector<int32_t>& ids) {
  std::string out = "{\"ids\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(ids[i]);
  }
  out += "]}";
  return out;
}

struct TokenizeFlags {
  std::string model;
  std::string prompt;
  bool no_special = false;
  bool json = false;
  bool jsonl = false;
};

void Run(const TokenizeFlags& f, bool have_prompt) {
  Tokenizer tokenizer = LoadTokenizerFor(f.model);
  const bool add_special = !f.no_special;
  if (f.jsonl) {
    std::string line;
    size_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      nlohmann::json value;
      try {
        value = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::kInvalidArgument, "stdin line " + std::to_string(line_no) + ": " + e.what());
      }
      if (!value.is_string()) throw Error(ErrorKind::kInvalidArgument, "stdin line " + std::to_string(line_no) + ": expected a JSON string");
      std::vector<int32_t> ids;
      try {
        ids = tokenizer.Encode(value.get_ref<const std::string&>(), add_special);
      } catch (const Error& e) {
        throw Error(e.kind(), "stdin line " + std::to_string(line_no) + ": " + e.what());
      }
      std::cout << IdsJson(ids) << '\n';
    }
    std::cout.flush();
    return;
  }
  std::string text = have_prompt ? f.prompt : ReadAllStdin();
  std::vector<int32_t> ids = tokenizer.Encode(text, add_special);
  if (f.json) {
    std::cout << IdsJson(ids) << '\n';
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << '\n';
  }
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<TokenizeFlags>();
  app.add_option("-m,--model", f->model, "Model package directory (or a directory holding only tokenizer.json and tokenizer_config.json, or a tokenizer.json file)")
      ->envname("GEMMA4_MODEL")->required();
  auto* p = app.add_option("-p,--prompt", f->prompt, "Text to tokenize (default: all of stdin)");
  app.add_flag("--no-special", f->no_special, "Do not add the post-processor's special tokens (e.g. <bos>)");
  app.add_flag("--json", f->json, "Print {\"ids\":[...]}");
  app.add_flag("--jsonl", f->jsonl, "Batch: read one JSON string per stdin line, write one {\"ids\":[...]} line each");
  app.callback([f, p] { Run(*f, p->count() > 0); });
}

const bool kRegistered = RegisterCommand({"tokenize", "Turn text into token ids with the model's tokenizer", Setup});

}  // namespace
}  // namespace gemma4::cli
