// Tokenizer: loads tokenizer.json and runs HF's pipeline (added tokens -> normalizer -> normalized
// added tokens -> pre-tokenizer -> BPE -> post-processor; ids -> decoder chain).
#include "gemma4/tokenizer.h"
#include "core/read_file.h"

#include <fstream>
#include <sstream>

#include "gemma4/error.h"
#include "gemma4/log.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoders.h"
#include "tokenizer/json.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode.h"

namespace gemma4 {

using namespace tok;

namespace {

// A post-processor reduced to what it does to the ids of a single sequence.
struct PostStep {
  std::vector<std::vector<int32_t>> items;  // special ids; an empty entry marks "the sequence"
};

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Bpe> model;
  std::unique_ptr<Decoder> decoder;
  std::vector<PostStep> post;
  AddedVocabulary added;
  std::vector<std::string_view> id_to_token;  // model vocab, overridden by added tokens
  std::vector<uint8_t> special;               // per id
  std::vector<std::string> added_storage;     // owns added-token text that id_to_token views
  std::optional<int32_t> bos, eos, pad, unk;

  void LoadPostProcessor(const JsonView& json);
  void LoadConfig(const JsonDoc& config);
  std::vector<int32_t> EncodeIds(std::string_view text, bool add_special_tokens) const;
  std::string DecodeIds(std::span<const int32_t> ids, bool skip_special) const;
  int32_t Lookup(std::string_view token) const {
    int32_t id = added.Find(token);
    return id >= 0 ? id : model->TokenToId(token);
  }
};

void Tokenizer::Impl::LoadPostProcessor(const JsonView& json) {
  if (json.is_null()) return;
  std::string_view type = json.Get("type").AsString();
  if (type == "Sequence") {
    for (const JsonView& p : json.Get("processors").Elements()) LoadPostProcessor(p);
    return;
  }
  if (type == "ByteLevel") return;  // only adjusts offsets, never ids
  if (type == "TemplateProcessing") {
    PostStep step;
    JsonView specials = json.Get("special_tokens");
    for (const JsonView& piece : json.Get("single").Elements()) {
      if (auto s = piece.Find("SpecialToken")) {
        std::string_view name = s->Get("id").AsString();
        auto entry = specials.Find(name);
        if (!entry) s->Get("id").Fail("special token \"" + std::string(name) + "\" is missing from special_tokens");
        std::vector<int32_t> ids;
        for (const JsonView& id : entry->Get("ids").Elements()) {
          int64_t v = id.AsInt();
          if (v < 0 || v > INT32_MAX) id.Fail("id out of range");
          ids.push_back(static_cast<int32_t>(v));
        }
        if (ids.empty()) continue;
        step.items.push_back(std::move(ids));
      } else if (auto q = piece.Find("Sequence")) {
        step.items.emplace_back();  // the sequence itself
      } else {
        piece.Fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      }
    }
    post.push_back(std::move(step));
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto id_of = [](const JsonView& pair) {
      int64_t v = pair[1].AsInt();
      if (v < 0 || v > INT32_MAX) pair[1].Fail("id out of range");
      return static_cast<int32_t>(v);
    };
    PostStep step;
    step.items.push_back({id_of(json.Get("cls"))});
    step.items.emplace_back();
    step.items.push_back({id_of(json.Get("sep"))});
    post.push_back(std::move(step));
    return;
  }
  throw Error(ErrorKind::kUnsupported, json.Get("type").Describe("post-processor type \"" + std::string(type) + "\" is not supported"));
}

void Tokenizer::Impl::LoadConfig(const JsonDoc& config) {
  JsonView root = config.root();
  if (!root.is_object()) root.Fail("expected an object");
  auto read = [&](std::string_view key) -> std::optional<int32_t> {
    auto v = root.Find(key);
    if (!v || v->is_null()) return std::nullopt;
    std::string_view content = v->is_object() ? v->Get("content").AsString() : v->AsString();
    int32_t id = Lookup(content);
    if (id < 0) {
      Log(LogLevel::kWarn, config.source() + ": " + std::string(key) + " \"" + std::string(content) + "\" is not in the vocabulary");
      return std::nullopt;
    }
    return id;
  };
  if (auto v = read("bos_token")) bos = v;
  if (auto v = read("eos_token")) eos = v;
  if (auto v = read("pad_token")) pad = v;
  if (auto v = read("unk_token")) unk = v;
}

std::vector<int32_t> Tokenizer::Impl::EncodeIds(std::string_view text, bool add_special_tokens) const {
  if (auto bad = FirstInvalidUtf8(text)) {
    throw Error(ErrorKind::kInvalidArgument, "input is not valid UTF-8 at byte offset " + std::to_string(*bad));
  }
  std::vector<Piece> pieces;
  std::vector<AddedMatch> raw, norm;
  if (added.HasRawTokens()) added.Split(text, false, raw);
  else if (!text.empty()) raw.push_back({-1, 0, text.size()});
  for (const AddedMatch& m : raw) {
    if (m.end == m.start) continue;
    if (m.id >= 0) {
      Piece p;
      p.added_id = m.id;
      pieces.push_back(std::move(p));
      continue;
    }
    std::string s(text.substr(m.start, m.end - m.start));
    if (normalizer) normalizer->Apply(s);
    bool origin = m.start == 0;
    if (!added.HasNormalizedTokens()) {
      if (!s.empty()) pieces.push_back(Piece{std::move(s), -1, origin});
      continue;
    }
    norm.clear();
    added.Split(s, true, norm);
    for (const AddedMatch& n : norm) {
      if (n.end == n.start) continue;
      if (n.id >= 0) pieces.push_back(Piece{std::string(), n.id, false});
      else pieces.push_back(Piece{s.substr(n.start, n.end - n.start), -1, origin && n.start == 0});
    }
  }
  if (pre_tokenizer) pre_tokenizer->Apply(pieces);

  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  for (const Piece& p : pieces) {
    if (p.added_id >= 0) ids.push_back(p.added_id);
    else model->Tokenize(p.text, ids);
  }
  if (add_special_tokens) {
    for (const PostStep& step : post) {
      std::vector<int32_t> out;
      out.reserve(ids.size() + 4);
      for (const auto& item : step.items) {
        if (item.empty()) out.insert(out.end(), ids.begin(), ids.end());
        else out.insert(out.end(), item.begin(), item.end());
      }
      ids = std::move(out);
    }
  }
  return ids;
}

std::string Tokenizer::Impl::DecodeIds(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= id_to_token.size()) {
      throw Error(ErrorKind::kInvalidArgument, "token id " + std::to_string(id) + " at position " + std::to_string(i) +
                                                   " is out of range [0, " + std::to_string(id_to_token.size()) + ")");
    }
    if (skip_special && special[static_cast<size_t>(id)]) continue;
    std::string_view t = id_to_token[static_cast<size_t>(id)];
    if (t.data() == nullptr) continue;  // an id with no token (a hole in the vocabulary), as HF skips it
    tokens.emplace_back(t);
  }
  if (!decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  decoder->DecodeChain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

// ---- Tokenizer ----

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

// The loader below names the private Impl through this friend of Tokenizer.
struct TokenizerAccess {
  using Impl = Tokenizer::Impl;
};

namespace {

std::shared_ptr<TokenizerAccess::Impl> Build(const JsonDoc& doc) {
  auto impl = std::make_shared<TokenizerAccess::Impl>();
  JsonView root = doc.root();
  if (!root.is_object()) root.Fail(std::string("expected an object, found ") + JsonTypeName(root.type()));
  if (auto v = root.Find("version"); v && !v->is_null() && v->AsString() != "1.0") {
    v->Fail("unknown tokenizer.json version \"" + std::string(v->AsString()) + "\"");
  }
  JsonView model = root.Get("model");
  if (!model.is_object()) model.Fail("expected an object");
  std::string_view type = model.Has("type") ? model.Get("type").AsString() : std::string_view("BPE");
  if (type != "BPE") {
    throw Error(ErrorKind::kUnsupported, (model.Has("type") ? model.Get("type") : model)
                                             .Describe("model type \"" + std::string(type) + "\" is not supported (only BPE)"));
  }
  impl->model = Bpe::FromJson(model);
  if (auto n = root.Find("normalizer")) impl->normalizer = MakeNormalizer(*n);
  if (auto p = root.Find("pre_tokenizer")) impl->pre_tokenizer = MakePreTokenizer(*p);
  if (auto p = root.Find("post_processor")) impl->LoadPostProcessor(*p);
  if (auto d = root.Find("decoder")) impl->decoder = MakeDecoder(*d);
  for (const char* unsupported : {"truncation", "padding"}) {
    if (root.Has(unsupported)) Log(LogLevel::kDebug, doc.source() + ": ignoring \"" + unsupported + "\" (encode returns whole sequences)");
  }

  // Added tokens, in file order, with HF's id assignment.
  const Bpe& bpe = *impl->model;
  const size_t model_count = bpe.vocab_count();
  if (auto list = root.Find("added_tokens"); list && !list->is_null()) {
    for (const JsonView& t : list->Elements()) {
      AddedToken a;
      a.content = std::string(t.Get("content").AsString());
      a.single_word = t.GetBool("single_word", false);
      a.lstrip = t.GetBool("lstrip", false);
      a.rstrip = t.GetBool("rstrip", false);
      a.special = t.GetBool("special", false);
      a.normalized = t.GetBool("normalized", !a.special);
      int32_t id = impl->added.Add(a, model_count, [&](const std::string& c) { return bpe.TokenToId(c); });
      if (t.Has("id") && id >= 0 && t.Get("id").AsInt() != id) {
        Log(LogLevel::kDebug, t.Describe("token \"" + a.content + "\" gets id " + std::to_string(id) + ", not the id in the file"));
      }
    }
  }
  impl->added.Finish([&](const std::string& content) {
    std::string s = content;
    if (impl->normalizer) impl->normalizer->Apply(s);
    return s;
  });

  // id -> token over model and added ids.
  size_t size = bpe.id_count();
  for (const auto& [id, tok] : impl->added.by_id()) size = std::max(size, static_cast<size_t>(id) + 1);
  impl->id_to_token.assign(size, std::string_view());
  for (size_t id = 0; id < bpe.id_count(); ++id) impl->id_to_token[id] = bpe.IdToToken(static_cast<int32_t>(id));
  impl->added_storage.reserve(impl->added.by_id().size());
  for (const auto& [id, tok] : impl->added.by_id()) {
    impl->added_storage.push_back(tok.content);
    impl->id_to_token[static_cast<size_t>(id)] = impl->added_storage.back();
  }
  impl->special.assign(size, 0);
  for (size_t id = 0; id < size; ++id) {
    std::string_view t = impl->id_to_token[id];
    if (t.data() && impl->added.IsSpecialContent(t)) impl->special[id] = 1;
  }
  if (!bpe.unk_token().empty()) {
    int32_t u = impl->Lookup(bpe.unk_token());
    if (u >= 0) impl->unk = u;
  }
  return impl;
}

}  // namespace

Tokenizer Tokenizer::FromJson(std::string_view json, std::string_view source) {
  JsonDoc doc = JsonDoc::Parse(std::string(json), std::string(source));
  return Tokenizer(Build(doc));
}

Tokenizer Tokenizer::FromFile(const std::filesystem::path& tokenizer_json, const std::filesystem::path& tokenizer_config_json) {
  JsonDoc doc = JsonDoc::Parse(ReadTextFile(tokenizer_json), tokenizer_json.string());
  std::shared_ptr<Impl> impl = Build(doc);
  if (!tokenizer_config_json.empty()) {
    JsonDoc config = JsonDoc::Parse(ReadTextFile(tokenizer_config_json), tokenizer_config_json.string());
    impl->LoadConfig(config);
  }
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::FromDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw Error(ErrorKind::kNotFound, dir.string() + ": no such directory");
  std::filesystem::path json = dir / "tokenizer.json";
  if (!std::filesystem::exists(json, ec)) throw Error(ErrorKind::kNotFound, dir.string() + ": no tokenizer.json in this directory");
  std::filesystem::path config = dir / "tokenizer_config.json";
  return FromFile(json, std::filesystem::exists(config, ec) ? config : std::filesystem::path());
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  return impl_->EncodeIds(text, add_special_tokens);
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return impl_->DecodeIds(ids, skip_special_tokens);
}

size_t Tokenizer::vocab_size() const { return impl_->id_to_token.size(); }

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  int32_t id = impl_->Lookup(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string_view Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size()) return {};
  return impl_->id_to_token[static_cast<size_t>(id)];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[static_cast<size_t>(id)];
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }
std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad; }
std::optional<int32_t> Tokenizer::unk_id() const { return impl_->unk; }

}  // namespace gemma4
