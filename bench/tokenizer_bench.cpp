// Tokenizer timing: load time of a tokenizer.json and single-thread encode/decode throughput on a
// set of documents. Run by bench/tokenizer_bench.mjs, which times the references on the same
// documents in the same run; it prints one JSON object.
//
//   bench_tokenizer <tokenizer.json> <docs.json: array of strings> [load repetitions]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/tokenizer.h"

namespace {
double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_tokenizer <tokenizer.json> <docs.json> [load repetitions]\n";
    return 2;
  }
  const int load_reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  std::ifstream in(argv[2]);
  const auto docs = nlohmann::json::parse(in).get<std::vector<std::string>>();
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.size();

  std::vector<double> loads;
  for (int i = 0; i < load_reps; ++i) {
    double t0 = Now();
    gemma4::Tokenizer t = gemma4::Tokenizer::FromFile(argv[1]);
    loads.push_back(Now() - t0);
  }
  std::sort(loads.begin(), loads.end());
  gemma4::Tokenizer tok = gemma4::Tokenizer::FromFile(argv[1]);

  // Encode: repeat the whole set for at least two seconds; the first pass warms the word cache
  // exactly as the references' first pass warms theirs.
  std::vector<std::vector<int32_t>> encoded;
  for (const auto& d : docs) encoded.push_back(tok.Encode(d, false));
  size_t tokens = 0;
  for (const auto& e : encoded) tokens += e.size();
  int passes = 0;
  double t0 = Now(), elapsed = 0;
  while (elapsed < 2.0) {
    for (const auto& d : docs) {
      auto ids = tok.Encode(d, false);
      if (ids.size() > SIZE_MAX / 2) std::puts("");  // keep the call observable
    }
    ++passes;
    elapsed = Now() - t0;
  }
  const double encode_mb_s = static_cast<double>(bytes) * passes / elapsed / 1e6;

  int dpasses = 0;
  t0 = Now();
  elapsed = 0;
  size_t out_bytes = 0;
  while (elapsed < 1.0) {
    for (const auto& e : encoded) out_bytes += tok.Decode(e).size();
    ++dpasses;
    elapsed = Now() - t0;
  }
  const double decode_mb_s = static_cast<double>(out_bytes) / elapsed / 1e6;

  nlohmann::json out = {{"load_ms", loads[loads.size() / 2] * 1e3}, {"encode_mb_s", encode_mb_s},
                        {"decode_mb_s", decode_mb_s}, {"tokens", tokens}, {"bytes", bytes}};
  std::cout << out.dump() << "\n";
  return 0;
}
