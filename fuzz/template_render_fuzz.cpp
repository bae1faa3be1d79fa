// Jinja parse + render of a fuzzed template against fixed chat variables, under small limits:
// the outcome is text or a gemma4::Error, never a crash, a hang or another exception.
#include "fuzz_util.h"
#include "gemma4/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Hi <b>there</b>"}]},
                 {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
                   "function": {"name": "get_weather", "arguments": {"city": "Paris", "n": 3}}}]},
                 {"role": "tool", "content": "{\"t\": 21}"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "bos_token": "<bos>", "eos_token": "<eos>", "add_generation_prompt": true, "enable_thinking": true,
    "xs": [1, 2.5, "three", null, true, {"k": [1]}]})");
  gemma4::TemplateLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_operations = 100'000;
  limits.max_call_depth = 16;
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const auto tmpl = gemma4::ChatTemplate::Parse(std::string(gemma4::fuzz::AsText(data, size)), "fuzz.jinja");
    const std::string out = tmpl.Render(vars, limits);
    gemma4::fuzz::Require(out.size() <= limits.max_output_bytes, "output within max_output_bytes");
  });
  return 0;
}
