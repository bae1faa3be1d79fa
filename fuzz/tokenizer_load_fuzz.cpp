// tokenizer.json loading: any bytes end in a Tokenizer or a gemma4::Error; a tokenizer that
// loads must encode and decode a short text without crashing.
#include "fuzz_util.h"
#include "gemma4/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    gemma4::Tokenizer tok = gemma4::Tokenizer::FromJson(gemma4::fuzz::AsText(data, size), "fuzz.json");
    const std::vector<int32_t> ids = tok.Encode("Hello world\n\n  caf\xc3\xa9 \xf0\x9f\x98\x80 <eos>", true);
    (void)tok.Decode(ids, false);
  });
  return 0;
}
