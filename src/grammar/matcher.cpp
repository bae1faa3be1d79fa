// The pushdown matcher: expansion with an explicit work list, interned states, cached byte
// transitions, and the trie walk that turns a state into a token mask.
#include "grammar/matcher.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gemma4/error.h"
#include "grammar/grammar_access.h"
#include "grammar/vocabulary.h"

namespace gemma4::grammar {

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocabulary> vocabulary)
    : grammar_(std::move(grammar)), vocabulary_(std::move(vocabulary)), g_(GrammarAccess::Of(*grammar_).compiled) {
  const auto& v = GrammarAccess::Of(*vocabulary_);
  for (const TokenRef& ref : g_.tokens) {
    auto where = [&] { return g_.source + ":" + std::to_string(ref.pos.line) + ":" + std::to_string(ref.pos.column) + ": "; };
    if (ref.id >= 0) {
      if (static_cast<size_t>(ref.id) >= v.vocab_size) {
        throw Error(ErrorKind::kInvalidArgument, where() + "token id " + std::to_string(ref.id) +
                                                     " is outside the vocabulary of " + std::to_string(v.vocab_size));
      }
      token_ids_.push_back(ref.id);
      continue;
    }
    auto it = v.special_by_text.find(ref.text);
    if (it == v.special_by_text.end()) {
      throw Error(ErrorKind::kInvalidArgument, where() + "no special token " + ref.text + " in this tokenizer");
    }
    token_ids_.push_back(it->second);
  }
  depth_state_.resize(v.max_depth + 1);
  ResetCache();
}

void Matcher::ResetCache() {
  std::vector<Stack> keep;
  if (!states_.empty()) keep = states_[static_cast<size_t>(current_)].stacks;
  states_.clear();
  ids_.clear();
  transitions_.clear();
  masks_.clear();  // keyed by state ids, which are about to be reassigned
  if (keep.empty()) {  // first call: the parses of `root` before any input
    std::vector<Stack> start;
    for (uint32_t alt : g_.rules[g_.root]) {
      Stack s;
      if (g_.elements[alt].kind != ElementKind::kEnd) s.push_back(alt);
      Expand(std::move(s), start);
    }
    keep = std::move(start);
  }
  current_ = Intern(std::move(keep));
  if (current_ == kDead) throw Error(ErrorKind::kInvalidArgument, g_.source + ": the grammar matches nothing");
}

void Matcher::Expand(Stack stack, std::vector<Stack>& out) const {
  std::vector<Stack> work;
  work.push_back(std::move(stack));
  while (!work.empty()) {
    Stack s = std::move(work.back());
    work.pop_back();
    if (s.size() > kMaxStackDepth) continue;  // too deep a parse: dropped
    if (s.empty() || g_.elements[s.back()].kind != ElementKind::kRule) {
      out.push_back(std::move(s));
      if (out.size() > kMaxStacks * 4) {
        throw Error(ErrorKind::kLimit, g_.source + ": the grammar is too ambiguous: more than " +
                                           std::to_string(kMaxStacks) + " parses are alive at once");
      }
      continue;
    }
    const uint32_t pos = s.back();
    const uint32_t rule = g_.elements[pos].value;
    s.pop_back();
    if (g_.elements[pos + 1].kind != ElementKind::kEnd) s.push_back(pos + 1);
    const auto& alts = g_.rules[rule];
    for (size_t k = 0; k < alts.size(); ++k) {
      Stack t = k + 1 == alts.size() ? std::move(s) : s;
      if (g_.elements[alts[k]].kind != ElementKind::kEnd) t.push_back(alts[k]);
      work.push_back(std::move(t));
    }
  }
}

int32_t Matcher::Intern(std::vector<Stack> stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.empty()) return kDead;
  if (stacks.size() > kMaxStacks) {
    throw Error(ErrorKind::kLimit, g_.source + ": the grammar is too ambiguous: more than " +
                                       std::to_string(kMaxStacks) + " parses are alive at once");
  }
  std::string key;
  for (const Stack& s : stacks) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(uint32_t));
  }
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  if (states_.size() >= kMaxStates * 2) {
    throw Error(ErrorKind::kLimit, g_.source + ": the grammar needs more than " + std::to_string(kMaxStates * 2) +
                                       " matcher states for one step");
  }
  State st;
  for (const Stack& s : stacks) {
    if (s.empty()) {
      st.accepting = true;
      continue;
    }
    st.continues = true;
    const Element& top = g_.elements[s.back()];
    if (top.kind == ElementKind::kToken) st.tokens.push_back(token_ids_[top.value]);
  }
  std::sort(st.tokens.begin(), st.tokens.end());
  st.tokens.erase(std::unique(st.tokens.begin(), st.tokens.end()), st.tokens.end());
  st.stacks = std::move(stacks);
  const int32_t id = static_cast<int32_t>(states_.size());
  states_.push_back(std::move(st));
  transitions_.resize(states_.size() * 256, kUnknown);
  ids_.emplace(std::move(key), id);
  return id;
}

