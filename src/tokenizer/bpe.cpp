// BPE model: loading vocab/merges and merging words (HF tokenizers models/bpe semantics).
#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstring>

#include "gemma4/error.h"
#include "tokenizer/unicode.h"

namespace gemma4::tok {
namespace {

inline uint32_t HashBytes(std::string_view s) {
  // 64-bit multiply-mix over 8-byte words; tokens are short, so this is a handful of cycles.
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// Open-addressing tables keep at most 2/3 of their slots full, in a power of two of at least 16.
size_t TableCapacity(size_t entries) {
  size_t cap = 16;
  while (cap < entries + entries / 2) cap <<= 1;
  return cap;
}

}  // namespace

// ---- StringIdMap ----

void StringIdMap::Reserve(size_t n) {
  const size_t cap = TableCapacity(n);
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t i = s.hash & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
    ++size_;
  }
}

void StringIdMap::Grow() { Reserve(std::max<size_t>(16, slots_.size())); }

void StringIdMap::Put(std::string_view key, int32_t id) {
  if ((size_ + 1) * 3 > slots_.size() * 2) Grow();
  uint32_t h = HashBytes(key);
  size_t i = h & mask_;
  while (true) {
    Slot& s = slots_[i];
    if (s.id < 0) {
      s.offset = static_cast<uint32_t>(key.data() - arena_->data());
      s.length = static_cast<uint32_t>(key.size());
      s.id = id;
      s.hash = h;
      ++size_;
      return;
    }
    if (s.hash == h && KeyOf(s) == key) { s.id = id; return; }
    i = (i + 1) & mask_;
  }
}

uint32_t StringIdMap::Hash(std::string_view key) { return HashBytes(key); }

int32_t StringIdMap::FindHashed(std::string_view key, uint32_t h) const {
  if (slots_.empty()) return -1;
  size_t i = h & mask_;
  while (true) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (s.hash == h && s.length == key.size() && KeyOf(s) == key) return s.id;
    i = (i + 1) & mask_;
  }
}

// ---- PairMap ----

void PairMap::Reserve(size_t n) {
  const size_t cap = TableCapacity(n);
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty) Put(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.rank, s.merged);
}

void PairMap::Grow() { Reserve(std::max<size_t>(16, slots_.size())); }

void PairMap::Put(int32_t a, int32_t b, int32_t rank, int32_t merged) {
  if ((size_ + 1) * 3 > slots_.size() * 2) Grow();
  uint64_t key = Key(a, b);
  size_t i = Hash(key) & mask_;
  while (true) {
    Slot& s = slots_[i];
    if (s.key == kEmpty) { s.key = key; s.rank = rank; s.merged = merged; ++size_; return; }
    if (s.key == key) { s.rank = rank; s.merged = merged; return; }
    i = (i + 1) & mask_;
  }
}

// ---- Bpe ----

