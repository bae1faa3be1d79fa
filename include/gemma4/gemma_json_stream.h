// Gemma 4's value syntax (the arguments of a tool call: `{city:<|"|>Paris<|"|>,days:3}`, bare
// keys, strings quoted by <|"|>, also "json" and 'python' strings and bare words) converted to
// compact JSON (`{"city":"Paris","days":3}`) while the text streams in, so that a call's arguments
// can be sent as the model writes them.
//
// What it writes is never taken back, and the pieces add up to exactly the JSON a whole-text
// conversion gives: a key goes out with the start of its value, a <|"|> string's text as it comes
// (escaped; a possible closing quote or an unfinished UTF-8 character held back), a number, bare
// word or json/python string once it ends, a bracket when it is read. Keys keep the model's order
// (a repeated key stays repeated). This is the one converter of the syntax: ParseGemmaValue and the
// reply parser's whole-call path run it over the whole text. Nesting is iterative and bounded
// (kMaxDepth open containers), memory is bounded by the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gemma4 {

class GemmaJsonStream {
 public:
  enum class Status {
    kOpen,       // fine so far; the value is not finished
    kComplete,   // one whole value was read (only space may follow)
    kMalformed,  // not Gemma 4 value syntax; nothing more is read
  };
  static constexpr size_t kMaxDepth = 64;

  // Reads the next piece of the input; appends the JSON that became final to `out`.
  Status Feed(std::string_view text, std::string& out);
  // The end of the input: a bare word at the very end of a top-level value ends there; anything
  // else still open is malformed.
  Status Finish(std::string& out);
  Status status() const;

  // What closes the JSON written so far into a valid value (an open string's quote, the open
  // containers' brackets): how a value cut short or malformed is ended with what did parse.
  std::string Closing() const;
  // How many input bytes the JSON written so far stands for; what follows them is not converted
  // (yet, or ever once malformed).
  size_t converted() const { return converted_; }
  // Whether an object member has been written (a key and the start of its value).
  bool wrote_member() const { return wrote_member_; }

 private:
  enum class Expect { kValue, kValueOrClose, kKey, kKeyOrClose, kColon, kAfterValue, kEnd };
  enum class Leaf { kNone, kQuoted, kJsonString, kSingleString, kWord, kBareKey };

  void Run(std::string& out, bool final);
  void Step(std::string& out, bool final);
  std::string_view Rest() const { return std::string_view(pending_).substr(pos_); }
  bool StartValue(std::string& out, bool final);
  bool StartKey(bool final);
  bool ReadLeaf(std::string& out, bool final);
  bool ReadQuoted(std::string& out, bool final);
  bool ReadJsonString(std::string& out, bool final);
  bool ReadSingleString(std::string& out, bool final);
  bool ReadWord(std::string& out, bool final);
  bool ReadBareKey(bool final);
  void Consume(size_t n);
  void Write(std::string& out, std::string_view json);
  void WriteValue(std::string& out, std::string_view json);
  void KeyDone(std::string_view key, Expect next);
  void ValueDone();
  void Close(std::string& out);

  std::string pending_;     // input not consumed yet, from pos_
  size_t pos_ = 0;
  size_t consumed_ = 0;     // input bytes consumed
  size_t converted_ = 0;
  std::string containers_;  // the open containers, '{' or '[' each, innermost last
  Expect expect_ = Expect::kValue;
  Leaf leaf_ = Leaf::kNone;
  bool leaf_is_key_ = false;
  bool escape_ = false;      // a json string's backslash was the last byte read
  std::string leaf_text_;    // the key, word or string being read
  std::string before_value_; // written with the next value: "," and/or "\"key\":"
  bool key_waiting_ = false; // before_value_ holds a key
  bool in_string_ = false;   // a <|"|> string value is open in the output
  bool wrote_member_ = false;
  bool malformed_ = false;
};

}  // namespace gemma4
