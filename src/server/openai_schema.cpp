// OpenAI request validation and response shapes. Field paths in errors follow the request's own
// spelling (messages[2].content[0].text) so a client author can find the culprit at once.
#include "server/openai_schema.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "server/api_error.h"
#include "server/json_depth.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTokensLimit = 1 << 24;

// response_format: "text" (no constraint), "json_object" (any JSON object) or "json_schema" with
// OpenAI's {"name", "schema", "strict"}; a schema we cannot convert is a 400 naming its pointer.
void ParseResponseFormat(const json& v, GenerationRequest& r) {
  if (!v.is_object()) ThrowType("response_format", "an object", v);
  const json* type_field = Field(v, "type");
  if (!type_field) ThrowInvalid("response_format.type", "missing");
  const std::string& type = String(*type_field, "response_format.type");
  if (type == "text") return;
  if (type == "json_object") {
    r.grammar = Grammar::JsonObject();
    return;
  }
  if (type != "json_schema") {
    ThrowInvalid("response_format.type", "expected 'text', 'json_object' or 'json_schema', got '" + type + "'",
                 "unsupported_value");
  }
  const json* spec = Field(v, "json_schema");
  if (!spec) ThrowInvalid("response_format.json_schema", "missing (json_schema needs {\"name\", \"schema\"})");
  if (!spec->is_object()) ThrowType("response_format.json_schema", "an object", *spec);
  const json* name = Field(*spec, "name");
  if (!name) ThrowInvalid("response_format.json_schema.name", "missing");
  const std::string& n = String(*name, "response_format.json_schema.name");
  if (n.empty() || n.size() > 64 ||
      n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos) {
    ThrowInvalid("response_format.json_schema.name", "must be 1 to 64 characters of a-z, A-Z, 0-9, _ and -");
  }
  Grammar::JsonSchemaOptions options;
  if (const json* strict = Field(*spec, "strict")) options.strict = Bool(*strict, "response_format.json_schema.strict");
  const json* schema = Field(*spec, "schema");
  const json any = json::object();
  if (schema && !schema->is_object() && !schema->is_boolean()) {
    ThrowType("response_format.json_schema.schema", "an object (a JSON Schema)", *schema);
  }
  try {
    r.grammar = Grammar::FromJsonSchema(schema ? *schema : any, options);
  } catch (const Error& e) {
    ThrowInvalid("response_format.json_schema.schema",
                 "invalid schema for response_format '" + n + "': " + e.what(),
                 e.kind() == ErrorKind::kUnsupported ? "unsupported_schema" : "invalid_schema");
  }
}

