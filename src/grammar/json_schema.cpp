// JSON Schema -> GBNF. Each schema becomes an expression over shared primitive rules; objects keep
// their properties in the schema's order with optional ones skippable (commas placed by a chain of
// "first"/"after" rules), arrays and strings get their bounds as counted repetitions, and numbers
// a bounded count of digits, so that every value can close.
#include "grammar/json_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "gemma4/error.h"
#include "grammar/gbnf_text.h"
#include "grammar/string_content.h"

namespace gemma4::grammar {
namespace {

using nlohmann::json;

constexpr int kMaxSchemaDepth = 64;
constexpr int64_t kMaxCount = 100000;
constexpr int64_t kMaxInteger = 999999999999999;  // 15 digits: exact in a double

const std::set<std::string> kAnnotations = {"title", "description", "default", "examples", "$schema", "$id",
                                            "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
                                            "strict"};
const std::set<std::string> kHandled = {"type", "properties", "required", "additionalProperties", "items", "minItems",
                                        "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minLength",
                                        "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
                                        "exclusiveMaximum"};

std::string Escape(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string Shown(const std::string& pointer) { return pointer.empty() ? "/" : pointer; }

[[noreturn]] void Unsupported(const std::string& pointer, const std::string& what) {
  throw Error(ErrorKind::kUnsupported, Shown(pointer) + ": " + what);
}
[[noreturn]] void Invalid(const std::string& pointer, const std::string& what) {
  throw Error(ErrorKind::kInvalidArgument, Shown(pointer) + ": " + what);
}

int64_t Count(const json& schema, const char* key, const std::string& pointer, int64_t fallback) {
  auto it = schema.find(key);
  if (it == schema.end()) return fallback;
  if (!it->is_number_integer() && !(it->is_number_float() && std::floor(it->get<double>()) == it->get<double>())) {
    Invalid(pointer + "/" + key, "must be a non-negative integer");
  }
  const double v = it->get<double>();
  if (v < 0) Invalid(pointer + "/" + key, "must be a non-negative integer");
  if (v > kMaxCount) Unsupported(pointer + "/" + key, "values above " + std::to_string(kMaxCount) + " are not supported");
  return static_cast<int64_t>(v);
}

std::string Repeat(const std::string& item, int64_t min, int64_t max) {
  if (max < 0) return "(" + item + "){" + std::to_string(min) + ",}";
  if (min == max) return min == 0 ? "\"\"" : "(" + item + "){" + std::to_string(min) + "}";
  return "(" + item + "){" + std::to_string(min) + "," + std::to_string(max) + "}";
}

// Decimal numbers of one length between a and b (same number of digits), as GBNF.
std::string SameLength(const std::string& a, const std::string& b) {
  if (a.empty()) return "\"\"";
  if (a == b) return GbnfLiteral(a);
  if (a[0] == b[0]) return GbnfLiteral(a.substr(0, 1)) + " " + SameLength(a.substr(1), b.substr(1));
  const size_t rest = a.size() - 1;
  const std::string zeros(rest, '0'), nines(rest, '9');
  std::vector<std::string> alts;
  char from = a[0], to = b[0];
  std::string tail;
  if (rest > 0 && a.substr(1) != zeros) {
    alts.push_back(GbnfLiteral(a.substr(0, 1)) + " " + SameLength(a.substr(1), nines));
    ++from;
  }
  if (rest > 0 && b.substr(1) != nines) {
    tail = GbnfLiteral(b.substr(0, 1)) + " " + SameLength(zeros, b.substr(1));
    --to;
  }
  if (from <= to) {
    std::string mid = std::string("[") + from + "-" + to + "]";
    if (rest > 0) mid += " [0-9]{" + std::to_string(rest) + "}";
    alts.push_back(mid);
  }
  if (!tail.empty()) alts.push_back(tail);
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

// Non-negative integers in [lo, hi] without leading zeros.
std::string UnsignedRange(int64_t lo, int64_t hi) {
  std::vector<std::string> alts;
  int64_t low = 0, high = 9;
  for (int digits = 1; digits <= 16 && low <= hi; ++digits) {
    const int64_t a = std::max(lo, low), b = std::min(hi, high);
    if (a <= b) alts.push_back(SameLength(std::to_string(a), std::to_string(b)));
    low = high + 1;
    high = high * 10 + 9;
  }
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

std::string Join(const std::vector<std::string>& alts) {
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

bool IsBareKey(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

constexpr const char* kGemmaQuote = "<|\"|>";

}  // namespace

std::string RuleSet::Reserve(const std::string& hint) {
  std::string base;
  for (char c : hint) base += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  while (base.find("--") != std::string::npos) base.erase(base.find("--"), 1);
  while (!base.empty() && base.front() == '-') base.erase(0, 1);
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "value";
  if (base.size() > 48) base = base.substr(0, 48);
  const int n = used_[base]++;
  const std::string name = n == 0 ? base : base + "-" + std::to_string(n);
  if (index_.count(name) || name == "root") return Reserve(name + "-x");
  index_[name] = SIZE_MAX;
  return name;
}

void RuleSet::Define(const std::string& name, std::string body) {
  index_[name] = rules_.size();
  rules_.emplace_back(name, std::move(body));
}

std::string RuleSet::Shared(const std::string& name, const std::string& body) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    used_[name]++;
    Define(name, body);
  }
  return name;
}

std::string RuleSet::Text(const std::string& root_body) const {
  std::string out = "root ::= " + root_body + "\n";
  for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
  return out;
}

SchemaConverter::SchemaConverter(RuleSet& rules, Dialect dialect, Grammar::JsonSchemaOptions options,
                                 const json& document, std::string pointer_prefix)
    : rules_(rules), dialect_(dialect), options_(options), document_(document), prefix_(std::move(pointer_prefix)) {}

std::optional<std::string> SchemaConverter::Convert(const json& schema, const std::string& pointer) {
  return Visit(schema, pointer, 0);
}

std::string SchemaConverter::StringChar() {
  if (dialect_ == Dialect::kGemma) return rules_.Shared("gemma_char", "[^<]");
  return rules_.Shared("json_char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" [\"\\\\/bfnrt]");
}

std::string SchemaConverter::QuoteOpen() const { return dialect_ == Dialect::kGemma ? kGemmaQuote : "\"\\\"\""; }

std::string SchemaConverter::Key(const std::string& name) const {
  if (dialect_ == Dialect::kJson) return GbnfLiteral(json(name).dump());
  if (IsBareKey(name)) return GbnfLiteral(name);
  if (name.find(kGemmaQuote) != std::string::npos) return {};
  return std::string(kGemmaQuote) + " " + GbnfLiteral(name) + " " + kGemmaQuote;
}

std::string SchemaConverter::ValueAt(int level, int levels, bool object_only) {
  const std::string suffix = std::to_string(level);
  const std::string str = rules_.Shared(dialect_ == Dialect::kGemma ? "gemma_string" : "json_string",
                                        QuoteOpen() + " " + StringChar() + "* " + QuoteOpen());
  const std::string num =
      rules_.Shared("json_number", "\"-\"? (\"0\" | [1-9] [0-9]{0,14}) (\".\" [0-9]{1,15})?");
  const std::string scalar = rules_.Shared("json_scalar", str + " | " + num + " | \"true\" | \"false\" | \"null\"");
  if (level >= levels) return scalar;
  const std::string inner = ValueAt(level + 1, levels, false);
  const std::string key = dialect_ == Dialect::kGemma ? rules_.Shared("gemma_key", "[A-Za-z_] [A-Za-z0-9_]{0,31}") : str;
  const std::string pair = key + " \":\" " + inner;
  const std::string object =
      rules_.Shared("any_object_" + suffix, "\"{\" (" + pair + " (\",\" " + pair + ")*)? \"}\"");
  if (object_only) return object;
  const std::string array = rules_.Shared("any_array_" + suffix, "\"[\" (" + inner + " (\",\" " + inner + ")*)? \"]\"");
  return rules_.Shared("any_value_" + suffix, object + " | " + array + " | " + scalar);
}

std::string SchemaConverter::AnyValue(int levels) { return ValueAt(0, levels, false); }
std::string SchemaConverter::AnyObject(int levels) { return ValueAt(0, levels, true); }

std::optional<std::string> SchemaConverter::Literal(const json& value, const std::string& pointer) {
  if (dialect_ == Dialect::kJson) return GbnfLiteral(value.dump(-1, ' ', false, json::error_handler_t::strict));
  // Gemma syntax: rendered with an explicit stack of (value, next child) frames.
  struct Frame {
    const json* value;
    json::const_iterator it;
  };
  std::string out;
  std::vector<Frame> stack;
  auto scalar = [&](const json& v) -> bool {
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s.find(kGemmaQuote) != std::string::npos) return false;
      out += std::string(" ") + kGemmaQuote + " " + GbnfLiteral(s) + " " + kGemmaQuote;
    } else {
      out += " " + GbnfLiteral(v.dump());
    }
    return true;
  };
  auto open = [&](const json& v) -> bool {
    if (v.is_object() || v.is_array()) {
      if (stack.size() >= kMaxSchemaDepth) Unsupported(pointer, "a value nested deeper than 64 levels");
      out += v.is_object() ? " \"{\"" : " \"[\"";
      stack.push_back({&v, v.begin()});
      return true;
    }
    return scalar(v);
  };
  if (!open(value)) return std::nullopt;
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.it == f.value->end()) {
      out += f.value->is_object() ? " \"}\"" : " \"]\"";
      stack.pop_back();
      continue;
    }
    if (f.it != f.value->begin()) out += " \",\"";
    const json::const_iterator item = f.it++;
    if (f.value->is_object()) {
      const std::string key = Key(item.key());
      if (key.empty()) return std::nullopt;
      out += " " + key + " \":\"";
    }
    if (!open(*item)) return std::nullopt;
  }
  return "(" + out.substr(1) + ")";
}

std::string SchemaConverter::ExtraKey(const std::vector<std::string>& declared, const std::string& pointer) {
  const bool gemma = dialect_ == Dialect::kGemma;
  // A trie of the declared names: an extra key leaves it (free), or ends at a node that is no name.
  struct Node {
    std::map<uint32_t, size_t> next;
    bool terminal = false;
  };
  std::vector<Node> trie(1);
  for (const std::string& name : declared) {
    if (gemma && !IsBareKey(name)) continue;  // quoted keys cannot collide with bare extra keys
    if (!gemma) {
      for (unsigned char c : name) {
        if (c < 0x20 || c == '"' || c == '\\' || c == '/') return {};  // escapes could spell these: no extras
      }
    }
    size_t at = 0;
    for (uint32_t cp : CodePoints(name)) {
      auto it = trie[at].next.find(cp);
      if (it == trie[at].next.end()) {
        trie.push_back({});
        it = trie[at].next.emplace(cp, trie.size() - 1).first;
      }
      at = it->second;
    }
    trie[at].terminal = true;
  }
  const std::string close = gemma ? "\"\"" : "\"\\\"\"";
  const std::string plain = gemma ? "[A-Za-z0-9_]" : StringChar();
  const std::string free = rules_.Shared(gemma ? "gemma_key_rest" : "json_key_rest",
                                         gemma ? "[A-Za-z0-9_]{0,31}" : plain + "* " + close);
  std::vector<std::string> names;
  for (size_t i = 0; i < trie.size(); ++i) names.push_back(rules_.Reserve(pointer + "-extra-key"));
  for (size_t i = 0; i < trie.size(); ++i) {
    std::vector<std::string> alts;
    std::vector<CodeRange> taken;
    for (const auto& [cp, child] : trie[i].next) {
      std::vector<uint8_t> bytes;
      AppendUtf8(cp, bytes);
      alts.push_back(GbnfLiteral(std::string(bytes.begin(), bytes.end())) + " " + names[child]);
      taken.push_back({cp, cp});
    }
    std::vector<CodeRange> other =
        gemma ? NormalizeRanges({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}) : ComplementRanges({});
    other = SubtractRanges(other, NormalizeRanges(taken));
    if (auto cls = ContentClass(other, dialect_)) alts.push_back(*cls + " " + free);
    if (!gemma) alts.push_back("\"\\\\\" [\"\\\\/bfnrt] " + free);  // an escape is never a declared name's character
    if (!trie[i].terminal && !(gemma && i == 0)) alts.push_back(close);
    std::string body;
    for (size_t k = 0; k < alts.size(); ++k) body += (k ? " | " : "") + alts[k];
    rules_.Define(names[i], body);
  }
  return gemma ? names[0] : "\"\\\"\" " + names[0];
}

std::optional<std::string> SchemaConverter::Visit(const json& schema, const std::string& pointer, int depth) {
  if (depth > kMaxSchemaDepth) {
    throw Error(ErrorKind::kLimit, Shown(pointer) + ": the schema is nested deeper than " +
                                       std::to_string(kMaxSchemaDepth) + " levels");
  }
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) return std::nullopt;
    return AnyValue();
  }
  if (!schema.is_object()) Invalid(pointer, "a schema must be an object or a boolean");
  for (const auto& [key, value] : schema.items()) {
    if (!kAnnotations.count(key) && !kHandled.count(key)) Unsupported(pointer + "/" + Escape(key), "unsupported keyword");
  }
  auto has = [&](const char* key) { return schema.contains(key); };
  auto others = [&](const char* except) {
    for (const auto& [key, value] : schema.items()) {
      if (key != except && kHandled.count(key)) return key;
    }
    return std::string();
  };

  if (has("$ref")) {
    if (std::string other = others("$ref"); !other.empty()) {
      Unsupported(pointer + "/" + Escape(other), "keywords beside $ref are not supported");
    }
    const json& ref = schema["$ref"];
    if (!ref.is_string()) Invalid(pointer + "/$ref", "must be a string");
    const std::string target = ref.get<std::string>();
    if (target.empty() || target[0] != '#') Unsupported(pointer + "/$ref", "only local references (#/...) are supported");
    const json* resolved = nullptr;
    try {
      resolved = &document_.at(json::json_pointer(target.substr(1)));
    } catch (const json::exception&) {
      Invalid(pointer + "/$ref", "'" + target + "' names nothing in this schema");
    }
    int& level = ref_depth_[target];
    if (level >= options_.max_recursion) return std::nullopt;  // the recursion bound: this branch is left out
    const std::string memo = target + "@" + std::to_string(level);
    if (auto it = ref_rules_.find(memo); it != ref_rules_.end()) return it->second;
    const std::string name = rules_.Reserve(prefix_ + "ref-" + target.substr(1));
    ref_rules_[memo] = name;  // a self-reference at this level reuses the rule
    ++level;
    std::optional<std::string> body;
    try {
      body = Visit(*resolved, target.substr(1), depth + 1);
    } catch (...) {
      --ref_depth_[target];
      throw;
    }
    --ref_depth_[target];
    if (!body) {
      ref_rules_[memo] = std::nullopt;
      rules_.Define(name, "\"\" \"\"");  // never referenced: kept only so the name stays defined
      return std::nullopt;
    }
    rules_.Define(name, *body);
    return name;
  }
  if (has("const")) {
    auto lit = Literal(schema["const"], pointer + "/const");
    if (!lit) Unsupported(pointer + "/const", "this value cannot be written in the tool-call syntax");
    return lit;
  }
  if (has("enum")) {
    const json& values = schema["enum"];
    if (!values.is_array() || values.empty()) Invalid(pointer + "/enum", "must be a non-empty array");
    std::vector<std::string> alts;
    for (size_t i = 0; i < values.size(); ++i) {
      auto lit = Literal(values[i], pointer + "/enum/" + std::to_string(i));
      if (!lit) Unsupported(pointer + "/enum/" + std::to_string(i), "this value cannot be written in the tool-call syntax");
      alts.push_back(*lit);
    }
    return Join(alts);
  }
  for (const char* combinator : {"anyOf", "oneOf", "allOf"}) {
    if (!has(combinator)) continue;
    if (std::string other = others(combinator); !other.empty()) {
      Unsupported(pointer + "/" + Escape(other), std::string("keywords beside ") + combinator + " are not supported");
    }
    const json& list = schema[combinator];
    if (!list.is_array() || list.empty()) Invalid(pointer + "/" + combinator, "must be a non-empty array");
    if (std::string(combinator) == "allOf") {
      if (list.size() != 1) Unsupported(pointer + "/allOf", "allOf with more than one schema is not supported");
      return Visit(list[0], pointer + "/allOf/0", depth + 1);
    }
    std::vector<std::string> alts;
    for (size_t i = 0; i < list.size(); ++i) {
      if (auto alt = Visit(list[i], pointer + "/" + combinator + "/" + std::to_string(i), depth + 1)) alts.push_back(*alt);
    }
    if (alts.empty()) return std::nullopt;
    return Join(alts);
  }
  if (has("type")) {
    const json& type = schema["type"];
    std::vector<std::string> types;
    if (type.is_string()) {
      types.push_back(type.get<std::string>());
    } else if (type.is_array() && !type.empty()) {
      for (const json& t : type) {
        if (!t.is_string()) Invalid(pointer + "/type", "must be a string or an array of strings");
        types.push_back(t.get<std::string>());
      }
    } else {
      Invalid(pointer + "/type", "must be a string or a non-empty array of strings");
    }
    std::vector<std::string> alts;
    for (const std::string& t : types) {
      if (auto alt = VisitType(schema, t, pointer, depth)) alts.push_back(*alt);
    }
    if (alts.empty()) return std::nullopt;
    return Join(alts);
  }
  // No type: inferred from the keywords present, else any value.
  if (has("properties") || has("required") || has("additionalProperties")) return VisitType(schema, "object", pointer, depth);
  if (has("items") || has("minItems") || has("maxItems")) return VisitType(schema, "array", pointer, depth);
  if (has("minLength") || has("maxLength") || has("pattern")) return VisitType(schema, "string", pointer, depth);
  if (has("minimum") || has("maximum") || has("exclusiveMinimum") || has("exclusiveMaximum")) {
    return VisitType(schema, "number", pointer, depth);
  }
  return AnyValue();
}

