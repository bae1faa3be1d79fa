// Added tokens (tokenizer.json "added_tokens"): ids assigned the way HF's AddedVocabulary does,
// and leftmost-longest matching honouring single_word, lstrip and rstrip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace gemma4::tok {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  bool operator==(const AddedToken&) const = default;
};

// A set of literal patterns searched leftmost-longest (what HF's aho-corasick trie does).
class TokenTrie {
 public:
  void Add(std::string_view pattern, int32_t id);
  bool empty() const { return nodes_.size() <= 1; }
  // Longest pattern starting at text[pos]; returns its length (0 if none) and sets *id.
  size_t LongestAt(std::string_view text, size_t pos, int32_t* id) const;
  bool MayStartWith(unsigned char c) const { return first_[c]; }

 private:
  struct Node { int32_t id = -1; };
  int32_t Child(int32_t node, unsigned char c) const;
  std::vector<Node> nodes_{Node{}};
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child
  bool first_[256] = {};
};

struct AddedMatch {
  int32_t id;  // -1 for the text between matches
  size_t start, end;
};

class AddedVocabulary {
 public:
  // Registers one token in file order; `model_lookup` gives the model's id for a content or -1.
  // Returns the id it gets (HF semantics: an existing id for known content, else the next free).
  template <typename Lookup>
  int32_t Add(const AddedToken& token, size_t model_vocab_count, Lookup model_lookup);

  // Builds the two tries; `normalize` maps a normalized token's content to its normalized form.
  template <typename Normalize>
  void Finish(Normalize normalize);

  // Splits `text` into runs of plain text and added-token matches covering the whole text.
  void Split(std::string_view text, bool normalized_trie, std::vector<AddedMatch>& out) const;
  bool HasNormalizedTokens() const { return !normalized_trie_.empty(); }
  bool HasRawTokens() const { return !raw_trie_.empty(); }

  int32_t Find(std::string_view content) const {
    auto it = content_to_id_.find(std::string(content));
    return it == content_to_id_.end() ? -1 : it->second;
  }
  bool IsSpecialContent(std::string_view content) const { return special_set_.count(std::string(content)) > 0; }
  const std::unordered_map<int32_t, AddedToken>& by_id() const { return by_id_; }

 private:
  std::unordered_map<std::string, int32_t> content_to_id_;
  std::unordered_map<int32_t, AddedToken> by_id_;
  std::vector<AddedToken> special_;      // in file order
  std::vector<AddedToken> non_special_;  // in file order
  std::unordered_set<std::string> special_set_;
  int32_t max_id_ = -1;
  TokenTrie raw_trie_;
  TokenTrie normalized_trie_;
};

// ---- template definitions ----

template <typename Lookup>
int32_t AddedVocabulary::Add(const AddedToken& token, size_t model_vocab_count, Lookup model_lookup) {
  if (token.special && !token.content.empty() && !special_set_.count(token.content)) {
    special_.push_back(token);
    special_set_.insert(token.content);
  }
  if (token.content.empty()) return -1;
  auto known = content_to_id_.find(token.content);
  if (known != content_to_id_.end() && by_id_.count(known->second) && by_id_[known->second] == token) return known->second;
  int32_t id;
  if (known != content_to_id_.end()) {
    id = known->second;
  } else if (int32_t m = model_lookup(token.content); m >= 0) {
    id = m;
  } else if (max_id_ < 0) {
    id = static_cast<int32_t>(model_vocab_count);
  } else {
    id = (max_id_ >= static_cast<int32_t>(model_vocab_count) || model_vocab_count == 0) ? max_id_ + 1
                                                                                        : static_cast<int32_t>(model_vocab_count);
  }
  content_to_id_[token.content] = id;
  by_id_[id] = token;
  if (id > max_id_) max_id_ = id;
  if (!special_set_.count(token.content)) non_special_.push_back(token);
  return id;
}

template <typename Normalize>
void AddedVocabulary::Finish(Normalize normalize) {
  auto add = [&](const AddedToken& t) {
    int32_t id = content_to_id_.at(t.content);
    if (t.normalized) {
      std::string n = normalize(t.content);
      if (!n.empty()) normalized_trie_.Add(n, id);
    } else {
      raw_trie_.Add(t.content, id);
    }
  };
  for (const auto& t : special_) add(t);
  for (const auto& t : non_special_) add(t);
}

}  // namespace gemma4::tok