std::unique_ptr<Bpe> Bpe::FromJson(const JsonView& model) {
  auto bpe = std::make_unique<Bpe>();
  if (model.Has("dropout")) {
    double dropout = model.Get("dropout").AsNumber();
    if (dropout != 0.0)
      throw Error(ErrorKind::kUnsupported, model.Get("dropout").Describe("BPE dropout is not supported (it makes encoding random)"));
  }
  bpe->prefix_ = std::string(model.GetString("continuing_subword_prefix", ""));
  bpe->suffix_ = std::string(model.GetString("end_of_word_suffix", ""));
  bool has_prefix = model.Has("continuing_subword_prefix");
  bool has_suffix = model.Has("end_of_word_suffix");
  if (!has_prefix) bpe->prefix_.clear();
  if (!has_suffix) bpe->suffix_.clear();
  bpe->byte_fallback_ = model.GetBool("byte_fallback", false);
  bpe->fuse_unk_ = model.GetBool("fuse_unk", false);
  bpe->ignore_merges_ = model.GetBool("ignore_merges", false);
  if (model.Has("unk_token")) {
    bpe->unk_token_ = std::string(model.Get("unk_token").AsString());
    bpe->has_unk_ = true;
  }

  // Vocabulary: one pass to size the arena, one to fill it (views into it must never move).
  JsonView vocab = model.Get("vocab");
  if (!vocab.is_object()) vocab.Fail(std::string("expected an object mapping tokens to ids, found ") + JsonTypeName(vocab.type()));
  const JsonDoc& doc = vocab.doc();
  const JsonNode& vn = vocab.node();
  size_t total = 0;
  int64_t max_id = -1;
  for (uint32_t i = 0; i < vn.count; ++i) {
    const JsonNode& e = doc.node(vn.first + i);
    total += e.key().size();
    if (e.type != JsonType::kNumber || e.number < 0 || e.number > 2147483647.0 || e.number != static_cast<double>(static_cast<int64_t>(e.number))) {
      JsonView(&doc, &e, vocab.path() + "/" + std::string(e.key())).Fail("expected a non-negative integer id");
    }
    max_id = std::max<int64_t>(max_id, static_cast<int64_t>(e.number));
  }
  if (max_id >= static_cast<int64_t>(vn.count) * 4 + 1024) {
    vocab.Fail("ids are too sparse (largest id " + std::to_string(max_id) + " for " + std::to_string(vn.count) + " tokens)");
  }
  bpe->arena_.reserve(total);
  bpe->vocab_.SetArena(&bpe->arena_);
  bpe->id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string_view());
  bpe->vocab_.Reserve(vn.count);
  for (uint32_t i = 0; i < vn.count; ++i) {
    const JsonNode& e = doc.node(vn.first + i);
    size_t at = bpe->arena_.size();
    bpe->arena_.append(e.key());
    std::string_view key(bpe->arena_.data() + at, e.key().size());
    auto id = static_cast<int32_t>(e.number);
    bpe->vocab_.Put(key, id);
    bpe->id_to_token_[static_cast<size_t>(id)] = key;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    bpe->byte_ids_[b] = bpe->vocab_.Find(name);
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs; rank is the position.
  JsonView merges = model.Get("merges");
  if (!merges.is_array()) merges.Fail(std::string("expected an array of merges, found ") + JsonTypeName(merges.type()));
  const JsonNode& mn = merges.node();
  bpe->merges_.Reserve(mn.count);
  const size_t prefix_len = bpe->prefix_.size();
  // Merges are resolved in batches: hash and prefetch every lookup of a batch first, then look up.
  constexpr uint32_t kBatch = 32;
  struct Pending { std::string_view a, b; uint32_t ha, hb, hj; std::string joined; };
  std::vector<Pending> batch(kBatch);
  for (uint32_t base = 0; base < mn.count; base += kBatch) {
    const uint32_t n = std::min(kBatch, mn.count - base);
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t i = base + k;
      const JsonNode& m = doc.node(mn.first + i);
      auto bad = [&](const std::string& what) { JsonView(&doc, &m, merges.path() + "/" + std::to_string(i)).Fail(what); };
      Pending& p = batch[k];
      if (m.type == JsonType::kString) {
        size_t sp = m.str().find(' ');
        if (sp == std::string_view::npos || m.str().find(' ', sp + 1) != std::string_view::npos)
          bad("a merge must be two tokens separated by one space");
        p.a = m.str().substr(0, sp);
        p.b = m.str().substr(sp + 1);
      } else if (m.type == JsonType::kArray && m.count == 2 && doc.node(m.first).type == JsonType::kString &&
                 doc.node(m.first + 1).type == JsonType::kString) {
        p.a = doc.node(m.first).str();
        p.b = doc.node(m.first + 1).str();
      } else {
        bad("expected a merge: \"a b\" or [\"a\", \"b\"]");
      }
      if (p.b.size() < prefix_len) bad("merge token \"" + std::string(p.b) + "\" is shorter than continuing_subword_prefix");
      p.joined.assign(p.a);
      p.joined.append(p.b.substr(prefix_len));
      p.ha = StringIdMap::Hash(p.a);
      p.hb = StringIdMap::Hash(p.b);
      p.hj = StringIdMap::Hash(p.joined);
      bpe->vocab_.Prefetch(p.ha);
      bpe->vocab_.Prefetch(p.hb);
      bpe->vocab_.Prefetch(p.hj);
    }
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t i = base + k;
      const Pending& p = batch[k];
      auto bad = [&](const std::string& what) {
        JsonView(&doc, &doc.node(mn.first + i), merges.path() + "/" + std::to_string(i)).Fail(what);
      };
      int32_t ia = bpe->vocab_.FindHashed(p.a, p.ha), ib = bpe->vocab_.FindHashed(p.b, p.hb);
      if (ia < 0) bad("merge token \"" + std::string(p.a) + "\" is not in the vocabulary");
      if (ib < 0) bad("merge token \"" + std::string(p.b) + "\" is not in the vocabulary");
      int32_t merged = bpe->vocab_.FindHashed(p.joined, p.hj);
      if (merged < 0) bad("merged token \"" + p.joined + "\" is not in the vocabulary");
      bpe->merges_.Put(ia, ib, static_cast<int32_t>(i), merged);
    }
  }
  bpe->cache_.reset(new Shard[kShards]);
  return bpe;
}