std::optional<std::string> SchemaConverter::VisitType(const json& schema, const std::string& type,
                                                      const std::string& pointer, int depth) {
  if (type == "object") return Object(schema, pointer, depth);
  if (type == "array") return Array(schema, pointer, depth);
  if (type == "string") return String(schema, pointer);
  if (type == "integer") return Integer(schema, pointer);
  if (type == "number") return Number(schema, pointer);
  if (type == "boolean") return rules_.Shared("json_boolean", "\"true\" | \"false\"");
  if (type == "null") return rules_.Shared("json_null", "\"null\"");
  Invalid(pointer + "/type", "unknown type '" + type + "'");
}

std::optional<std::string> SchemaConverter::Object(const json& schema, const std::string& pointer, int depth) {
  const json empty = json::object();
  auto pit = schema.find("properties");
  const json& properties = pit == schema.end() ? empty : *pit;
  if (!properties.is_object()) Invalid(pointer + "/properties", "must be an object");
  std::set<std::string> required;
  if (auto rit = schema.find("required"); rit != schema.end()) {
    if (!rit->is_array()) Invalid(pointer + "/required", "must be an array of strings");
    for (const json& r : *rit) {
      if (!r.is_string()) Invalid(pointer + "/required", "must be an array of strings");
      required.insert(r.get<std::string>());
    }
  }
  auto ait = schema.find("additionalProperties");
  if (options_.strict) {
    if (ait == schema.end() || !ait->is_boolean() || ait->get<bool>()) {
      Invalid(pointer + "/additionalProperties", "strict mode requires additionalProperties: false on every object");
    }
    for (const auto& [key, value] : properties.items()) {
      if (!required.count(key)) {
        Invalid(pointer + "/required", "strict mode requires every property to be required; '" + key + "' is missing");
      }
    }
  }
  // The value of extra properties: none unless additionalProperties allows them explicitly (an
  // absent keyword allows them, but leaving them out is still valid).
  std::optional<std::string> extra;
  if (ait != schema.end() && !(ait->is_boolean() && !ait->get<bool>())) {
    extra = Visit(*ait, pointer + "/additionalProperties", depth + 1);
  }
  struct Property {
    std::string name;
    std::string pair;
    bool required;
  };
  std::vector<Property> props;
  std::vector<std::string> names;
  auto add = [&](const std::string& name, const std::optional<std::string>& value, const std::string& at) -> bool {
    names.push_back(name);
    const bool needed = required.count(name) > 0;
    if (!value) return !needed;  // a property no value satisfies: omitted, or the object is impossible
    const std::string key = Key(name);
    if (key.empty()) Unsupported(at, "this property name cannot be written in the tool-call syntax");
    // A named rule: the pair appears in two rules of the chain below, and inlining nested objects
    // there would double the text at every level.
    const std::string pair = rules_.Reserve(prefix_ + at);
    rules_.Define(pair, key + " \":\" " + *value);
    props.push_back({name, pair, needed});
    return true;
  };
  for (const auto& [name, sub] : properties.items()) {
    const std::string at = pointer + "/properties/" + Escape(name);
    if (!add(name, Visit(sub, at, depth + 1), at)) return std::nullopt;
  }
  for (const std::string& name : required) {
    if (properties.contains(name)) continue;
    // Required but not described: any value the extra-property schema allows (or any value).
    std::optional<std::string> value = ait == schema.end() ? std::optional<std::string>(AnyValue()) : extra;
    if (!add(name, value, pointer + "/required")) return std::nullopt;
  }
  std::string extras_after, extras_first;
  if (extra) {
    const std::string key = ExtraKey(names, prefix_ + pointer);
    if (!key.empty()) {
      const std::string pair = rules_.Reserve(prefix_ + pointer + "-extra");
      rules_.Define(pair, key + " \":\" " + *extra);
      extras_after = "(\",\" " + pair + ")*";
      extras_first = "(" + pair + " " + extras_after + ")?";
    }
  }
  // after[i]: properties i.. once something was written (each needs a comma);
  // first[i]: properties i.. when nothing was written yet.
  const size_t n = props.size();
  std::vector<std::string> after(n + 1), first(n + 1);
  after[n] = extras_after.empty() ? "\"\"" : extras_after;
  first[n] = extras_first.empty() ? "\"\"" : extras_first;
  for (size_t k = n; k-- > 0;) {
    const Property& p = props[k];
    const std::string a = rules_.Reserve(prefix_ + pointer + "-after-" + p.name);
    rules_.Define(a, (p.required ? "\",\" " + p.pair : "(\",\" " + p.pair + ")?") + " " + after[k + 1]);
    after[k] = a;
    const std::string f = rules_.Reserve(prefix_ + pointer + "-first-" + p.name);
    rules_.Define(f, p.required ? p.pair + " " + after[k + 1] : p.pair + " " + after[k + 1] + " | " + first[k + 1]);
    first[k] = f;
  }
  return "\"{\" " + first[0] + " \"}\"";
}