// Fields every generation request shares (sampling, stop, stream, n ...).
void ParseCommon(const json& body, size_t vocab_size, GenerationRequest& r) {
  if (const json* v = Field(body, "model")) String(*v, "model");
  if (const json* v = Field(body, "stream")) r.stream = Bool(*v, "stream");
  if (const json* v = Field(body, "stream_options")) {
    if (!v->is_object()) ThrowType("stream_options", "an object", *v);
    if (const json* u = Field(*v, "include_usage")) r.include_usage = Bool(*u, "stream_options.include_usage");
  }
  if (const json* v = Field(body, "max_tokens")) r.max_tokens = static_cast<size_t>(Integer(*v, "max_tokens", 1, kMaxTokensLimit));
  if (const json* v = Field(body, "max_completion_tokens")) {
    r.max_tokens = static_cast<size_t>(Integer(*v, "max_completion_tokens", 1, kMaxTokensLimit));
  }
  if (const json* v = Field(body, "n")) {
    if (Integer(*v, "n", 1, 128) != 1) ThrowInvalid("n", "only n=1 is supported, got " + v->dump(), "unsupported_value");
  }
  if (const json* v = Field(body, "best_of")) {
    if (Integer(*v, "best_of", 1, 128) != 1) ThrowInvalid("best_of", "only best_of=1 is supported", "unsupported_value");
  }
  if (const json* v = Field(body, "temperature")) r.temperature = Number(*v, "temperature", 0, 2);
  if (const json* v = Field(body, "top_p")) r.top_p = Number(*v, "top_p", 0, 1);
  if (const json* v = Field(body, "top_k")) r.top_k = static_cast<int>(Integer(*v, "top_k", 0, 1 << 30));
  if (const json* v = Field(body, "min_p")) r.min_p = Number(*v, "min_p", 0, 1);
  if (const json* v = Field(body, "repetition_penalty")) {
    r.repetition_penalty = Number(*v, "repetition_penalty", 0, 100);
    if (*r.repetition_penalty <= 0) ThrowInvalid("repetition_penalty", "must be > 0, got 0");
  }
  if (const json* v = Field(body, "presence_penalty")) r.presence_penalty = Number(*v, "presence_penalty", -2, 2);
  if (const json* v = Field(body, "frequency_penalty")) r.frequency_penalty = Number(*v, "frequency_penalty", -2, 2);
  if (const json* v = Field(body, "seed")) {
    if (v->is_number_unsigned()) r.seed = v->get<uint64_t>();
    else r.seed = static_cast<uint64_t>(Integer(*v, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
  }
  if (const json* v = Field(body, "stop")) {
    auto add = [&](const json& s, const std::string& path) {
      const std::string& text = String(s, path);
      if (text.empty()) ThrowInvalid(path, "stop strings must not be empty");
      if (text.size() > 1024) ThrowInvalid(path, "stop strings are limited to 1024 bytes");
      r.stop.push_back(text);
    };
    if (v->is_string()) {
      add(*v, "stop");
    } else if (v->is_array()) {
      if (v->size() > 16) ThrowInvalid("stop", "at most 16 stop strings, got " + std::to_string(v->size()));
      for (size_t i = 0; i < v->size(); ++i) add((*v)[i], "stop[" + std::to_string(i) + "]");
    } else {
      ThrowType("stop", "a string or an array of strings", *v);
    }
  }
  if (const json* v = Field(body, "logit_bias")) {
    if (!v->is_object()) ThrowType("logit_bias", "an object mapping token ids to numbers", *v);
    if (v->size() > 4096) ThrowInvalid("logit_bias", "at most 4096 entries");
    for (const auto& [key, bias] : v->items()) {
      const std::string path = "logit_bias." + key;
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || key.empty()) ThrowInvalid(path, "keys must be token ids, got '" + key + "'");
      if (id < 0 || static_cast<size_t>(id) >= vocab_size) {
        ThrowInvalid(path, "token id " + key + " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
      }
      r.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(Number(bias, path, -100, 100)));
    }
  }
  // logprobs: chat takes a boolean plus top_logprobs (0..20); completions the legacy integer 0..5.
  if (r.chat) {
    bool on = false;
    if (const json* v = Field(body, "logprobs")) on = Bool(*v, "logprobs");
    if (const json* v = Field(body, "top_logprobs")) {
      const int n = static_cast<int>(Integer(*v, "top_logprobs", 0, 20));
      if (!on) ThrowInvalid("top_logprobs", "needs \"logprobs\": true");
      r.top_logprobs = n;
    } else if (on) {
      r.top_logprobs = 0;
    }
  } else if (const json* v = Field(body, "logprobs")) {
    r.top_logprobs = static_cast<int>(Integer(*v, "logprobs", 0, 5));
  }
  if (const json* v = Field(body, "response_format")) ParseResponseFormat(*v, r);
}

json ParseToolCalls(const json& calls, const std::string& path) {
  if (!calls.is_array()) ThrowType(path, "an array", calls);
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const json& call = calls[i];
    if (!call.is_object()) ThrowType(p, "an object", call);
    if (const json* type = Field(call, "type"); type && String(*type, p + ".type") != "function") {
      ThrowInvalid(p + ".type", "only 'function' tool calls are supported");
    }
    const json* fn = Field(call, "function");
    if (!fn) ThrowInvalid(p + ".function", "missing");
    if (!fn->is_object()) ThrowType(p + ".function", "an object", *fn);
    const json* name = Field(*fn, "name");
    if (!name) ThrowInvalid(p + ".function.name", "missing");
    json args = json::object();
    if (const json* a = Field(*fn, "arguments")) {
      if (a->is_object()) {
        args = *a;
      } else {
        const std::string& text = String(*a, p + ".function.arguments");
        try {
          args = text.empty() ? json::object() : json::parse(text);
        } catch (const json::parse_error&) {
          ThrowInvalid(p + ".function.arguments", "not valid JSON");
        }
        if (!args.is_object()) ThrowInvalid(p + ".function.arguments", "must encode a JSON object");
      }
    }
    json entry = {{"type", "function"}, {"function", {{"name", String(*name, p + ".function.name")}, {"arguments", args}}}};
    if (const json* id = Field(call, "id")) entry["id"] = String(*id, p + ".id");
    out.push_back(std::move(entry));
  }
  return out;
}