int32_t Matcher::Step(int32_t state, uint8_t byte) {
  int32_t& cached = transitions_[static_cast<size_t>(state) * 256 + byte];
  if (cached != kUnknown) return cached;
  std::vector<Stack> next;
  for (const Stack& s : states_[static_cast<size_t>(state)].stacks) {
    if (s.empty()) continue;
    const uint32_t pos = s.back();
    const Element& top = g_.elements[pos];
    if (top.kind != ElementKind::kBytes || !g_.byte_sets[top.value].test(byte)) continue;
    Stack t(s.begin(), s.end() - 1);
    if (g_.elements[pos + 1].kind != ElementKind::kEnd) t.push_back(pos + 1);
    Expand(std::move(t), next);
  }
  const int32_t to = Intern(std::move(next));  // may grow transitions_: `cached` is stale now
  transitions_[static_cast<size_t>(state) * 256 + byte] = to;
  return to;
}

std::vector<Matcher::Stack> Matcher::StepToken(const State& state, int32_t token) const {
  std::vector<Stack> next;
  for (const Stack& s : state.stacks) {
    if (s.empty()) continue;
    const uint32_t pos = s.back();
    const Element& top = g_.elements[pos];
    if (top.kind != ElementKind::kToken || token_ids_[top.value] != token) continue;
    Stack t(s.begin(), s.end() - 1);
    if (g_.elements[pos + 1].kind != ElementKind::kEnd) t.push_back(pos + 1);
    Expand(std::move(t), next);
  }
  return next;
}

void Matcher::FillMask(std::vector<uint64_t>& allowed) {
  if (states_.size() > kMaxStates) ResetCache();
  for (size_t k = 0; k < masks_.size(); ++k) {
    if (masks_[k].first != current_) continue;
    std::rotate(masks_.begin() + static_cast<std::ptrdiff_t>(k), masks_.begin() + static_cast<std::ptrdiff_t>(k) + 1,
                masks_.end());
    allowed = masks_.back().second;
    return;
  }
  ComputeMask(allowed);
  if (states_.size() > kMaxStates) return;  // the next call resets the cache anyway
  if (masks_.size() >= kCachedMasks) masks_.erase(masks_.begin());
  masks_.emplace_back(current_, allowed);
}

void Matcher::ComputeMask(std::vector<uint64_t>& allowed) {
  const auto& v = GrammarAccess::Of(*vocabulary_);
  allowed.assign((v.vocab_size + 63) / 64, 0);
  auto allow = [&](int32_t id) { allowed[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); };
  const State& here = states_[static_cast<size_t>(current_)];
  if (here.accepting) {
    for (int32_t id : v.eos_ids) allow(id);
  }
  if (!here.continues) return;  // complete, nothing can follow: EOS alone
  for (int32_t id : here.tokens) allow(id);
  const auto* nodes = v.nodes.data();
  const size_t n = v.nodes.size();
  depth_state_[0] = current_;
  for (size_t i = 0; i < n;) {
    const auto& node = nodes[i];
    const int32_t from = depth_state_[node.depth];
    int32_t to = transitions_[static_cast<size_t>(from) * 256 + node.byte];
    if (to == kUnknown) to = Step(from, node.byte);
    if (to == kDead) {
      i = node.skip;
      continue;
    }
    depth_state_[node.depth + 1] = to;
    for (uint32_t k = 0; k < node.token_count; ++k) allow(v.node_tokens[node.token_begin + k]);
    ++i;
  }
}

void Matcher::ApplyMask(std::span<float> logits) {
  std::vector<uint64_t> allowed;
  FillMask(allowed);
  const size_t vocab = GrammarAccess::Of(*vocabulary_).vocab_size;
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (i >= vocab || !((allowed[i >> 6] >> (i & 63)) & 1)) logits[i] = kMasked;
  }
}

void Matcher::Accept(int32_t token) {
  const auto& v = GrammarAccess::Of(*vocabulary_);
  if (token < 0 || static_cast<size_t>(token) >= v.vocab_size) {
    throw Error(ErrorKind::kInvalidArgument, "grammar: token " + std::to_string(token) + " is outside the vocabulary");
  }
  const State here = states_[static_cast<size_t>(current_)];
  if (v.is_eos[static_cast<size_t>(token)] && here.accepting) {
    current_ = Intern({Stack{}});  // complete: only EOS may follow
    return;
  }
  std::vector<Stack> next = StepToken(here, token);
  if (v.in_trie[static_cast<size_t>(token)]) {
    int32_t s = current_;
    for (char c : v.TokenBytes(token)) {
      s = Step(s, static_cast<uint8_t>(c));
      if (s == kDead) break;
    }
    if (s != kDead) {
      const auto& stacks = states_[static_cast<size_t>(s)].stacks;
      next.insert(next.end(), stacks.begin(), stacks.end());
    }
  }
  if (next.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "grammar: token " + std::to_string(token) + " is not allowed here");
  }
  current_ = Intern(std::move(next));
}

bool Matcher::IsComplete() const { return states_[static_cast<size_t>(current_)].accepting; }
bool Matcher::CanContinue() const { return states_[static_cast<size_t>(current_)].continues; }

}  // namespace gemma4::grammar
