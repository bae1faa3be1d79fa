// Chat-template render time: a Gemma 4-style template over a 20-turn conversation (system prompt,
// tools, one tool call), i.e. the work done per chat request before tokenization.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gemma4/chat_template.h"

namespace {

using Json = nlohmann::ordered_json;
const std::filesystem::path kSource = GEMMA4_SOURCE_DIR;

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json Conversation(int turns) {
  Json messages = Json::array({{{"role", "system"}, {"content", "You are a helpful assistant. Answer briefly."}}});
  for (int t = 0; t < turns; ++t) {
    if (t % 2 == 0) {
      messages.push_back({{"role", "user"}, {"content", "Question number " + std::to_string(t) +
                                                            ": what is the weather like in Paris today, and why?"}});
    } else {
      messages.push_back({{"role", "assistant"},
                          {"content", "It is sunny with a light breeze; a high-pressure system sits over France. "
                                      "Expect around 21 degrees this afternoon."}});
    }
  }
  return messages;
}

Json Tools() {
  return Json::parse(Read(kSource / "tests/chat/fixtures/tool_calls.json"))["tools"];
}

void Render(benchmark::State& state, const std::filesystem::path& package) {
  auto config = gemma4::LoadChatTemplateConfig(package);
  auto tmpl = gemma4::ChatTemplate::Parse(config.source, config.origin);
  const Json messages = Conversation(20);
  const Json tools = Tools();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string prompt = gemma4::ApplyChatTemplate(tmpl, config, messages, tools, true, Json{{"enable_thinking", true}});
    bytes = prompt.size();
    benchmark::DoNotOptimize(prompt);
  }
  state.counters["prompt_bytes"] = static_cast<double>(bytes);
}

void BM_RenderGemma4Style20Turns(benchmark::State& state) { Render(state, kSource / "tests/chat/packages/gemma4-style"); }
BENCHMARK(BM_RenderGemma4Style20Turns)->Unit(benchmark::kMicrosecond);

void BM_RenderTestModelTemplate20Turns(benchmark::State& state) {
  const auto jinja = kSource / "tools/testmodel/chat_template.jinja";
  if (!std::filesystem::exists(jinja)) {
    state.SkipWithError("tools/testmodel/chat_template.jinja not present");
    return;
  }
  auto dir = std::filesystem::temp_directory_path() / "gemma4-bench-testmodel-template";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(jinja, dir / "chat_template.jinja", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(kSource / "tests/chat/packages/gemma4-style/tokenizer_config.json",
                             dir / "tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  Render(state, dir);
}
BENCHMARK(BM_RenderTestModelTemplate20Turns)->Unit(benchmark::kMicrosecond);

void BM_ParseGemma4Style(benchmark::State& state) {
  auto config = gemma4::LoadChatTemplateConfig(kSource / "tests/chat/packages/gemma4-style");
  for (auto _ : state) benchmark::DoNotOptimize(gemma4::ChatTemplate::Parse(config.source, config.origin));
}
BENCHMARK(BM_ParseGemma4Style)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
