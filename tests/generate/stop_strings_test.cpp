// StopStringMatcher: stops across chunk boundaries, overlapping prefixes, several stops, UTF-8; and
// the generator.
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gemma4/error.h"
#include "generate/stop_strings.h"

namespace gemma4 {
namespace {

struct Streamed {
  std::string text;        // everything emitted, Flush included when no stop
  bool stopped = false;
  int matched = -1;
  std::vector<std::string> pieces;  // what each Feed returned
};

Streamed Stream(const std::vector<std::string>& stops, const std::vector<std::string>& chunks) {
  StopStringMatcher m(stops);
  Streamed out;
  for (const auto& c : chunks) {
    auto r = m.Feed(c);
    out.pieces.push_back(r.text);
    out.text += r.text;
    if (r.stopped) {
      out.stopped = true;
      break;
    }
  }
  if (!out.stopped) out.text += m.Flush();
  out.matched = m.matched_index();
  return out;
}

// What a reader of the whole text expects: cut before the stop that is completed first (at equal end, the
// longest); searched position by position, independently of the matcher.
std::string Expected(const std::string& text, const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    size_t best = std::string::npos;
    for (const auto& s : stops) {
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0) best = std::min(best, end - s.size());
    }
    if (best != std::string::npos) return text.substr(0, best);
  }
  return text;
}

std::vector<std::string> Bytes(const std::string& s) {
  std::vector<std::string> out;
  for (char c : s) out.push_back(std::string(1, c));
  return out;
}

TEST(StopStrings, StopSpanningChunksIsCutAndNeverEmitted) {
  const auto r = Stream({"</end>"}, {"Hello wor", "ld</e", "nd> trailing"});
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "Hello world");
  EXPECT_EQ(r.matched, 0);
  // The "</e" that might begin the stop is held back until it resolves.
  EXPECT_THAT(r.pieces, testing::ElementsAre("Hello wor", "ld", ""));
}

TEST(StopStrings, HeldTextIsReleasedWhenItStopsMatching) {
  StopStringMatcher m({"STOP"});
  EXPECT_EQ(m.Feed("abc ST").text, "abc ");
  EXPECT_EQ(m.held_bytes(), 2u);
  EXPECT_EQ(m.Feed("O").text, "");
  auto r = m.Feed("P?");  // "STOP" completes here
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
  StopStringMatcher n({"STOP"});
  EXPECT_EQ(n.Feed("ST").text, "");
  EXPECT_EQ(n.Feed("OX").text, "STOX");  // not a stop after all
  EXPECT_EQ(n.Feed("S").text, "");
  EXPECT_EQ(n.Flush(), "S");  // end of generation releases what was held
  EXPECT_FALSE(n.stopped());
  EXPECT_EQ(n.matched_index(), -1);
}

TEST(StopStrings, OverlappingPrefixes) {
  // "aab" inside "aaab": the first "a" is released only when it can no longer start the stop.
  const auto r = Stream({"aab"}, Bytes("aaab"));
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "a");
  EXPECT_THAT(r.pieces, testing::ElementsAre("", "", "a", ""));
  EXPECT_EQ(Stream({"aab"}, {"aaab"}).text, "a");
  EXPECT_EQ(Stream({"abab"}, {"aba", "bab"}).text, "");
  EXPECT_EQ(Stream({"abac"}, {"ababa", "c!"}).text, "ab");
  // No stop: everything comes out, held or not.
  const auto none = Stream({"aab"}, Bytes("aaaa"));
  EXPECT_FALSE(none.stopped);
  EXPECT_EQ(none.text, "aaaa");
}

