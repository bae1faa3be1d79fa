// HTTP/1.x request framing per RFC 9112, with limits checked before anything is kept: the
// announced Content-Length against the body limit, each chunk's size against what is left of it.
#include "server/http_parser.h"

#include <algorithm>
#include <cctype>

namespace gemma4::server {
namespace {

bool IsTchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
  }
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTchar); }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return HeaderNameEquals(a, b); }

// Calls fn(element) for each element of a comma-separated header list, trimmed, empty ones skipped.
template <typename Fn>
void ForEachListElement(std::string_view value, Fn fn) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = TrimOws(value.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// A Content-Length value: 1*DIGIT, or a list of identical ones ("5, 5"); npos when invalid.
size_t ParseContentLength(std::string_view value) {
  size_t result = std::string_view::npos;
  bool bad = false;
  ForEachListElement(value, [&](std::string_view item) {
    if (item.size() > 18 || !std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      bad = true;
      return;
    }
    size_t n = 0;
    for (char c : item) n = n * 10 + static_cast<size_t>(c - '0');
    if (result != std::string_view::npos && result != n) bad = true;
    result = n;
  });
  return bad ? std::string_view::npos : result;
}

}  // namespace

HttpRequestParser::Status HttpRequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  return Status::kError;
}

bool HttpRequestParser::TakeLine(std::string_view& line, size_t max_length, bool& too_long) {
  too_long = false;
  const size_t nl = buffer_.find('\n', std::max(scan_, pos_));
  if (nl == std::string::npos) {
    scan_ = buffer_.size();
    too_long = buffer_.size() - pos_ > max_length;
    return false;
  }
  size_t end = nl;
  if (end > pos_ && buffer_[end - 1] == '\r') --end;
  if (end - pos_ > max_length) {
    too_long = true;
    return false;
  }
  line = std::string_view(buffer_).substr(pos_, end - pos_);
  pos_ = nl + 1;
  scan_ = pos_;
  return true;
}

