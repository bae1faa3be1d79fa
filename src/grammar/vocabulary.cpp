// Building the per-tokenizer tables: each token's decoded bytes (byte-fallback tokens <0xNN> give
// their one byte, '▁' a space, through the tokenizer's own decoder) and a trie over them.
#include "grammar/vocabulary.h"

#include <algorithm>
#include <numeric>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/decoders.h"

namespace gemma4 {

GrammarVocabulary::GrammarVocabulary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrammarVocabulary::~GrammarVocabulary() = default;
size_t GrammarVocabulary::vocab_size() const { return impl_->vocab_size; }
size_t GrammarVocabulary::trie_nodes() const { return impl_->nodes.size(); }

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::Build(const Tokenizer& tokenizer,
                                                                  std::span<const int32_t> eos_ids) {
  auto impl = std::make_unique<Impl>();
  const size_t vocab = tokenizer.vocab_size();
  impl->vocab_size = vocab;
  impl->is_eos.assign(vocab, 0);
  for (int32_t id : eos_ids) {
    if (id >= 0 && static_cast<size_t>(id) < vocab && !impl->is_eos[id]) {
      impl->is_eos[id] = 1;
      impl->eos_ids.push_back(id);
    }
  }
  impl->in_trie.assign(vocab, 0);
  impl->byte_offsets.reserve(vocab + 1);
  for (size_t i = 0; i < vocab; ++i) {
    const int32_t id = static_cast<int32_t>(i);
    impl->byte_offsets.push_back(static_cast<uint32_t>(impl->bytes.size()));
    const std::string_view text = tokenizer.IdToToken(id);
    if (text.empty()) continue;
    if (tokenizer.IsSpecial(id) || impl->is_eos[i]) {
      impl->special_by_text.emplace(std::string(text), id);
      continue;
    }
    std::string decoded = tokenizer.Decode(std::span<const int32_t>(&id, 1), /*skip_special_tokens=*/false);
    const int byte = tok::ParseByteToken(text);
    if (byte >= 0 && decoded != text) decoded = std::string(1, static_cast<char>(byte));  // byte fallback
    if (decoded.empty()) continue;
    impl->bytes += decoded;
    impl->in_trie[i] = 1;
  }
  impl->byte_offsets.push_back(static_cast<uint32_t>(impl->bytes.size()));

  // Sorted by bytes, tokens sharing a prefix are adjacent: one pass builds the trie in pre-order.
  std::vector<int32_t> order;
  for (size_t i = 0; i < vocab; ++i) if (impl->in_trie[i]) order.push_back(static_cast<int32_t>(i));
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const auto x = impl->TokenBytes(a), y = impl->TokenBytes(b);
    return x != y ? x < y : a < b;
  });
  std::vector<uint32_t> path;  // node index per depth along the current token
  std::string_view prev;
  auto close_to = [&](size_t depth) {
    while (path.size() > depth) {
      impl->nodes[path.back()].skip = static_cast<uint32_t>(impl->nodes.size());
      path.pop_back();
    }
  };
  for (int32_t id : order) {
    const std::string_view b = impl->TokenBytes(id);
    if (b.size() > 65535) continue;  // no real token is this long; depth is 16 bits
    size_t common = 0;
    while (common < std::min(prev.size(), b.size()) && prev[common] == b[common]) ++common;
    common = std::min(common, path.size());
    close_to(common);
    for (size_t d = common; d < b.size(); ++d) {
      path.push_back(static_cast<uint32_t>(impl->nodes.size()));
      impl->nodes.push_back({0, static_cast<uint32_t>(impl->node_tokens.size()), 0, static_cast<uint16_t>(d),
                             static_cast<uint8_t>(b[d])});
    }
    Impl::Node& end = impl->nodes[path.back()];
    if (end.token_count == 0) end.token_begin = static_cast<uint32_t>(impl->node_tokens.size());
    impl->node_tokens.push_back(id);
    ++end.token_count;
    impl->max_depth = std::max(impl->max_depth, b.size());
    prev = b;
  }
  close_to(0);
  return std::shared_ptr<const GrammarVocabulary>(new GrammarVocabulary(std::move(impl)));  // private constructor
}

}  // namespace gemma4
