// Decoding fuzzed id sequences (any int32, so out-of-range ids too): Decode and the streaming
// detokenizer agree, an id outside the vocabulary is a gemma4::Error for both.
#include <cstring>

#include "fuzz_util.h"
#include "real_tokenizer.h"

// The 33 MB tokenizer.json loads once, before fuzzing starts, so its load time is not taken for
// a hang of the first input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)gemma4::fuzz::RealTokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gemma4::Tokenizer& tok = gemma4::fuzz::RealTokenizer();
  if (size < 1) return 0;
  const bool skip_special = data[0] & 1;
  std::vector<int32_t> ids;
  // Mostly ids near the special and byte-fallback range (low numbers), sometimes any int32.
  for (size_t i = 1; i + 4 <= size; i += 4) {
    uint32_t raw;
    std::memcpy(&raw, data + i, 4);
    const bool wide = (raw >> 31) && (raw & 0x40000000);
    ids.push_back(wide ? static_cast<int32_t>(raw) : static_cast<int32_t>(raw % (tok.vocab_size() + 2)));
  }
  bool whole_failed = false;
  std::string whole;
  try {
    whole = tok.Decode(ids, skip_special);
  } catch (const gemma4::Error&) {
    whole_failed = true;
  }
  gemma4::StreamingDecoder stream(tok, skip_special);
  std::string pieces;
  bool stream_failed = false;
  try {
    for (int32_t id : ids) pieces += stream.Push(id);
    pieces += stream.Flush();
  } catch (const gemma4::Error&) {
    stream_failed = true;
  }
  gemma4::fuzz::Require(whole_failed == stream_failed, "Decode and StreamingDecoder fail alike");
  if (!whole_failed) gemma4::fuzz::Require(pieces == whole, "streamed text equals Decode");
  return 0;
}
