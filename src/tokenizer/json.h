// A small, fast, read-only JSON DOM for tokenizer.json. The Gemma file is 33 MB (262k vocab
// entries, 515k merges); a general-purpose DOM spends most of the load time allocating one node
// per string, so strings here are views into the document's own buffer. Errors name the file,
// line:column and the JSON path of the value at fault.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::tok {

class JsonDoc;

enum class JsonType : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

struct JsonNode {
  const char* str_data = nullptr;  // kString: the decoded text
  const char* key_data = nullptr;  // the member name when this node is an object member
  union {
    double number;                 // kNumber
    struct {
      uint32_t first;              // kArray/kObject: index of the first child in JsonDoc::nodes
      uint32_t count;              // kArray/kObject: number of children (contiguous)
    };
  };
  uint32_t str_size = 0;
  uint32_t key_size = 0;
  uint32_t offset = 0;             // byte offset of the value in the source, for error messages
  JsonType type = JsonType::kNull;
  bool boolean = false;

  JsonNode() : number(0) {}
  std::string_view str() const { return {str_data, str_size}; }
  std::string_view key() const { return {key_data, key_size}; }
};

const char* JsonTypeName(JsonType type);

// A value plus the path that reached it, so that errors can say where they are.
class JsonView {
 public:
  JsonView(const JsonDoc* doc, const JsonNode* node, std::string path)
      : doc_(doc), node_(node), path_(std::move(path)) {}

  JsonType type() const { return node_->type; }
  bool is_null() const { return node_->type == JsonType::kNull; }
  bool is_string() const { return node_->type == JsonType::kString; }
  bool is_array() const { return node_->type == JsonType::kArray; }
  bool is_object() const { return node_->type == JsonType::kObject; }
  const JsonNode& node() const { return *node_; }
  const std::string& path() const { return path_; }
  const JsonDoc& doc() const { return *doc_; }

  // Typed reads; each throws Error(kCorrupt) naming the path and position on a type mismatch.
  std::string_view AsString() const;
  bool AsBool() const;
  double AsNumber() const;
  int64_t AsInt() const;  // must be integral
  size_t size() const;    // array or object
  JsonView operator[](size_t index) const;  // array element
  std::vector<JsonView> Elements() const;   // array elements
  std::vector<JsonView> Members() const;    // object members (key() names them)
  std::string_view key() const { return node_->key(); }

  // Object member access. Get throws kCorrupt when absent; Find returns nullopt.
  std::optional<JsonView> Find(std::string_view key) const;
  JsonView Get(std::string_view key) const;
  // Member present and not null.
  bool Has(std::string_view key) const;
  // Convenience reads with a default for an absent or null member.
  std::string_view GetString(std::string_view key, std::string_view fallback) const;
  bool GetBool(std::string_view key, bool fallback) const;
  int64_t GetInt(std::string_view key, int64_t fallback) const;

  // Throws Error(kCorrupt) "<file>: <path>: <what> (line L, column C)".
  [[noreturn]] void Fail(const std::string& what) const;
  // The same message text, for callers that choose the error kind themselves.
  std::string Describe(const std::string& what) const;

 private:
  void Expect(JsonType t, const char* what) const;
  const JsonDoc* doc_;
  const JsonNode* node_;
  std::string path_;
};

class JsonDoc {
 public:
  // Parses `text` (taking ownership). Throws Error(kCorrupt) with line:column on malformed or
  // truncated input, invalid UTF-8, lone surrogate escapes or nesting deeper than 256.
  static JsonDoc Parse(std::string text, std::string source);

  JsonView root() const { return JsonView(this, &nodes_[0], ""); }
  const std::string& source() const { return source_; }
  // 1-based line and column of a byte offset.
  std::pair<size_t, size_t> LineColumn(size_t offset) const;
  const JsonNode& node(uint32_t index) const { return nodes_[index]; }

  JsonDoc(JsonDoc&&) = default;
  JsonDoc& operator=(JsonDoc&&) = default;

 private:
  JsonDoc() = default;
  friend class JsonParser;
  std::unique_ptr<std::string> text_;  // heap-held so views survive a move of the doc
  std::string source_;
  std::vector<JsonNode> nodes_;
  std::deque<std::string> unescaped_;  // decoded strings that contained escapes (stable addresses)
};

}  // namespace gemma4::tok
