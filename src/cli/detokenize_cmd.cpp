// `gemma4 detokenize`: token ids (a JSON array) -> text. Output formats are a scripting contract.
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "cli/command.h"
#include "cli/tokenizer_flags.h"
#include "gemma4/error.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {
namespace {

struct DetokenizeFlags {
  std::string model;
  bool skip_special = false;
  bool json = false;
  bool jsonl = false;
};

std::vector<int32_t> ParseIds(const std::string& text, const std::string& where) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kInvalidArgument, where + ": " + e.what());
  }
  if (!value.is_array()) throw Error(ErrorKind::kInvalidArgument, where + ": expected a JSON array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const auto& v = value[i];
    if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
      throw Error(ErrorKind::kInvalidArgument, where + ": element " + std::to_string(i) + " is not an integer token id: " + v.dump());
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

std::string TextJson(const std::string& text) {
  return nlohmann::json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Run(const DetokenizeFlags& f) {
  Tokenizer tokenizer = LoadTokenizerFor(f.model);
  if (f.jsonl) {
    std::string line;
    size_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      std::string where = "stdin line " + std::to_string(line_no);
      std::vector<int32_t> ids = ParseIds(line, where);
      std::string text;
      try {
        text = tokenizer.Decode(ids, f.skip_special);
      } catch (const Error& e) {
        throw Error(e.kind(), where + ": " + e.what());
      }
      std::cout << TextJson(text) << '\n';
    }
    std::cout.flush();
    return;
  }
  std::vector<int32_t> ids = ParseIds(ReadAllStdin(), "stdin");
  std::string text = tokenizer.Decode(ids, f.skip_special);
  if (f.json) std::cout << TextJson(text) << '\n';
  else std::cout << text;
  std::cout.flush();
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<DetokenizeFlags>();
  app.add_option("-m,--model", f->model, "Model package directory (or a directory holding only tokenizer.json and tokenizer_config.json, or a tokenizer.json file)")
      ->envname("GEMMA4_MODEL")->required();
  app.add_flag("--skip-special", f->skip_special, "Leave out special tokens (<bos>, <eos>, turn markers)");
  app.add_flag("--json", f->json, "Print {\"text\":\"...\"}");
  app.add_flag("--jsonl", f->jsonl, "Batch: read one JSON array of ids per stdin line, write one {\"text\":\"...\"} line each");
  app.callback([f] { Run(*f); });
}

const bool kRegistered = RegisterCommand({"detokenize", "Turn a JSON array of token ids into text", Setup});

}  // namespace
}  // namespace gemma4::cli