std::optional<std::string> SchemaConverter::Array(const json& schema, const std::string& pointer, int depth) {
  const int64_t min = Count(schema, "minItems", pointer, 0);
  const int64_t max = Count(schema, "maxItems", pointer, -1);
  if (max >= 0 && min > max) Invalid(pointer, "minItems is larger than maxItems");
  std::optional<std::string> item;
  if (auto it = schema.find("items"); it != schema.end()) {
    if (it->is_array()) Unsupported(pointer + "/items", "tuple items (an array of schemas) are not supported");
    item = Visit(*it, pointer + "/items", depth + 1);
  } else {
    item = AnyValue();
  }
  if (!item || max == 0) {
    if (min > 0) return std::nullopt;
    return std::string("\"[\" \"]\"");
  }
  const std::string name = rules_.Reserve(prefix_ + pointer + "-item");
  rules_.Define(name, *item);
  const std::string next = "\",\" " + name;
  std::string body;
  if (min == 0) {
    body = "(" + name + " " + Repeat(next, 0, max < 0 ? -1 : max - 1) + ")?";
  } else {
    body = name + " " + Repeat(next, min - 1, max < 0 ? -1 : max - 1);
  }
  return "\"[\" " + body + " \"]\"";
}

std::string SchemaConverter::String(const json& schema, const std::string& pointer) {
  const int64_t min = Count(schema, "minLength", pointer, 0);
  const int64_t max = Count(schema, "maxLength", pointer, -1);
  if (max >= 0 && min > max) Invalid(pointer, "minLength is larger than maxLength");
  std::string content;
  if (auto it = schema.find("pattern"); it != schema.end()) {
    if (!it->is_string()) Invalid(pointer + "/pattern", "must be a string");
    if (schema.contains("minLength") || schema.contains("maxLength")) {
      Unsupported(pointer + "/pattern", "pattern together with minLength/maxLength is not supported");
    }
    content = PatternToGbnf(it->get<std::string>(), dialect_, StringChar(), pointer + "/pattern");
  } else {
    content = Repeat(StringChar(), min, max);
  }
  return QuoteOpen() + " " + content + " " + QuoteOpen();
}

