// Code point ranges -> UTF-8 byte-range sequences, so that character classes become byte sets.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace gemma4::grammar {

using CodeRange = std::pair<uint32_t, uint32_t>;  // inclusive
struct ByteRange {
  uint8_t lo, hi;
};

// Sorted, merged ranges within [0, 0x10FFFF] with the surrogates (U+D800..U+DFFF) removed.
std::vector<CodeRange> NormalizeRanges(std::vector<CodeRange> ranges);
// The complement of normalized ranges within the Unicode scalar values.
std::vector<CodeRange> ComplementRanges(const std::vector<CodeRange>& ranges);
// Each result is one sequence of byte ranges (1 to 4 long); together they match exactly the UTF-8
// encodings of the code points in `ranges` (normalized).
std::vector<std::vector<ByteRange>> Utf8Sequences(const std::vector<CodeRange>& ranges);
// Appends the UTF-8 encoding of one scalar value.
void AppendUtf8(uint32_t cp, std::vector<uint8_t>& out);

}  // namespace gemma4::grammar