HttpRequestParser::Status HttpRequestParser::ParseRequestLine(std::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || method.size() > 32) return Fail(400, "malformed request method");
  if (target.empty() || !(target.front() == '/' || target == "*") ||
      std::any_of(target.begin(), target.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return Fail(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return Fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  request_.method = std::string(method);
  request_.target = std::string(target);
  request_.path = std::string(target.substr(0, target.find('?')));
  request_.version_minor = version[7] - '0';
  keep_alive_ = request_.version_minor >= 1;
  state_ = State::kHeaders;
  return Status::kNeedMore;
}

HttpRequestParser::Status HttpRequestParser::ParseHeader(std::string_view line) {
  if (++header_count_ > limits_.max_headers) {
    return Fail(431, "more than " + std::to_string(limits_.max_headers) + " header lines");
  }
  if (line.front() == ' ' || line.front() == '\t') return Fail(400, "obsolete header line folding");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return Fail(400, "malformed header line");
  const std::string_view value = TrimOws(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\0' || c == '\n'; })) {
    return Fail(400, "invalid character in the value of header " + std::string(line.substr(0, colon)));
  }
  if (state_ == State::kHeaders) request_.headers.emplace_back(line.substr(0, colon), value);
  return Status::kNeedMore;  // trailers are counted against the limits, then dropped
}

HttpRequestParser::Status HttpRequestParser::EndOfHeaders() {
  size_t hosts = 0;
  bool has_length = false;
  bool connection_close = false, connection_keep_alive = false;
  for (const auto& [name, value] : request_.headers) {
    if (EqualsNoCase(name, "Host")) {
      ++hosts;
    } else if (EqualsNoCase(name, "Content-Length")) {
      const size_t n = ParseContentLength(value);
      if (n == std::string_view::npos || (has_length && n != content_length_)) {
        return Fail(400, "invalid Content-Length");
      }
      has_length = true;
      content_length_ = n;
    } else if (EqualsNoCase(name, "Transfer-Encoding")) {
      // Compression is refused outright (415: its decoded size is unbounded); otherwise the
      // codings must be exactly one final "chunked" (RFC 9112 §6.3), else the framing is unknown.
      size_t chunked = 0, after_chunked = 0;
      std::string compression;
      ForEachListElement(value, [&](std::string_view coding) {
        if (EqualsNoCase(coding, "chunked")) {
          ++chunked;
        } else if (!EqualsNoCase(coding, "identity")) {
          if (compression.empty()) compression = std::string(coding);
        }
        if (chunked && !EqualsNoCase(coding, "chunked")) ++after_chunked;
      });
      if (!compression.empty()) {
        return Fail(415, "unsupported Transfer-Encoding '" + compression + "': send the body uncompressed");
      }
      if (chunked != 1 || after_chunked != 0) return Fail(400, "invalid Transfer-Encoding '" + value + "'");
      chunked_ = true;
    } else if (EqualsNoCase(name, "Content-Encoding")) {
      bool identity = true;
      ForEachListElement(value, [&](std::string_view coding) { identity = identity && EqualsNoCase(coding, "identity"); });
      if (!identity) return Fail(415, "unsupported Content-Encoding '" + value + "': send the body uncompressed");
    } else if (EqualsNoCase(name, "Connection")) {
      ForEachListElement(value, [&](std::string_view option) {
        if (EqualsNoCase(option, "close")) connection_close = true;
        if (EqualsNoCase(option, "keep-alive")) connection_keep_alive = true;
      });
    } else if (EqualsNoCase(name, "Expect")) {
      if (!EqualsNoCase(value, "100-continue")) return Fail(417, "unsupported expectation '" + value + "'");
      expect_continue_ = request_.version_minor >= 1;
    }
  }
  if (request_.version_minor >= 1 && hosts != 1) {
    return Fail(400, hosts == 0 ? "missing Host header" : "more than one Host header");
  }
  // Both framings at once is how requests are smuggled past proxies (RFC 9112 §6.1): refuse.
  if (chunked_ && has_length) return Fail(400, "both Transfer-Encoding and Content-Length");
  if (has_length && content_length_ > limits_.max_body) {
    return Fail(413, "the request body is larger than the limit of " + std::to_string(limits_.max_body) + " bytes");
  }
  if (connection_close) keep_alive_ = false;
  else if (connection_keep_alive) keep_alive_ = true;
  if (chunked_) state_ = State::kChunkSize;
  else if (content_length_ > 0) state_ = State::kBody;
  else state_ = State::kDone;
  return state_ == State::kDone ? Status::kComplete : Status::kNeedMore;
}

HttpRequestParser::Status HttpRequestParser::Feed(std::string_view data) {
  if (state_ == State::kDone) return Status::kComplete;
  if (state_ == State::kError) return Status::kError;
  buffer_.append(data);
  Status status = Status::kNeedMore;
  while (status == Status::kNeedMore) {
    std::string_view line;
    bool too_long = false;
    switch (state_) {
      case State::kRequestLine:
        if (!TakeLine(line, limits_.max_request_line, too_long)) {
          if (too_long) status = Fail(414, "the request line is longer than " + std::to_string(limits_.max_request_line) + " bytes");
          goto out;
        }
        // A client may send empty lines before the request line (RFC 9112 §2.2); a few are fine.
        if (line.empty()) {
          if (++header_count_ > 4) status = Fail(400, "malformed request line");
          break;
        }
        header_count_ = 0;
        status = ParseRequestLine(line);
        break;
      case State::kHeaders:
      case State::kTrailers: {
        const size_t before = pos_;
        const size_t room = limits_.max_header_bytes - std::min(header_bytes_, limits_.max_header_bytes);
        if (!TakeLine(line, room, too_long)) {
          if (too_long) status = Fail(431, "the request headers are larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
          goto out;
        }
        header_bytes_ += pos_ - before;
        if (header_bytes_ > limits_.max_header_bytes) {
          status = Fail(431, "the request headers are larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
        } else if (!line.empty()) {
          status = ParseHeader(line);
        } else if (state_ == State::kHeaders) {
          status = EndOfHeaders();
        } else {
          state_ = State::kDone;
          status = Status::kComplete;
        }
        break;
      }
      case State::kBody: {
        const size_t want = content_length_ - request_.body.size();
        const size_t take = std::min(want, buffer_.size() - pos_);
        if (take == 0) goto out;
        request_.body.append(buffer_, pos_, take);
        pos_ += take;
        if (request_.body.size() == content_length_) {
          state_ = State::kDone;
          status = Status::kComplete;
        }
        break;
      }
      case State::kChunkSize: {
        if (!TakeLine(line, 1024, too_long)) {
          if (too_long) status = Fail(400, "malformed chunk size line");
          goto out;
        }
        size_t size = 0, digits = 0;
        for (char c : line) {
          const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                    : -1;
          if (v < 0) break;
          if (++digits > 15) break;  // 15 hex digits cannot overflow size_t
          size = size * 16 + static_cast<size_t>(v);
        }
        const std::string_view rest = line.substr(std::min(digits, line.size()));
        if (digits == 0 || digits > 15 || !(rest.empty() || rest.front() == ';' || rest.front() == ' ' || rest.front() == '\t')) {
          status = Fail(400, "malformed chunk size line");
          break;
        }
        if (size > limits_.max_body - request_.body.size()) {
          status = Fail(413, "the request body is larger than the limit of " + std::to_string(limits_.max_body) + " bytes");
          break;
        }
        chunk_left_ = size;
        state_ = size == 0 ? State::kTrailers : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        const size_t take = std::min(chunk_left_, buffer_.size() - pos_);
        if (take == 0) goto out;
        request_.body.append(buffer_, pos_, take);
        pos_ += take;
        chunk_left_ -= take;
        if (chunk_left_ == 0) state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd:
        // Only CR LF may follow a chunk's data (max length 1: a lone CR may still await its LF).
        if (!TakeLine(line, 1, too_long) || !line.empty()) {
          if (too_long || !line.empty()) status = Fail(400, "a chunk is longer than its size says");
          goto out;
        }
        state_ = State::kChunkSize;
        break;
      case State::kDone: status = Status::kComplete; break;
      case State::kError: status = Status::kError; break;
    }
  }
out:
  Compact();
  return status;
}

void HttpRequestParser::Compact() {
  if (pos_ == 0) return;
  buffer_.erase(0, pos_);
  scan_ = scan_ > pos_ ? scan_ - pos_ : 0;
  pos_ = 0;
}

void HttpRequestParser::Reset() {
  state_ = State::kRequestLine;
  scan_ = 0;
  header_bytes_ = header_count_ = content_length_ = chunk_left_ = 0;
  chunked_ = expect_continue_ = false;
  keep_alive_ = true;
  request_ = HttpRequest{};
  error_status_ = 0;
  error_message_.clear();
}

}  // namespace gemma4::server