std::string SchemaConverter::Integer(const json& schema, const std::string& pointer) {
  auto bound = [&](const char* key) -> std::optional<double> {
    auto it = schema.find(key);
    if (it == schema.end()) return std::nullopt;
    if (!it->is_number()) Invalid(pointer + "/" + key, "must be a number");
    return it->get<double>();
  };
  const auto minimum = bound("minimum"), maximum = bound("maximum");
  const auto xmin = bound("exclusiveMinimum"), xmax = bound("exclusiveMaximum");
  if (!minimum && !maximum && !xmin && !xmax) {
    return rules_.Shared("json_integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,14})");
  }
  double lo = -static_cast<double>(kMaxInteger), hi = static_cast<double>(kMaxInteger);
  if (minimum) lo = std::max(lo, std::ceil(*minimum));
  if (xmin) lo = std::max(lo, std::floor(*xmin) + 1);
  if (maximum) hi = std::min(hi, std::floor(*maximum));
  if (xmax) hi = std::min(hi, std::ceil(*xmax) - 1);
  if (lo > hi) Invalid(pointer, "no integer lies within minimum/maximum");
  const int64_t a = static_cast<int64_t>(lo), b = static_cast<int64_t>(hi);
  if (b < 0) return "(\"-\" " + UnsignedRange(-b, -a) + ")";
  if (a >= 0) return UnsignedRange(a, b);
  return "(\"-\" " + UnsignedRange(1, -a) + " | " + UnsignedRange(0, b) + ")";
}

std::string SchemaConverter::Number(const json& schema, const std::string& pointer) {
  for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    if (schema.contains(key)) {
      Unsupported(pointer + "/" + key, "bounds are supported on integers only, not on type number");
    }
  }
  return rules_.Shared("json_number", "\"-\"? (\"0\" | [1-9] [0-9]{0,14}) (\".\" [0-9]{1,15})?");
}

}  // namespace gemma4::grammar
