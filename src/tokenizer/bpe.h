// The BPE model of HF tokenizers: vocabulary, merge ranks, and word -> ids by repeatedly merging
// the adjacent pair of lowest rank. A priority queue over adjacent pairs keeps a word of n
// characters at O(n log n), which matters because Gemma's normalizer turns every space into "▁"
// before a split on spaces, so a whole document can reach the model as one word.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/json.h"

namespace gemma4::tok {

// Open-addressing map from token text to id. Keys live in one arena the owner keeps alive and
// never moves; slots hold 32-bit offsets so the table stays small enough for the cache.
class StringIdMap {
 public:
  explicit StringIdMap(const std::string* arena = nullptr) : arena_(arena) {}
  void SetArena(const std::string* arena) { arena_ = arena; }
  void Reserve(size_t n);
  // Inserts or overwrites (last duplicate wins, as when serde fills a HashMap). `key` must lie
  // inside the arena.
  void Put(std::string_view key, int32_t id);
  int32_t Find(std::string_view key) const { return FindHashed(key, Hash(key)); }  // -1 when absent
  // Split lookups so a bulk loader can prefetch many slots before touching any (the tables are
  // far larger than the cache, so each lookup is otherwise a cache miss).
  static uint32_t Hash(std::string_view key);
  void Prefetch(uint32_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }
  int32_t FindHashed(std::string_view key, uint32_t hash) const;
  size_t size() const { return size_; }

 private:
  struct Slot { uint32_t offset = 0; uint32_t length = 0; int32_t id = -1; uint32_t hash = 0; };
  std::string_view KeyOf(const Slot& s) const { return std::string_view(arena_->data() + s.offset, s.length); }
  void Grow();
  const std::string* arena_;
  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

// Open-addressing map from a pair of ids to (rank, merged id).
class PairMap {
 public:
  void Reserve(size_t n);
  void Put(int32_t a, int32_t b, int32_t rank, int32_t merged);
  // Returns false when the pair has no merge.
  bool Find(int32_t a, int32_t b, int32_t* rank, int32_t* merged) const {
    if (slots_.empty()) return false;
    uint64_t key = Key(a, b);
    size_t i = Hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) { *rank = s.rank; *merged = s.merged; return true; }
      if (s.key == kEmpty) return false;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  static uint64_t Key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }
  static size_t Hash(uint64_t k) { k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; return static_cast<size_t>(k); }
  void Grow();
  struct Slot { uint64_t key = kEmpty; int32_t rank = 0; int32_t merged = 0; };
  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

class Bpe {
 public:
  // Reads the "model" object of tokenizer.json (type BPE). Throws Error(kCorrupt) naming the JSON
  // path of a bad vocab entry or merge (including merges whose parts are not in the vocabulary).
  static std::unique_ptr<Bpe> FromJson(const JsonView& model);

  // Appends the ids of one pre-tokenized word. Thread-safe.
  void Tokenize(std::string_view word, std::vector<int32_t>& out) const;

  int32_t TokenToId(std::string_view token) const { return vocab_.Find(token); }
  // Empty view for an id outside the model vocabulary.
  std::string_view IdToToken(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() ? id_to_token_[static_cast<size_t>(id)] : std::string_view();
  }
  // One past the largest model id.
  size_t id_count() const { return id_to_token_.size(); }
  // Number of vocabulary entries (HF's BPE::get_vocab_size).
  size_t vocab_count() const { return vocab_.size(); }
  const std::string& unk_token() const { return unk_token_; }

 private:
  void MergeWord(std::string_view word, std::vector<int32_t>& out) const;

  std::string arena_;  // every token's text; reserved once so the views below never move
  std::vector<std::string_view> id_to_token_;
  StringIdMap vocab_;
  PairMap merges_;
  int32_t byte_ids_[256];  // id of "<0xXX>" or -1
  std::string unk_token_;
  bool has_unk_ = false;
  std::string prefix_;     // continuing_subword_prefix
  std::string suffix_;     // end_of_word_suffix
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;

  // Cache of short words -> ids, sharded to keep concurrent Encode calls apart.
  static constexpr size_t kShards = 16;
  static constexpr size_t kShardCapacity = 4096;
  static constexpr size_t kMaxCachedWord = 256;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>> map;
  };
  mutable std::unique_ptr<Shard[]> cache_;
};

}  // namespace gemma4::tok
