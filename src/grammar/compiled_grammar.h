// The grammar as the matcher reads it: rules of alternatives, each a run of elements ending in
// kEnd, over byte sets (UTF-8 already expanded to bytes), rule references and special tokens.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "gemma4/grammar.h"

namespace gemma4::grammar {

enum class ElementKind : uint8_t {
  kEnd,    // end of an alternative
  kRule,   // value: rule id
  kBytes,  // value: index into byte_sets; matches one byte
  kToken,  // value: index into tokens; matches one (special) token
};

struct Element {
  ElementKind kind;
  uint32_t value;
};

struct SourcePos {
  uint32_t line = 0, column = 0;
};

struct TokenRef {
  std::string text;  // "<|tool_call>" (empty when given by id)
  int32_t id = -1;   // given as <[N]>
  SourcePos pos;
};

struct CompiledGrammar {
  std::string source;                          // name used in error messages
  std::vector<Element> elements;               // every alternative, each terminated by kEnd
  std::vector<std::vector<uint32_t>> rules;    // per rule: the element index where each alternative starts
  std::vector<std::string> rule_names;
  std::vector<SourcePos> rule_pos;
  std::vector<std::bitset<256>> byte_sets;
  std::vector<TokenRef> tokens;
  uint32_t root = 0;
};

}  // namespace gemma4::grammar

namespace gemma4 {
struct Grammar::Impl {
  std::string text;
  grammar::CompiledGrammar compiled;
};
}  // namespace gemma4
