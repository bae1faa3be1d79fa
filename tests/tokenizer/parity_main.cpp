// Parity driver: compares our tokenizer with the expected ids and texts that make_expected.js
// produced from the Rust HF `tokenizers` library. 100% agreement is required; every mismatch is
// printed with the input, the first differing position and the tokens on both sides.
//
//   tokenizer_parity <tokenizer.json> <expected.json>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/unicode.h"

using gemma4::StreamingDecoder;
using gemma4::Tokenizer;

namespace {

int failures = 0;

std::string Preview(const std::string& s) {
  std::string out = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (out.size() > 160) out = out.substr(0, 160) + "...\" (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string Tokens(const Tokenizer& t, const std::vector<int32_t>& ids, size_t from) {
  std::string out;
  for (size_t i = from; i < ids.size() && i < from + 8; ++i)
    out += std::to_string(ids[i]) + ":" + nlohmann::json(std::string(t.IdToToken(ids[i]))).dump() + " ";
  return out;
}

void CompareIds(const Tokenizer& t, const std::string& what, const std::string& text, const std::vector<int32_t>& expected,
                const std::vector<int32_t>& actual) {
  if (expected == actual) return;
  ++failures;
  size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  std::cout << "MISMATCH " << what << " for " << Preview(text) << "\n  lengths expected " << expected.size() << " actual "
            << actual.size() << ", first difference at " << i << "\n  expected: " << Tokens(t, expected, i)
            << "\n  actual:   " << Tokens(t, actual, i) << "\n";
}

void CompareText(const std::string& what, const std::vector<int32_t>& ids, const std::string& expected,
                 const std::string& actual) {
  if (expected == actual) return;
  ++failures;
  std::cout << "MISMATCH " << what << " for ids " << nlohmann::json(ids).dump().substr(0, 200) << "\n  expected: "
            << Preview(expected) << "\n  actual:   " << Preview(actual) << "\n";
}

void CheckStream(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip, const std::string& expected) {
  StreamingDecoder stream(t, skip);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = stream.Push(id);
    if (gemma4::tok::FirstInvalidUtf8(piece)) {
      ++failures;
      std::cout << "MISMATCH streaming piece is not valid UTF-8\n";
    }
    all += piece;
  }
  all += stream.Flush();
  CompareText(skip ? "stream(skip_special)" : "stream", ids, expected, all);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: tokenizer_parity <tokenizer.json> <expected.json>\n";
    return 2;
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    Tokenizer tok = Tokenizer::FromFile(argv[1]);
    auto t1 = std::chrono::steady_clock::now();
    std::ifstream in(argv[2]);
    nlohmann::json expected = nlohmann::json::parse(in);
    size_t cases = 0;
    for (const auto& c : expected.at("encode")) {
      const std::string text = c.at("text").get<std::string>();
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      CompareIds(tok, "encode(add_special_tokens=true)", text, ids, tok.Encode(text, true));
      CompareIds(tok, "encode(add_special_tokens=false)", text, c.at("ids_plain").get<std::vector<int32_t>>(), tok.Encode(text, false));
      CompareText("decode", ids, c.at("decoded").get<std::string>(), tok.Decode(ids, false));
      CompareText("decode(skip_special_tokens)", ids, c.at("decoded_skip").get<std::string>(), tok.Decode(ids, true));
      CheckStream(tok, ids, false, c.at("decoded").get<std::string>());
      CheckStream(tok, ids, true, c.at("decoded_skip").get<std::string>());
      ++cases;
    }
    for (const auto& c : expected.at("decode")) {
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      CompareText("decode", ids, c.at("text").get<std::string>(), tok.Decode(ids, false));
      CompareText("decode(skip_special_tokens)", ids, c.at("text_skip").get<std::string>(), tok.Decode(ids, true));
      CheckStream(tok, ids, false, c.at("text").get<std::string>());
      CheckStream(tok, ids, true, c.at("text_skip").get<std::string>());
      ++cases;
    }
    std::cout << argv[1] << ": loaded in " << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms; "
              << cases << " cases, " << failures << " mismatches\n";
  } catch (const std::exception& e) {
    std::cout << "error: " << e.what() << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
