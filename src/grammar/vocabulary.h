// GrammarVocabulary's insides: token bytes and the byte trie the mask walks, laid out in
// depth-first order so that one linear pass with subtree skips visits it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gemma4/grammar.h"

namespace gemma4 {

struct GrammarVocabulary::Impl {
  struct Node {
    uint32_t skip;         // index of the next node outside this node's subtree
    uint32_t token_begin;  // into node_tokens
    uint32_t token_count;  // tokens whose bytes end exactly here
    uint16_t depth;        // the parent's depth (0: a child of the root)
    uint8_t byte;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> node_tokens;
  size_t max_depth = 0;  // longest token, in bytes
  size_t vocab_size = 0;
  // Bytes of each token (empty for special tokens and tokens that decode to nothing).
  std::vector<uint32_t> byte_offsets;  // vocab_size + 1
  std::string bytes;
  std::vector<uint8_t> in_trie;        // per id: reachable through the trie
  std::vector<int32_t> eos_ids;
  std::vector<uint8_t> is_eos;
  std::unordered_map<std::string, int32_t> special_by_text;  // special tokens, by their vocabulary text

  std::string_view TokenBytes(int32_t id) const {
    return std::string_view(bytes).substr(byte_offsets[id], byte_offsets[id + 1] - byte_offsets[id]);
  }
};

}  // namespace gemma4
