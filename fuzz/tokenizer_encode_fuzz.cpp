// Encoding fuzzed text with a real tokenizer: valid UTF-8 encodes to ids inside the vocabulary,
// and the streaming detokenizer gives back exactly what Decode gives; invalid UTF-8 is a
// gemma4::Error naming the byte offset.
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
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const std::vector<int32_t> ids = tok.Encode(gemma4::fuzz::AsText(data, size), size % 2 == 0);
    for (int32_t id : ids) gemma4::fuzz::Require(id >= 0 && static_cast<size_t>(id) < tok.vocab_size(), "id in vocabulary");
    const std::string whole = tok.Decode(ids, true);
    gemma4::StreamingDecoder stream(tok, true);
    std::string pieces;
    for (int32_t id : ids) pieces += stream.Push(id);
    pieces += stream.Flush();
    gemma4::fuzz::Require(pieces == whole, "streamed text equals Decode");
  });
  return 0;
}