json ParseMessages(const json& body) {
  const json* messages = Field(body, "messages");
  if (!messages) ThrowInvalid("messages", "missing (a chat completion needs at least one message)");
  if (!messages->is_array()) ThrowType("messages", "an array", *messages);
  if (messages->empty()) ThrowInvalid("messages", "must contain at least one message");
  json out = json::array();
  std::map<std::string, std::string> call_names;  // tool_call id -> function name, for tool results
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& m = (*messages)[i];
    if (!m.is_object()) ThrowType(p, "an object", m);
    const json* role_field = Field(m, "role");
    if (!role_field) ThrowInvalid(p + ".role", "missing");
    std::string role = String(*role_field, p + ".role");
    if (role == "developer") role = "system";
    static const std::set<std::string> kRoles = {"system", "user", "assistant", "tool"};
    if (!kRoles.count(role)) ThrowInvalid(p + ".role", "unknown role '" + role + "' (expected system, developer, user, assistant or tool)");
    json msg = {{"role", role}};
    const json* content = Field(m, "content");
    if (role == "assistant") {
      msg["content"] = content ? TextContent(*content, p + ".content", {"text"}) : std::string();
      if (const json* calls = Field(m, "tool_calls")) {
        json parsed = ParseToolCalls(*calls, p + ".tool_calls");
        for (const json& c : parsed) {
          if (c.contains("id")) call_names[c["id"].get<std::string>()] = c["function"]["name"].get<std::string>();
        }
        if (!parsed.empty()) msg["tool_calls"] = std::move(parsed);
      } else if (!content) {
        ThrowInvalid(p + ".content", "missing (an assistant message needs content or tool_calls)");
      }
      if (const json* r = Field(m, "reasoning_content")) msg["reasoning_content"] = String(*r, p + ".reasoning_content");
    } else {
      if (!content) ThrowInvalid(p + ".content", "missing");
      msg["content"] = TextContent(*content, p + ".content", {"text"});
    }
    if (const json* name = Field(m, "name")) msg["name"] = String(*name, p + ".name");
    if (role == "tool") {
      if (const json* id = Field(m, "tool_call_id")) {
        const std::string& call_id = String(*id, p + ".tool_call_id");
        msg["tool_call_id"] = call_id;
        auto it = call_names.find(call_id);
        if (!msg.contains("name") && it != call_names.end()) msg["name"] = it->second;
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

json ParseTools(const json& tools) {
  if (!tools.is_array()) ThrowType("tools", "an array", tools);
  json out = json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string p = "tools[" + std::to_string(i) + "]";
    const json& t = tools[i];
    if (!t.is_object()) ThrowType(p, "an object", t);
    const json* type = Field(t, "type");
    if (!type) ThrowInvalid(p + ".type", "missing");
    if (String(*type, p + ".type") != "function") ThrowInvalid(p + ".type", "only 'function' tools are supported");
    const json* fn = Field(t, "function");
    if (!fn) ThrowInvalid(p + ".function", "missing");
    if (!fn->is_object()) ThrowType(p + ".function", "an object", *fn);
    const json* name = Field(*fn, "name");
    if (!name) ThrowInvalid(p + ".function.name", "missing");
    const std::string& n = String(*name, p + ".function.name");
    if (n.empty() || n.size() > 64) ThrowInvalid(p + ".function.name", "must be 1 to 64 characters");
    json f = {{"name", n}};
    if (const json* d = Field(*fn, "description")) f["description"] = String(*d, p + ".function.description");
    if (const json* params = Field(*fn, "parameters")) {
      if (!params->is_object()) ThrowType(p + ".function.parameters", "an object (a JSON Schema)", *params);
      f["parameters"] = *params;
    }
    out.push_back({{"type", "function"}, {"function", std::move(f)}});
  }
  return out;
}

}  // namespace

nlohmann::json ParseBody(std::string_view body) {
  CheckJsonDepth(body);
  json value;
  try {
    value = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    throw ApiError(400, ErrorKind::kInvalidArgument,
                   "the request body is not valid JSON: parse error at byte " + std::to_string(e.byte) +
                       (body.empty() ? " (the body is empty)" : ""),
                   {}, "invalid_json");
  } catch (const json::exception& e) {
    // e.g. out_of_range for a number beyond double's range (1E6683): still the client's input.
    throw ApiError(400, ErrorKind::kInvalidArgument, std::string("the request body is not valid JSON: ") + e.what(), {},
                   "invalid_json");
  }
  if (!value.is_object()) {
    throw ApiError(400, ErrorKind::kInvalidArgument, "the request body must be a JSON object, got " + TypeName(value),
                   {}, "invalid_json");
  }
  return value;
}

GenerationRequest ParseChatCompletionRequest(const json& body, size_t vocab_size) {
  GenerationRequest r;
  r.chat = true;
  ParseCommon(body, vocab_size, r);
  r.chat_request.messages = ParseMessages(body);
  json tools;
  if (const json* v = Field(body, "tools")) tools = ParseTools(*v);
  std::string choice = "auto";
  if (const json* v = Field(body, "tool_choice")) {
    if (v->is_string()) {
      choice = v->get<std::string>();
      if (choice != "none" && choice != "auto" && choice != "required") {
        ThrowInvalid("tool_choice", "expected 'none', 'auto', 'required' or {\"type\":\"function\",...}, got '" + choice + "'");
      }
    } else if (v->is_object()) {
      const json* fn = Field(*v, "function");
      const json* name = fn && fn->is_object() ? Field(*fn, "name") : nullptr;
      if (!name) ThrowInvalid("tool_choice.function.name", "missing");
      const std::string& wanted = String(*name, "tool_choice.function.name");
      // A named choice renders only that tool: the template has no way to force a call.
      json kept = json::array();
      if (tools.is_array()) {
        for (const json& t : tools) if (t["function"]["name"] == wanted) kept.push_back(t);
      }
      if (kept.empty()) ThrowInvalid("tool_choice.function.name", "no tool named '" + wanted + "' in tools");
      tools = std::move(kept);
      choice = "function";
    } else {
      ThrowType("tool_choice", "a string or an object", *v);
    }
  }
  if (choice == "required" && !(tools.is_array() && !tools.empty())) {
    ThrowInvalid("tool_choice", "'required' needs at least one tool in tools");
  }
  if (choice != "none" && tools.is_array() && !tools.empty()) {
    r.chat_request.tools = std::move(tools);
    r.tools_enabled = true;
  }
  // OpenAI's default: the model may call several tools in one reply.
  bool parallel = true;
  if (const json* v = Field(body, "parallel_tool_calls")) parallel = Bool(*v, "parallel_tool_calls");
  if (choice == "required" || choice == "function") {
    // The reply must be calls of the declared tools (the named one), arguments per its schema:
    // one, or with parallel_tool_calls one or more.
    try {
      r.grammar = Grammar::GemmaToolCall(r.chat_request.tools, parallel);
    } catch (const Error& e) {
      ThrowInvalid("tools", std::string("cannot constrain the reply to a tool call: ") + e.what(),
                   e.kind() == ErrorKind::kUnsupported ? "unsupported_schema" : "invalid_schema");
    }
  }
  if (const json* v = Field(body, "chat_template_kwargs")) {
    if (!v->is_object()) ThrowType("chat_template_kwargs", "an object", *v);
    for (const auto& [key, value] : v->items()) {
      // These are the template's own inputs; letting a request overwrite them would bypass validation.
      if (key == "messages" || key == "tools" || key == "add_generation_prompt" || key == "bos_token" ||
          key == "eos_token") {
        ThrowInvalid("chat_template_kwargs." + key, "is reserved");
      }
      r.chat_request.extra[key] = value;
    }
  }
  if (const json* v = Field(body, "reasoning_effort")) {
    // OpenAI's switch for reasoning models: "none" turns thinking off, anything else on.
    const std::string& effort = String(*v, "reasoning_effort");
    if (!r.chat_request.extra.contains("enable_thinking")) r.chat_request.extra["enable_thinking"] = effort != "none";
  }
  r.chat_request.add_generation_prompt = true;
  return r;
}

GenerationRequest ParseCompletionRequest(const json& body, size_t vocab_size) {
  GenerationRequest r;
  r.chat = false;
  ParseCommon(body, vocab_size, r);
  if (!r.max_tokens && !body.contains("max_tokens")) r.max_tokens = 16;  // OpenAI's default for completions
  const json* prompt = Field(body, "prompt");
  if (!prompt) ThrowInvalid("prompt", "missing");
  auto ids_from = [&](const json& arr, const std::string& path) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < arr.size(); ++i) {
      ids.push_back(static_cast<int32_t>(Integer(arr[i], path + "[" + std::to_string(i) + "]", 0,
                                                 static_cast<int64_t>(vocab_size) - 1)));
    }
    if (ids.empty()) ThrowInvalid(path, "must not be empty");
    return ids;
  };
  if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else if (prompt->is_array()) {
    if (prompt->empty()) ThrowInvalid("prompt", "must not be empty");
    if ((*prompt)[0].is_number()) {
      r.prompt_ids = ids_from(*prompt, "prompt");
    } else {
      if (prompt->size() != 1) ThrowInvalid("prompt", "only one prompt per request is supported, got " + std::to_string(prompt->size()), "unsupported_value");
      const json& only = (*prompt)[0];
      if (only.is_array()) r.prompt_ids = ids_from(only, "prompt[0]");
      else r.prompt = String(only, "prompt[0]");
    }
  } else {
    ThrowType("prompt", "a string, an array of token ids, or an array of one string", *prompt);
  }
  if (r.prompt_ids.empty() && r.prompt.empty()) ThrowInvalid("prompt", "must not be empty");
  if (const json* v = Field(body, "echo"); v && Bool(*v, "echo")) ThrowInvalid("echo", "echo is not supported", "unsupported_value");
  if (const json* v = Field(body, "suffix"); v && !String(*v, "suffix").empty()) {
    ThrowInvalid("suffix", "suffix (fill-in-the-middle) is not supported", "unsupported_value");
  }
  return r;
}

