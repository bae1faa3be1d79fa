// Added-token matching (HF AddedVocabulary::find_matches).
#include "tokenizer/added_vocabulary.h"

#include "tokenizer/unicode.h"

namespace gemma4::tok {

void TokenTrie::Add(std::string_view pattern, int32_t id) {
  int32_t node = 0;
  for (char ch : pattern) {
    auto c = static_cast<unsigned char>(ch);
    uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
    auto it = edges_.find(key);
    if (it == edges_.end()) {
      int32_t child = static_cast<int32_t>(nodes_.size());
      nodes_.push_back(Node{});
      edges_.emplace(key, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  first_[static_cast<unsigned char>(pattern[0])] = true;
  // With duplicate patterns the first one registered wins, like aho-corasick's pattern order.
  if (nodes_[static_cast<size_t>(node)].id < 0) nodes_[static_cast<size_t>(node)].id = id;
}

int32_t TokenTrie::Child(int32_t node, unsigned char c) const {
  auto it = edges_.find((static_cast<uint64_t>(node) << 8) | c);
  return it == edges_.end() ? -1 : it->second;
}

size_t TokenTrie::LongestAt(std::string_view text, size_t pos, int32_t* id) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = Child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    if (nodes_[static_cast<size_t>(node)].id >= 0) {
      best = i + 1 - pos;
      *id = nodes_[static_cast<size_t>(node)].id;
    }
  }
  return best;
}

namespace {

bool EndsWithWord(std::string_view s) { return !s.empty() && IsWordChar(LastCodePoint(s)); }

bool StartsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  return IsWordChar(NextCodePoint(s, i));
}

// Start of the run of whitespace that ends `s`.
size_t SpaceLeftmostAtEnd(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t j = end - 1;
    while (j > 0 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) --j;
    size_t k = j;
    if (!IsWhitespace(NextCodePoint(s, k))) break;
    end = j;
  }
  return end;
}

// Length of the run of whitespace that starts `s`.
size_t SpaceRightmostAtStart(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!IsWhitespace(NextCodePoint(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

void AddedVocabulary::Split(std::string_view text, bool normalized, std::vector<AddedMatch>& out) const {
  const TokenTrie& trie = normalized ? normalized_trie_ : raw_trie_;
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.MayStartWith(static_cast<unsigned char>(text[pos]))) { ++pos; continue; }
    int32_t id = -1;
    size_t len = trie.LongestAt(text, pos, &id);
    if (len == 0) { ++pos; continue; }
    size_t start = pos, stop = pos + len;
    pos = stop;  // the automaton resumes after the raw match
    const AddedToken& tok = by_id_.at(id);
    if (tok.single_word) {
      bool start_space = start == 0 || !EndsWithWord(text.substr(0, start));
      bool stop_space = stop == text.size() || !StartsWithWord(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(SpaceLeftmostAtEnd(text.substr(0, start)), start_offset);
    if (tok.rstrip) stop += SpaceRightmostAtStart(text.substr(stop));
    if (start_offset < start) out.push_back({-1, start_offset, start});
    out.push_back({id, start, stop});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({-1, start_offset, text.size()});
}

}  // namespace gemma4::tok