TEST(StopStrings, SeveralStopsFirstCompletedWins) {
  // "b" completes (at byte 2) before "abc" (at byte 3), whatever the chunking.
  EXPECT_EQ(Stream({"abc", "b"}, {"xabc"}).text, "xa");
  EXPECT_EQ(Stream({"abc", "b"}, Bytes("xabc")).text, "xa");
  EXPECT_EQ(Stream({"abc", "b"}, {"xabc"}).matched, 1);
  // Same end: the longer one, which starts earlier.
  const auto same_end = Stream({"c", "abc"}, {"xxabcxx"});
  EXPECT_EQ(same_end.text, "xx");
  EXPECT_EQ(same_end.matched, 1);
  EXPECT_EQ(Stream({"\n\n", "User:"}, {"Sure.\nUs", "er: hi"}).text, "Sure.\n");
  EXPECT_EQ(Stream({"\n\n", "User:"}, {"Sure.\n", "\nUser:"}).text, "Sure.");
}

TEST(StopStrings, Utf8MultiByteStops) {
  const std::string stop = "\xE3\x80\x82";  // "。", three bytes
  // Cut inside the character across three chunks.
  const auto r = Stream({stop}, {"\xE4\xBD\xA0\xE5\xA5\xBD\xE3", "\x80", "\x82\xE5\x90\x97"});
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "\xE4\xBD\xA0\xE5\xA5\xBD");  // "你好"
  // A character sharing the lead byte is released whole once it differs.
  const auto other = Stream({stop}, {"\xE3\x80", "\x81 ok"});  // "、 ok"
  EXPECT_FALSE(other.stopped);
  EXPECT_EQ(other.text, "\xE3\x80\x81 ok");
  EXPECT_EQ(Stream({"é!"}, {"caf\xC3", "\xA9", "!!"}).text, "caf");
}

TEST(StopStrings, AfterAStopNothingMoreComesOut) {
  StopStringMatcher m({"END"});
  auto r = m.Feed("fooEND bar");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "foo");
  auto again = m.Feed("more");
  EXPECT_TRUE(again.stopped);
  EXPECT_EQ(again.text, "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopStrings, NoStopsPassesEverythingThrough) {
  StopStringMatcher m({});
  EXPECT_EQ(m.Feed("abc").text, "abc");
  EXPECT_EQ(m.held_bytes(), 0u);
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopStrings, RejectsEmptyStop) {
  try {
    StopStringMatcher m({"ok", ""});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_STREQ(e.what(), "stop[1] is an empty string");
  }
}

TEST(StopStrings, AnyChunkingGivesTheSameResult) {
  // Random texts over a small alphabet (so stops and near-misses are frequent), random stops, random cuts.
  std::mt19937 gen(12345);
  const std::string alphabet = "ab\n\xC3\xA9";
  auto random_string = [&](size_t len) {
    std::string s;
    while (s.size() < len) {
      const size_t pick = gen() % 4;
      s += pick == 3 ? alphabet.substr(3, 2) : alphabet.substr(pick, 1);
    }
    return s;
  };
  int stopped = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::string> stops;
    const int n_stops = 1 + gen() % 3;
    for (int i = 0; i < n_stops; ++i) stops.push_back(random_string(1 + gen() % 4));
    const std::string text = random_string(gen() % 30);
    const std::string expected = Expected(text, stops);
    std::vector<std::string> chunks;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min(text.size() - pos, size_t(1 + gen() % 5));
      chunks.push_back(text.substr(pos, len));
      pos += len;
    }
    const auto r = Stream(stops, chunks);
    ASSERT_EQ(r.text, expected) << "trial " << trial << " text '" << text << "' stops " << testing::PrintToString(stops);
    bool occurs = false;
    for (const auto& s : stops) occurs = occurs || text.find(s) != std::string::npos;
    ASSERT_EQ(r.stopped, occurs) << "trial " << trial;
    // Never emitted: no stop string appears in what came out.
    for (const auto& s : stops) ASSERT_EQ(r.text.find(s), std::string::npos) << "trial " << trial;
    ASSERT_EQ(Stream(stops, Bytes(text)).text, expected) << "trial " << trial;
    stopped += r.stopped;
  }
  EXPECT_GT(stopped, 500);  // the random cases do exercise stops
}

}  // namespace
}  // namespace gemma4
