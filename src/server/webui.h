// The chat page served at `/`: src/server/webui/chat.html, compiled in by cmake/EmbedFile.cmake.
#pragma once

#include <string>
#include <string_view>

namespace gemma4::server {

struct WebPage {
  std::string_view html;
  // "default-src 'none'; script-src 'sha256-...'; ...": only the page's own inline script and
  // style run, and they may only talk to this server. A markup bug in the page's markdown
  // renderer then still cannot run model-written script.
  std::string content_security_policy;
};

// The page and its policy, computed once (thread-safe).
const WebPage& ChatPage();

// "'sha256-<base64>'" for each <tag>...</tag> body in `html` (tag "script" or "style"), space-separated.
std::string InlineHashes(std::string_view html, std::string_view tag);

}  // namespace gemma4::server
