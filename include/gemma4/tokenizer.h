// Text <-> token ids from a Hugging Face tokenizer.json, matching the Rust `tokenizers` library
// (the one Python transformers uses) id for id and byte for byte, plus a streaming detokenizer.
//
// Supported pipeline components (anything else fails at load with kUnsupported, naming the field):
//   normalizers      Replace, Prepend, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Sequence
//   pre-tokenizers   Split, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Digits, Punctuation,
//                    BertPreTokenizer, CharDelimiterSplit, Sequence
//   model            BPE (merge ranks, byte_fallback, fuse_unk, ignore_merges, continuing_subword_prefix,
//                    end_of_word_suffix)
//   post-processors  TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence
//   decoders         Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace, Sequence
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

class Tokenizer {
 public:
  // Loads tokenizer.json. tokenizer_config.json is optional (it may only add information that
  // tokenizer.json lacks; it never changes ids). Throws Error: kNotFound for a missing file,
  // kCorrupt for malformed JSON or a missing/ill-typed field (message names file, line:column or
  // the JSON path), kUnsupported for a component type this implementation does not have.
  static Tokenizer FromFile(const std::filesystem::path& tokenizer_json,
                            const std::filesystem::path& tokenizer_config_json = {});
  // dir/tokenizer.json (+ dir/tokenizer_config.json when present).
  static Tokenizer FromDirectory(const std::filesystem::path& dir);
  // Builds from the text of a tokenizer.json; `source` names it in error messages.
  static Tokenizer FromJson(std::string_view json, std::string_view source = "tokenizer.json");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // UTF-8 text -> ids. add_special_tokens applies the post-processor (e.g. Gemma's leading <bos>);
  // added tokens written in the text (such as "<start_of_turn>") are always recognised, as in HF.
  // Throws Error(kInvalidArgument) naming the byte offset when `text` is not valid UTF-8.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = true) const;

  // ids -> text through the decoder chain. skip_special_tokens drops added tokens marked special.
  // Throws Error(kInvalidArgument) naming the position of an id outside [0, vocab_size()).
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // One past the largest id (model vocabulary plus added tokens).
  size_t vocab_size() const;
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token's vocabulary string ("▁Hello", "<0x0A>"); empty for an id with no token.
  std::string_view IdToToken(int32_t id) const;
  // True for added tokens marked "special" in tokenizer.json (<bos>, <eos>, <start_of_turn> ...).
  bool IsSpecial(int32_t id) const;
  // The BOS/EOS/PAD/UNK token ids named by tokenizer_config.json (or the model's unk_token).
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> pad_id() const;
  std::optional<int32_t> unk_id() const;


 private:
  friend struct TokenizerAccess;  // the loader in src/tokenizer/tokenizer.cpp builds the Impl
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  // Immutable after load, so every const method is safe to call from many threads at once.
  std::shared_ptr<const Impl> impl_;
};

// Turns ids into text one id at a time. Push returns only complete, valid UTF-8: a character split
// over byte-fallback tokens (or, for byte-level BPE, over several tokens) is held until it is
// complete. The concatenation of every Push and the final Flush equals Decode(all ids).
// Holds a reference to the tokenizer, which must outlive it. Not thread-safe (one per stream).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);

  // Feeds one id; returns the newly completed text (possibly empty).
  std::string Push(int32_t id);
  // Returns what is still held (an incomplete character decodes as U+FFFD, as Decode would) and
  // resets the stream.
  std::string Flush();
  // Forgets the stream so far.
  void Reset();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;   // ids since the last point where decoding can restart
  size_t emitted_ = 0;         // bytes of Decode(ids_) already returned
  std::string tail_;           // the end of the text returned so far (to pick restart points)
};

}  // namespace gemma4
