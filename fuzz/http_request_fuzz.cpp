// The server's HTTP/1.x request parser on fuzzed bytes, fed whole and in fuzzed pieces: it never
// throws or reads out of bounds, every limit holds (no body beyond max_body, no more headers than
// max_headers), and how the bytes are cut never changes the requests it finds or where it fails.
#include "fuzz_util.h"
#include "server/http_parser.h"

namespace {

using gemma4::server::HttpLimits;
using gemma4::server::HttpRequestParser;

HttpLimits Limits() {
  HttpLimits l;
  l.max_request_line = 512;
  l.max_header_bytes = 2048;
  l.max_headers = 16;
  l.max_body = 4096;
  return l;
}

// Parses up to 8 pipelined requests; a summary of each ("METHOD path body-size" or "error NNN").
std::vector<std::string> Run(std::string_view bytes, const std::vector<size_t>& cuts) {
  const HttpLimits limits = Limits();
  HttpRequestParser parser(limits);
  std::vector<std::string> seen;
  size_t at = 0;
  auto feed = [&](std::string_view piece) {
    auto status = parser.Feed(piece);
    while (status != HttpRequestParser::Status::kNeedMore && seen.size() < 8) {
      if (status == HttpRequestParser::Status::kError) {
        seen.push_back("error " + std::to_string(parser.error_status()));
        gemma4::fuzz::Require(parser.error_status() >= 400 && parser.error_status() < 600, "an HTTP error status");
        return false;
      }
      const auto& req = parser.request();
      gemma4::fuzz::Require(req.body.size() <= limits.max_body, "the body stays within max_body");
      gemma4::fuzz::Require(req.headers.size() <= limits.max_headers, "the headers stay within max_headers");
      seen.push_back(req.method + " " + req.path + " " + std::to_string(req.body.size()));
      parser.Reset();
      status = parser.Feed({});
    }
    return seen.size() < 8;
  };
  for (size_t cut : cuts) {
    if (cut <= at || cut > bytes.size()) continue;
    if (!feed(bytes.substr(at, cut - at))) return seen;
    at = cut;
  }
  feed(bytes.substr(at));
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::vector<size_t> cuts;
  for (size_t c = 1 + (data[0] % 13); c < size; c += 1 + (data[c] % 17)) cuts.push_back(c - 1);
  const std::string_view bytes = gemma4::fuzz::AsText(data + 1, size - 1);
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const auto whole = Run(bytes, {});
    const auto pieces = Run(bytes, cuts);
    gemma4::fuzz::Require(whole == pieces, "the requests found do not depend on how the bytes arrive");
  });
  return 0;
}
