// Opening a model package: locate every file, parse the configs, and check that both graphs and
// all their external-data sidecars are present and complete before any session exists.
#include <algorithm>
#include <map>
#include <set>

#include "gemma4/error.h"
#include "core/format.h"
#include "gemma4/log.h"
#include "gemma4/package.h"
#include "package/model_config.h"
#include "package/onnx_proto.h"

namespace gemma4 {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kEmbedStem = "embed_tokens";
constexpr std::string_view kDecoderStem = "decoder_model_merged";

// Dtype suffix of a graph file name, or nullopt when the name is not `<stem>[_<dtype>].onnx`.
std::optional<std::string> DtypeOf(const std::string& file_name, std::string_view stem) {
  if (file_name.size() < 5 || file_name.substr(file_name.size() - 5) != ".onnx") return std::nullopt;
  std::string base = file_name.substr(0, file_name.size() - 5);
  if (base == stem) return "fp32";
  if (base.size() > stem.size() + 1 && base.compare(0, stem.size(), stem) == 0 && base[stem.size()] == '_') {
    return base.substr(stem.size() + 1);
  }
  return std::nullopt;
}

std::vector<std::string> AvailableDtypes(const fs::path& onnx_dir) {
  std::set<std::string> embed, decoder;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(onnx_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto d = DtypeOf(name, kEmbedStem)) embed.insert(*d);
    if (auto d = DtypeOf(name, kDecoderStem)) decoder.insert(*d);
  }
  std::vector<std::string> both;
  std::set_intersection(embed.begin(), embed.end(), decoder.begin(), decoder.end(), std::back_inserter(both));
  return both;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

GraphFiles CheckGraph(const fs::path& onnx_path) {
  GraphFiles g;
  g.onnx = onnx_path;
  std::error_code ec;
  if (!fs::is_regular_file(onnx_path, ec)) throw Error(ErrorKind::kNotFound, onnx_path.string() + ": file not found");
  g.onnx_bytes = fs::file_size(onnx_path, ec);
  onnx::ModelSummary summary = onnx::ReadModelSummary(onnx_path);
  g.inline_weight_bytes = summary.inline_bytes;
  g.op_types = summary.op_types;

  std::map<std::string, ExternalDataFile> files;
  const fs::path dir = onnx_path.parent_path();
  for (const auto& ref : summary.external) {
    if (ref.location.empty()) {
      throw Error(ErrorKind::kCorrupt, onnx_path.string() + ": tensor '" + ref.tensor + "' is stored externally but has no location");
    }
    fs::path rel(ref.location);
    if (rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; })) {
      throw Error(ErrorKind::kCorrupt, onnx_path.string() + ": tensor '" + ref.tensor + "' points outside the model folder ('" +
                                           ref.location + "')");
    }
    auto& f = files[ref.location];
    f.location = ref.location;
    f.path = dir / rel;
    uint64_t end = 0;
    if (__builtin_add_overflow(ref.offset, ref.length, &end) ||
        __builtin_add_overflow(g.external_weight_bytes, ref.length, &g.external_weight_bytes)) {
      throw Error(ErrorKind::kCorrupt, onnx_path.string() + ": tensor '" + ref.tensor + "': external data offset " +
                                           std::to_string(ref.offset) + " + length " + std::to_string(ref.length) +
                                           " overflows 64 bits");
    }
    f.required_bytes = std::max(f.required_bytes, end);
  }
  for (auto& [location, f] : files) {
    if (!fs::is_regular_file(f.path, ec)) {
      throw Error(ErrorKind::kNotFound, onnx_path.filename().string() + " references external data '" + location +
                                            "', but " + f.path.string() + " does not exist");
    }
    f.actual_bytes = fs::file_size(f.path, ec);
    if (f.actual_bytes < f.required_bytes) {
      throw Error(ErrorKind::kCorrupt, f.path.string() + ": truncated: " + onnx_path.filename().string() + " needs " +
                                           std::to_string(f.required_bytes) + " bytes (" + FormatBytes(f.required_bytes) +
                                           ") but the file has " + std::to_string(f.actual_bytes));
    }
    g.external_data.push_back(f);
  }
  return g;
}

}  // namespace

