// Splitting code point ranges at UTF-8 length and continuation-byte boundaries (the classic
// construction of regex engines), with an explicit work list.
#include "grammar/utf8_ranges.h"

#include <algorithm>

namespace gemma4::grammar {
namespace {

constexpr uint32_t kMaxScalar = 0x10FFFF;

size_t EncodedLength(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void Encode(uint32_t cp, uint8_t* out) {
  switch (EncodedLength(cp)) {
    case 1: out[0] = static_cast<uint8_t>(cp); break;
    case 2:
      out[0] = static_cast<uint8_t>(0xC0 | (cp >> 6));
      out[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
      break;
    case 3:
      out[0] = static_cast<uint8_t>(0xE0 | (cp >> 12));
      out[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      out[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
      break;
    default:
      out[0] = static_cast<uint8_t>(0xF0 | (cp >> 18));
      out[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
      out[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      out[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

void AppendUtf8(uint32_t cp, std::vector<uint8_t>& out) {
  uint8_t buf[4];
  Encode(cp, buf);
  out.insert(out.end(), buf, buf + EncodedLength(cp));
}

std::vector<CodeRange> NormalizeRanges(std::vector<CodeRange> ranges) {
  std::vector<CodeRange> cut;
  for (auto [lo, hi] : ranges) {
    if (lo > hi || lo > kMaxScalar) continue;
    hi = std::min(hi, kMaxScalar);
    // Surrogates are not scalar values: they never appear in valid UTF-8.
    if (lo < 0xD800 && hi >= 0xD800) {
      cut.push_back({lo, 0xD7FF});
      if (hi > 0xDFFF) cut.push_back({0xE000, hi});
    } else if (lo >= 0xD800 && lo <= 0xDFFF) {
      if (hi > 0xDFFF) cut.push_back({0xE000, hi});
    } else {
      cut.push_back({lo, hi});
    }
  }
  std::sort(cut.begin(), cut.end());
  std::vector<CodeRange> out;
  for (const auto& r : cut) {
    if (!out.empty() && r.first <= out.back().second + 1) out.back().second = std::max(out.back().second, r.second);
    else out.push_back(r);
  }
  return out;
}

std::vector<CodeRange> ComplementRanges(const std::vector<CodeRange>& ranges) {
  std::vector<CodeRange> out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : ranges) {
    if (lo > next) out.push_back({next, lo - 1});
    next = hi + 1;
  }
  if (next <= kMaxScalar) out.push_back({next, kMaxScalar});
  return NormalizeRanges(std::move(out));
}

std::vector<std::vector<ByteRange>> Utf8Sequences(const std::vector<CodeRange>& ranges) {
  std::vector<std::vector<ByteRange>> out;
  std::vector<CodeRange> work(ranges.rbegin(), ranges.rend());
  while (!work.empty()) {
    auto [lo, hi] = work.back();
    work.pop_back();
    // Same encoded length on both ends.
    const uint32_t bounds[] = {0x7F, 0x7FF, 0xFFFF};
    bool split = false;
    for (uint32_t b : bounds) {
      if (lo <= b && hi > b) {
        work.push_back({b + 1, hi});
        work.push_back({lo, b});
        split = true;
        break;
      }
    }
    if (split) continue;
    const size_t n = EncodedLength(lo);
    // Each trailing continuation byte must span its full range 80..BF, or the leading bytes agree.
    for (size_t i = 1; i < n && !split; ++i) {
      const uint32_t m = (1u << (6 * i)) - 1;
      if ((lo & ~m) != (hi & ~m)) {
        if ((lo & m) != 0) {
          work.push_back({(lo | m) + 1, hi});
          work.push_back({lo, lo | m});
          split = true;
        } else if ((hi & m) != m) {
          work.push_back({hi & ~m, hi});
          work.push_back({lo, (hi & ~m) - 1});
          split = true;
        }
      }
    }
    if (split) continue;
    uint8_t a[4], b[4];
    Encode(lo, a);
    Encode(hi, b);
    std::vector<ByteRange> seq;
    for (size_t i = 0; i < n; ++i) seq.push_back({a[i], b[i]});
    out.push_back(std::move(seq));
  }
  return out;
}

}  // namespace gemma4::grammar
