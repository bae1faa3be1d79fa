// SamplingParams: range checks and the defaults generation_config.json supplies.
#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/sampling.h"

namespace gemma4 {
namespace {

std::string Num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

[[noreturn]] void Bad(const char* field, const char* range, double value) {
  throw Error(ErrorKind::kInvalidArgument, std::string(field) + " must be " + range + ", got " + Num(value));
}

}  // namespace

void SamplingParams::Validate() const {
  // Written so that NaN fails every check.
  if (!(temperature >= 0.0f && std::isfinite(temperature))) Bad("temperature", ">= 0", temperature);
  if (top_k < 0) Bad("top_k", ">= 0 (0 disables it)", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) Bad("top_p", "in (0, 1]", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) Bad("min_p", "in [0, 1]", min_p);
  if (!(typical_p > 0.0f && typical_p <= 1.0f)) Bad("typical_p", "in (0, 1]", typical_p);
  if (!(repetition_penalty > 0.0f && std::isfinite(repetition_penalty))) {
    Bad("repetition_penalty", "> 0 (1 disables it)", repetition_penalty);
  }
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f)) Bad("presence_penalty", "in [-2, 2]", presence_penalty);
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f)) {
    Bad("frequency_penalty", "in [-2, 2]", frequency_penalty);
  }
  for (size_t i = 0; i < logit_bias.size(); ++i) {
    const auto& [id, bias] = logit_bias[i];
    if (id < 0) {
      throw Error(ErrorKind::kInvalidArgument,
                  "logit_bias[" + std::to_string(i) + "] token id must be >= 0, got " + std::to_string(id));
    }
    if (std::isnan(bias) || bias == INFINITY) {
      throw Error(ErrorKind::kInvalidArgument, "logit_bias[" + std::to_string(i) + "] (token " + std::to_string(id) +
                                                   ") must be finite or -inf, got " + Num(bias));
    }
  }
}

SamplingParams SamplingParamsFromGenerationConfig(const nlohmann::json& config, const SamplingParams& base) {
  SamplingParams p = base;
  if (config.is_null()) return p;
  const std::string file = "generation_config.json";
  if (!config.is_object()) {
    throw Error(ErrorKind::kCorrupt, file + ": expected a JSON object, got " + std::string(config.type_name()));
  }
  auto field = [&](const char* key) -> const nlohmann::json* {
    auto it = config.find(key);
    return it == config.end() || it->is_null() ? nullptr : &*it;
  };
  auto wrong = [&](const char* key, const char* expected, const nlohmann::json& v) -> Error {
    return Error(ErrorKind::kCorrupt,
                 file + ": /" + key + " must be " + expected + ", got " + std::string(v.type_name()) + " " + v.dump());
  };
  auto number = [&](const char* key, float& out) {
    if (const auto* v = field(key)) {
      if (!v->is_number()) throw wrong(key, "a number", *v);
      out = v->get<float>();
    }
  };
  if (const auto* v = field("do_sample")) {
    if (!v->is_boolean()) throw wrong("do_sample", "a boolean", *v);
    p.do_sample = v->get<bool>();
  }
  number("temperature", p.temperature);
  if (const auto* v = field("top_k")) {
    // transformers writes integral values; 64.0 would be a hand edit, accept it when exact.
    if (v->is_number_integer()) {
      const auto k = v->get<int64_t>();
      if (k < 0 || k > INT32_MAX) throw wrong("top_k", "an integer >= 0", *v);
      p.top_k = static_cast<int>(k);
    } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() && v->get<double>() >= 0 &&
               v->get<double>() <= INT32_MAX) {
      p.top_k = static_cast<int>(v->get<double>());
    } else {
      throw wrong("top_k", "an integer", *v);
    }
  }
  number("top_p", p.top_p);
  number("min_p", p.min_p);
  number("typical_p", p.typical_p);
  number("repetition_penalty", p.repetition_penalty);
  try {
    p.Validate();
  } catch (const Error& e) {
    throw Error(ErrorKind::kCorrupt, file + ": " + e.what());
  }
  return p;
}

SamplingParams ResolveSampling(const SamplingParams& defaults, const SamplingOverrides& o, uint64_t random_seed) {
  SamplingParams p = defaults;
  if (o.temperature) {
    p.temperature = *o.temperature;
    if (*o.temperature > 0) p.do_sample = true;
  }
  if (o.do_sample) p.do_sample = *o.do_sample;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.min_p) p.min_p = *o.min_p;
  if (o.typical_p) p.typical_p = *o.typical_p;
  if (o.repetition_penalty) p.repetition_penalty = *o.repetition_penalty;
  if (o.presence_penalty) p.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) p.frequency_penalty = *o.frequency_penalty;
  if (!o.logit_bias.empty()) p.logit_bias = o.logit_bias;
  p.seed = o.seed ? *o.seed : random_seed;
  p.Validate();
  return p;
}

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace gemma4