void Bpe::Tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    int32_t id = vocab_.Find(word);
    if (id >= 0) { out.push_back(id); return; }
  }
  if (word.size() >= kMaxCachedWord) {
    MergeWord(word, out);
    return;
  }
  Shard& shard = cache_[HashBytes(word) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(std::string(word));
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t before = out.size();
  MergeWord(word, out);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() < kShardCapacity)
    shard.map.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(before), out.end()));
}

namespace {
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed;
};
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t merged;
  // std::priority_queue pops the largest: make the lowest rank, then the lowest position, largest.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};
}  // namespace

void Bpe::MergeWord(std::string_view word, std::vector<int32_t>& out) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap_storage;
  thread_local std::string piece;
  symbols.clear();
  auto add = [&](int32_t id) {
    int32_t n = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, n - 1, n + 1, false});
  };

  // Initial symbols: one per character (HF BPE::merge_word), with byte fallback / unk handling.
  bool have_unk = false;
  int32_t unk_id = -1;
  auto resolve_unk = [&]() -> int32_t {
    int32_t id = vocab_.Find(unk_token_);
    if (id < 0) throw Error(ErrorKind::kCorrupt, "tokenizer.json: /model/unk_token: \"" + unk_token_ + "\" is not in the vocabulary");
    return id;
  };
  size_t i = 0;
  while (i < word.size()) {
    size_t len = Utf8SeqLen(static_cast<unsigned char>(word[i]));
    if (i + len > word.size()) len = word.size() - i;
    bool first = i == 0, last = i + len == word.size();
    std::string_view s = word.substr(i, len);
    if ((!first && !prefix_.empty()) || (last && !suffix_.empty())) {
      piece.clear();
      if (!first) piece += prefix_;
      piece.append(s);
      if (last) piece += suffix_;
      s = piece;
    }
    i += len;
    int32_t id = vocab_.Find(s);
    if (id >= 0) {
      if (have_unk) { add(unk_id); have_unk = false; }
      add(id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : s) if (byte_ids_[static_cast<unsigned char>(c)] < 0) { all = false; break; }
      if (all) {
        // As in HF, a pending unk is not flushed here: it lands after these byte tokens.
        for (char c : s) add(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (has_unk_) {
      if (have_unk && fuse_unk_) continue;  // extends the pending unk
      if (have_unk) add(unk_id);
      unk_id = resolve_unk();
      have_unk = true;
    }
  }
  if (have_unk) add(unk_id);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  int32_t rank, merged;
  std::vector<Candidate>& heap = heap_storage;
  heap.clear();
  for (size_t k = 0; k + 1 < symbols.size(); ++k) {
    if (merges_.Find(symbols[k].id, symbols[k + 1].id, &rank, &merged))
      heap.push_back(Candidate{rank, static_cast<int32_t>(k), merged});
  }
  std::make_heap(heap.begin(), heap.end());
  auto push = [&](Candidate c) { heap.push_back(c); std::push_heap(heap.begin(), heap.end()); };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate top = heap.back();
    heap.pop_back();
    Symbol& cur = symbols[static_cast<size_t>(top.pos)];
    if (cur.removed || cur.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(cur.next)];
    // Skip entries made stale by an earlier merge.
    if (!merges_.Find(cur.id, right.id, &rank, &merged) || merged != top.merged) continue;
    cur.id = top.merged;
    right.removed = true;
    cur.next = right.next;
    if (cur.next >= 0) symbols[static_cast<size_t>(cur.next)].prev = top.pos;
    if (cur.prev >= 0 && merges_.Find(symbols[static_cast<size_t>(cur.prev)].id, cur.id, &rank, &merged))
      push(Candidate{rank, cur.prev, merged});
    if (cur.next >= 0 && merges_.Find(cur.id, symbols[static_cast<size_t>(cur.next)].id, &rank, &merged))
      push(Candidate{rank, top.pos, merged});
  }
  for (int32_t k = 0; k >= 0; k = symbols[static_cast<size_t>(k)].next) out.push_back(symbols[static_cast<size_t>(k)].id);
}

}  // namespace gemma4::tok