std::string_view PackageLayoutName(PackageLayout layout) {
  return layout == PackageLayout::kTextOnly ? "text-only (gemma4_text)" : "community (gemma4 + text_config)";
}

std::pair<std::string, std::string> GraphFileNames(std::string_view dtype) {
  const std::string suffix = (dtype == "fp32" || dtype.empty()) ? "" : "_" + std::string(dtype);
  return {std::string(kEmbedStem) + suffix + ".onnx", std::string(kDecoderStem) + suffix + ".onnx"};
}

Package OpenPackage(const fs::path& dir_in, const PackageOptions& options) {
  std::error_code ec;
  if (!fs::exists(dir_in, ec)) throw Error(ErrorKind::kNotFound, dir_in.string() + ": no such directory");
  if (!fs::is_directory(dir_in, ec)) throw Error(ErrorKind::kInvalidArgument, dir_in.string() + ": not a directory");
  Package pkg;
  pkg.root = fs::absolute(dir_in, ec).lexically_normal();

  const fs::path config_path = pkg.root / "config.json";
  if (!fs::exists(config_path, ec)) {
    throw Error(ErrorKind::kNotFound, config_path.string() + ": file not found (is " + pkg.root.string() +
                                          " a model package?)");
  }
  const nlohmann::json config = ReadJsonFile(config_path);
  pkg.config = ParseModelConfig(config, config_path, pkg.layout);

  const fs::path gen_path = pkg.root / "generation_config.json";
  if (fs::exists(gen_path, ec)) {
    const nlohmann::json gen = ReadJsonFile(gen_path);
    pkg.generation = ParseGenerationConfig(&gen, config, gen_path);
  } else {
    Log(LogLevel::kDebug, gen_path.string() + " not found; token ids from config.json");
    pkg.generation = ParseGenerationConfig(nullptr, config, gen_path);
  }

  pkg.tokenizer_json = pkg.root / "tokenizer.json";
  if (!fs::is_regular_file(pkg.tokenizer_json, ec)) {
    throw Error(ErrorKind::kNotFound, pkg.tokenizer_json.string() + ": file not found (the package needs its tokenizer)");
  }
  if (fs::is_regular_file(pkg.root / "tokenizer_config.json", ec)) pkg.tokenizer_config_json = pkg.root / "tokenizer_config.json";
  if (fs::is_regular_file(pkg.root / "chat_template.jinja", ec)) {
    pkg.chat_template_jinja = pkg.root / "chat_template.jinja";
    pkg.has_chat_template = true;
  } else if (pkg.tokenizer_config_json) {
    const nlohmann::json tc = ReadJsonFile(*pkg.tokenizer_config_json);
    pkg.has_chat_template = tc.is_object() && tc.contains("chat_template") && !tc["chat_template"].is_null();
  }

  const fs::path onnx_dir = pkg.root / "onnx";
  if (!fs::is_directory(onnx_dir, ec)) throw Error(ErrorKind::kNotFound, onnx_dir.string() + ": directory not found");
  pkg.available_dtypes = AvailableDtypes(onnx_dir);
  pkg.dtype = options.dtype.empty() ? "q4" : options.dtype;
  const auto [embed_name, decoder_name] = GraphFileNames(pkg.dtype);
  for (const auto& name : {embed_name, decoder_name}) {
    if (!fs::exists(onnx_dir / name, ec)) {
      throw Error(ErrorKind::kNotFound, (onnx_dir / name).string() + ": file not found (dtype '" + pkg.dtype +
                                            "'; dtypes with both graphs here: " + Join(pkg.available_dtypes) + ")");
    }
  }
  pkg.embed = CheckGraph(onnx_dir / embed_name);
  pkg.decoder = CheckGraph(onnx_dir / decoder_name);
  return pkg;
}

}  // namespace gemma4