SamplingParams ResolveSampling(const GenerationRequest& r, const SamplingParams& defaults, uint64_t random_seed) {
  SamplingOverrides o;
  auto as_float = [](const std::optional<double>& v) -> std::optional<float> {
    return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
  };
  o.temperature = as_float(r.temperature);
  if (r.top_p && *r.top_p == 0) o.do_sample = false;  // OpenAI accepts 0: only the most likely token
  else o.top_p = as_float(r.top_p);
  o.top_k = r.top_k;
  o.min_p = as_float(r.min_p);
  o.repetition_penalty = as_float(r.repetition_penalty);
  o.presence_penalty = as_float(r.presence_penalty);
  o.frequency_penalty = as_float(r.frequency_penalty);
  o.logit_bias = r.logit_bias;
  o.seed = r.seed;
  try {
    return gemma4::ResolveSampling(defaults, o, random_seed);
  } catch (const Error& e) {
    throw ApiError(400, ErrorKind::kInvalidArgument, e.what());
  }
}

json UsageJson(const Usage& u) {
  json usage = {{"prompt_tokens", u.prompt_tokens},
                {"completion_tokens", u.completion_tokens},
                {"total_tokens", u.prompt_tokens + u.completion_tokens},
                {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
  if (u.draft_tokens > 0) {
    usage["completion_tokens_details"] = {{"accepted_prediction_tokens", u.accepted_tokens},
                                          {"rejected_prediction_tokens", u.draft_tokens - u.accepted_tokens}};
  }
  return usage;
}

json ToolCallDeltaJson(size_t index, const ToolCall& call) {
  return {{"index", index},
          {"id", call.id},
          {"type", "function"},
          {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
}

json ChatCompletionJson(const ResponseMeta& meta, const AssistantOutput& output, std::string_view finish_reason,
                        const Usage& usage) {
  json message = {{"role", "assistant"}};
  message["content"] = output.content.empty() && !output.tool_calls.empty() ? json(nullptr) : json(output.content);
  if (!output.reasoning.empty()) message["reasoning_content"] = output.reasoning;
  if (!output.tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCall& c : output.tool_calls) {
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  return {{"id", meta.id},
          {"object", "chat.completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", nullptr},
          {"choices", json::array({{{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr},
                                    {"finish_reason", finish_reason}}})},
          {"usage", UsageJson(usage)}};
}

json ChatChunkJson(const ResponseMeta& meta, json delta, std::string_view finish_reason, bool include_usage_field,
                   const Usage* usage) {
  json chunk = {{"id", meta.id},
                {"object", "chat.completion.chunk"},
                {"created", meta.created},
                {"model", meta.model},
                {"system_fingerprint", nullptr},
                {"choices", json::array({{{"index", 0},
                                          {"delta", std::move(delta)},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}}})}};
  if (include_usage_field || usage) chunk["usage"] = usage ? UsageJson(*usage) : json(nullptr);
  return chunk;
}

json CompletionJson(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason, const Usage& usage) {
  return {{"id", meta.id},
          {"object", "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", nullptr},
          {"choices", json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish_reason}}})},
          {"usage", UsageJson(usage)}};
}

json CompletionChunkJson(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason,
                         bool include_usage_field, const Usage* usage) {
  json chunk = {{"id", meta.id},
                {"object", "text_completion"},
                {"created", meta.created},
                {"model", meta.model},
                {"system_fingerprint", nullptr},
                {"choices", json::array({{{"index", 0},
                                          {"text", text},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}}})}};
  if (include_usage_field || usage) chunk["usage"] = usage ? UsageJson(*usage) : json(nullptr);
  return chunk;
}

json UsageChunkJson(const ResponseMeta& meta, bool chat, const Usage& usage) {
  return {{"id", meta.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", nullptr},
          {"choices", json::array()},
          {"usage", UsageJson(usage)}};
}

json ModelsJson(const std::string& model_id, int64_t created) {
  return {{"object", "list"},
          {"data", json::array({{{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "gemma4-ort"}}})}};
}

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace gemma4::server
