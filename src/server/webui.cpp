// The embedded chat page and its Content-Security-Policy (hashes of its inline script and style).
#include "server/webui.h"

#include <openssl/evp.h>

#include <cstddef>

namespace gemma4::embedded {
extern const unsigned char kChatPage[];  // generated: build/generated/chat_page.cpp
extern const std::size_t kChatPage_size;
}  // namespace gemma4::embedded

namespace gemma4::server {
namespace {

std::string Sha256Base64(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(), nullptr);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
}

}  // namespace

std::string InlineHashes(std::string_view html, std::string_view tag) {
  // The browser hashes the element's text exactly as written, between '>' and "</tag".
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag);
  std::string out;
  for (size_t at = html.find(open); at != std::string_view::npos; at = html.find(open, at)) {
    const size_t start = html.find('>', at);
    if (start == std::string_view::npos) break;
    const size_t end = html.find(close, start);
    if (end == std::string_view::npos) break;
    if (!out.empty()) out += ' ';
    out += "'sha256-" + Sha256Base64(html.substr(start + 1, end - start - 1)) + "'";
    at = end + close.size();
  }
  return out;
}

const WebPage& ChatPage() {
  static const WebPage page = [] {
    WebPage p;
    p.html = std::string_view(reinterpret_cast<const char*>(embedded::kChatPage), embedded::kChatPage_size);
    p.content_security_policy = "default-src 'none'; script-src " + InlineHashes(p.html, "script") + "; style-src " +
                                InlineHashes(p.html, "style") +
                                "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'";
    return p;
  }();
  return page;
}

}  // namespace gemma4::server
