// The `gemma4` command as scripts use it: exit codes, stdout/stderr separation, the JSON
// contracts of `info --json` and `run --json`, and the errors users meet first.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace gemma4 {
namespace {

using testing::TestModel;

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs the gemma4 binary with `args` (shell-quoted by the caller), stdin from /dev/null.
Result Gemma4(const std::string& args, const std::string& stdin_text = "") {
  testing::TempDir tmp;
  const auto err_file = tmp / "stderr";
  const auto in_file = tmp / "stdin";
  testing::WriteFile(in_file, stdin_text);
  const std::string cmd = std::string(GEMMA4_CLI) + " " + args + " <" + in_file.string() + " 2>" + err_file.string();
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = testing::ReadFile(err_file);
  return r;
}

std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

TEST(Cli, VersionNamesTheOnnxRuntimeLoaded) {
  Result r = Gemma4("version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ONNX Runtime 1."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libonnxruntime"), std::string::npos) << r.out;
}

TEST(Cli, InfoJsonDescribesTheDiscoveredStructure) {
  // --no-kv-window: every cache whole, so the plan is bytes per token times the context.
  Result r = Gemma4("info -m " + Quote(TestModel("community")) + " --json -c 2048 -t 1 --no-kv-window");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "community");
  EXPECT_EQ(j["dtype"], "q4");
  EXPECT_EQ(j["memory"]["context"], 2048);
  const int64_t layers = j["config"]["num_hidden_layers"], shared = j["config"]["num_kv_shared_layers"];
  EXPECT_EQ(static_cast<int64_t>(j["discovery"]["kv_layers"].size()), layers - shared);
  EXPECT_TRUE(j["discovery"]["num_logits_to_keep"].get<bool>());
  EXPECT_EQ(j["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>(),
            j["memory"]["kv_bytes_per_token"].get<uint64_t>() * 2048);
  bool saw_per_layer = false;
  for (const auto& in : j["graphs"]["decoder"]["inputs"]) saw_per_layer |= in["name"] == "per_layer_inputs";
  EXPECT_TRUE(saw_per_layer);
  EXPECT_NE(j["onnxruntime"]["library"].get<std::string>().find("onnxruntime"), std::string::npos);
}

TEST(Cli, InfoTextShowsTheTablesAndThePlan) {
  Result r = Gemma4("info -m " + Quote(TestModel("text-q4f16")) + " --dtype q4f16 -c 4096 -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* expected : {"layout   text-only", "past_key_values.0.key", "present.0.key", "float16",
                               "memory for 4096 tokens", "decoder on cpu", "num_logits_to_keep yes"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << r.out;
  }
}

TEST(Cli, InfoShowsTheSlidingWindowPlanOrWhyThereIsNone) {
  Result trimmed = Gemma4("info -m " + Quote(TestModel("gqa")) + " -c 131072 -t 1 --kv-window");
  ASSERT_EQ(trimmed.status, 0) << trimmed.err;
  for (const char* expected : {"sliding window: 3 layers keep only their window of 8 positions (272 held",
                               "        sliding window of 8 positions", "memory for 131072 tokens"}) {
    EXPECT_NE(trimmed.out.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << trimmed.out;
  }
  Result json = Gemma4("info -m " + Quote(TestModel("gqa")) + " -c 131072 -t 1 --json --kv-window");
  ASSERT_EQ(json.status, 0) << json.err;
  Result whole = Gemma4("info -m " + Quote(TestModel("gqa")) + " -c 131072 -t 1 --json --no-kv-window");
  ASSERT_EQ(whole.status, 0) << whole.err;
  const auto a = nlohmann::json::parse(json.out), b = nlohmann::json::parse(whole.out);
  EXPECT_LT(a["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>() * 2, b["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>());
  EXPECT_EQ(b["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>(), b["memory"]["kv_bytes_per_token"].get<uint64_t>() * 131072);
  EXPECT_NE(b["discovery"]["kv_window"]["note"].get<std::string>().find("--kv-window"), std::string::npos);

  Result refused = Gemma4("info -m " + Quote(TestModel("mask-from-position-ids")) + " -t 1 --kv-window");
  ASSERT_EQ(refused.status, 0) << refused.err;
  EXPECT_NE(refused.out.find("sliding window: every layer keeps the whole history: not recognised: "), std::string::npos)
      << refused.out;
  EXPECT_NE(refused.out.find("position_ids"), std::string::npos) << refused.out;
}

TEST(Cli, InfoPlansACudaLayoutEvenWithoutCuda) {
  Result r = Gemma4("info -m " + Quote(TestModel("text-q4")) + " --json -c 4096 --device cuda --embed-device cpu -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["memory"]["decoder"]["device"], "cuda");
  EXPECT_EQ(j["memory"]["embed"]["device"], "cpu");
  EXPECT_NE(j["memory"]["device_note"].get<std::string>().find("planned for cuda, discovered on cpu"), std::string::npos);
  EXPECT_EQ(j["memory"]["decoder"]["total_bytes"].get<uint64_t>(),
            j["memory"]["decoder"]["weight_bytes"].get<uint64_t>() + j["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>() +
                j["memory"]["decoder"]["logits_bytes"].get<uint64_t>());
}

TEST(Cli, InfoWithoutSessionsReadsOnlyFiles) {
  Result r = Gemma4("info -m " + Quote(TestModel("sidecar-split")) + " --no-session --json");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j.contains("discovery"));
  EXPECT_EQ(j["graphs"]["decoder"]["external_data"].size(), 3u);
}

TEST(Cli, RunJsonFollowsTheContract) {
  Result r = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p 'Hello' --temp 0 -n 8 --json -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line expected:\n" << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"prompt_ids", "output_ids", "text", "stop_reason", "timings"}) EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"load_ms", "prefill_ms", "decode_ms", "prompt_tokens", "generated_tokens"}) {
    EXPECT_TRUE(j["timings"].contains(key)) << key;
  }
  EXPECT_EQ(j["prompt_ids"][0], 2);
  EXPECT_LE(j["output_ids"].size(), 8u);
  EXPECT_TRUE(j["stop_reason"] == "eos" || j["stop_reason"] == "length");
  EXPECT_EQ(j["timings"]["generated_tokens"], j["output_ids"].size());

  // The streamed text is the same as the JSON text, and --prompt-ids bypasses template and tokenizer.
  Result streamed = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p 'Hello' --temp 0 -n 8 -t 1");
  ASSERT_EQ(streamed.status, 0) << streamed.err;
  EXPECT_EQ(streamed.out, j["text"].get<std::string>() + "\n");
  std::string ids;
  for (const auto& id : j["prompt_ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
  Result by_ids = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --prompt-ids " + ids + " --temp 0 -n 8 --json -t 1");
  ASSERT_EQ(by_ids.status, 0) << by_ids.err;
  EXPECT_EQ(nlohmann::json::parse(by_ids.out)["output_ids"], j["output_ids"]);
}

TEST(Cli, RunJsonCarriesTheParsedReply) {
  Result r = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p 'Hello' --temp 0 -n 8 --json -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"content", "reasoning", "tool_calls"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["tool_calls"].is_array());
  // No markup in this answer: the parsed content is the text.
  if (j["reasoning"] == "" && j["tool_calls"].empty()) EXPECT_EQ(j["content"], j["text"]);
  // Without the chat template there is nothing to parse, so no reply fields.
  Result raw = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --raw -p 'Hello' --temp 0 -n 2 --json -t 1");
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_FALSE(nlohmann::json::parse(raw.out).contains("content"));
}

TEST(Cli, RunRawUsesTheTokenizersOwnSpecialTokens) {
  Result r = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --raw -p 'Hello' --temp 0 -n 2 --json -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"][0], 2);        // <bos> from the post-processor
  EXPECT_NE(j["prompt_ids"][1], 105);      // no <|turn>: no template
}

TEST(Cli, RunReadsThePromptFromStdin) {
  Result r = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --temp 0 -n 2 --json -t 1", "Hello");
  ASSERT_EQ(r.status, 0) << r.err;
  Result p = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p Hello --temp 0 -n 2 --json -t 1");
  EXPECT_EQ(nlohmann::json::parse(r.out)["prompt_ids"], nlohmann::json::parse(p.out)["prompt_ids"]);
}

TEST(Cli, ErrorsGoToStderrWithStatusOne) {
  Result missing = Gemma4("info -m /nonexistent/model");
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(missing.out.empty());
  EXPECT_NE(missing.err.find("error: /nonexistent/model: no such directory"), std::string::npos) << missing.err;

  Result cuda = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p hi --device cuda");
  EXPECT_EQ(cuda.status, 1);
  EXPECT_NE(cuda.err.find("device 'cuda'"), std::string::npos) << cuda.err;

  Result ids = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --prompt-ids 2,x,5");
  EXPECT_EQ(ids.status, 1);
  EXPECT_NE(ids.err.find("--prompt-ids: item 1 ('x') is not a token id"), std::string::npos) << ids.err;

  Result range = Gemma4("run -m " + Quote(TestModel("text-q4")) + " --prompt-ids 2,99999999");
  EXPECT_EQ(range.status, 1);
  EXPECT_NE(range.err.find("outside the vocabulary"), std::string::npos) << range.err;

  Result ctx = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p 'a long enough prompt' -c 4");
  EXPECT_EQ(ctx.status, 1);
  EXPECT_NE(ctx.err.find("does not fit the context size of 4"), std::string::npos) << ctx.err;

  Result flag = Gemma4("run --temp -1 -m x");
  EXPECT_NE(flag.status, 0);
  EXPECT_NE(flag.err.find("--temp"), std::string::npos) << flag.err;
}

TEST(Cli, ChatKeepsTheConversationAndSavesIt) {
  testing::TempDir tmp;
  const auto saved = tmp / "conversation.json";
  const std::string input = "Hello\nHow are you?\n/save " + saved.string() + "\n/reset\n/quit\n";
  Result r = Gemma4("chat -m " + Quote(TestModel("text-q4")) + " --temp 0 -n 6 -t 1 --system 'Be brief.'", input);
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json messages = nlohmann::json::parse(testing::ReadFile(saved));
  ASSERT_EQ(messages.size(), 5u) << messages.dump();
  EXPECT_EQ(messages[0]["role"], "system");
  EXPECT_EQ(messages[1]["content"], "Hello");
  EXPECT_EQ(messages[2]["role"], "assistant");
  EXPECT_EQ(messages[3]["content"], "How are you?");
  // The answers printed are the ones saved.
  EXPECT_NE(r.out.find(messages[4]["content"].get<std::string>()), std::string::npos);
  EXPECT_NE(r.err.find("saved 5 messages"), std::string::npos) << r.err;
}

TEST(Cli, CtrlCStopsTheAnswerNotTheProgram) {
  testing::TempDir tmp;
  const auto out_file = tmp / "out.txt";
  const auto err_file = tmp / "err.txt";
  // Interrupt once the answer is streaming (the first bytes are on stdout), however long loading took.
  const std::string cmd = "(" + std::string(GEMMA4_CLI) + " run -m " + Quote(TestModel("text-q4")) +
                          " -p hi --temp 0 -n 0 --ignore-eos -t 1 >" + out_file.string() + " 2>" + err_file.string() +
                          " & pid=$!; for i in $(seq 600); do [ -s " + out_file.string() +
                          " ] && break; sleep 0.1; done; sleep 0.3; kill -INT $pid; wait $pid; echo $?)";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[64] = {0};
  ASSERT_NE(fgets(buf, sizeof buf, pipe), nullptr);
  pclose(pipe);
  EXPECT_EQ(std::string(buf), "0\n") << "gemma4 run should exit normally after Ctrl-C; stderr: "
                                     << testing::ReadFile(err_file);
  EXPECT_NE(testing::ReadFile(err_file).find("[cancelled]"), std::string::npos) << testing::ReadFile(err_file);
  EXPECT_FALSE(testing::ReadFile(out_file).empty());
}

TEST(Cli, TheCExampleChatsThroughTheCApi) {
  const auto example = std::filesystem::path(GEMMA4_CLI).parent_path() / "simple_chat";
  ASSERT_TRUE(std::filesystem::exists(example));
  testing::TempDir tmp;
  const std::string cmd = example.string() + " " + Quote(TestModel("text-q4")) + " 'Hello' 5 2>" + (tmp / "err").string();
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 0) << testing::ReadFile(tmp / "err");
  // Greedy through the C API equals greedy through the CLI.
  Result cli = Gemma4("run -m " + Quote(TestModel("text-q4")) + " -p Hello --temp 0 -n 5 -t 1");
  EXPECT_EQ(out.substr(0, out.find("\n[")), cli.out.substr(0, cli.out.size() - 1));
  EXPECT_NE(out.find(" bytes, stop: "), std::string::npos) << out;
  // And a bad path comes back as a status and a message, not a crash.
  FILE* bad = popen((example.string() + " /nonexistent hi 2>&1").c_str(), "r");
  std::string err;
  while ((n = fread(buf, 1, sizeof buf, bad)) > 0) err.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(pclose(bad)), 1);
  EXPECT_NE(err.find("error: /nonexistent: no such directory"), std::string::npos) << err;
}

TEST(Cli, WithoutAModelRunUsesTheDemoPackageAndSaysSo) {
  const auto demo = std::filesystem::path(GEMMA4_CLI).parent_path() / "demo-model";
  if (!std::filesystem::exists(demo)) GTEST_SKIP() << "built with GEMMA4_BUILD_DEMO_MODEL=OFF";
  Result r = Gemma4("run -p Bonjour -n 4 --temp 0 -t 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("demo package"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gemma4
