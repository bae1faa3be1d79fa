// UTF-8 and Unicode helpers with the semantics Rust's char/str methods have (what HF tokenizers
// relies on): validation, lossy decoding, character classes, case mapping, normalization forms,
// and the GPT-2 byte <-> character table used by ByteLevel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gemma4::tok {

// Byte offset of the first byte that is not part of well-formed UTF-8; nullopt when valid.
std::optional<size_t> FirstInvalidUtf8(std::string_view s);

void AppendUtf8(std::string& out, uint32_t cp);

// Length of the UTF-8 sequence starting with `lead` (1 for an invalid lead byte).
inline size_t Utf8SeqLen(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes one code point of valid UTF-8 at s[i] and advances i.
inline uint32_t NextCodePoint(std::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) { ++i; return c; }
  if (c < 0xE0) { uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu); i += 2; return cp; }
  if (c < 0xF0) {
    uint32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                  (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    i += 3;
    return cp;
  }
  uint32_t cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  i += 4;
  return cp;
}

// Code point of the last character of valid, non-empty UTF-8.
uint32_t LastCodePoint(std::string_view s);

// Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes one U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

// Length of the longest prefix of `s` that does not end inside an incomplete (but so far valid)
// UTF-8 sequence: s.size() unless s ends with 1-3 bytes that could still start a character.
size_t CompleteUtf8Prefix(std::string_view s);

// Rust char predicates.
bool IsWhitespace(uint32_t cp);      // char::is_whitespace (White_Space property)
bool IsNumeric(uint32_t cp);         // char::is_numeric (Nd, Nl, No)
bool IsAlphanumeric(uint32_t cp);    // char::is_alphanumeric
bool IsPunctuation(uint32_t cp);     // char::is_ascii_punctuation || general category P*
bool IsWordChar(uint32_t cp);        // regex crate \w (Unicode)
bool IsCombiningMark(uint32_t cp);   // general category M*

// Full lowercase mapping (Rust str::to_lowercase per char, without the final-sigma rule).
void AppendLowercase(std::string& out, uint32_t cp);

enum class NormForm { kNFC, kNFD, kNFKC, kNFKD };
std::string Normalize(std::string_view s, NormForm form);

// GPT-2 byte-level alphabet: every byte maps to one printable code point.
uint32_t ByteToChar(uint8_t b);
// Inverse; returns -1 for a code point outside the alphabet.
int CharToByte(uint32_t cp);

}  // namespace gemma4::tok
