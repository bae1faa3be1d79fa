// Opening packages: both layouts, dtype selection, sidecars, and the exact error for each kind
// of damage (missing or truncated files, invalid JSON, unknown model_type, missing tokenizer).
#include "gemma4/package.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyPackage;
using testing::TempDir;
using testing::TestModel;
using testing::WriteFile;
namespace fs = std::filesystem;

TEST(Package, OpensTextOnlyLayout) {
  Package p = OpenPackage(TestModel("text-q4"));
  EXPECT_EQ(p.layout, PackageLayout::kTextOnly);
  EXPECT_EQ(p.dtype, "q4");
  EXPECT_EQ(p.config.model_type, "gemma4_text");
  EXPECT_GT(p.config.num_hidden_layers, 0);
  EXPECT_EQ(static_cast<int64_t>(p.config.layer_types.size()), p.config.num_hidden_layers);
  EXPECT_GT(p.config.num_kv_shared_layers, 0);
  EXPECT_EQ(p.generation.eos_token_ids, (std::vector<int32_t>{1, 106, 50}));
  EXPECT_EQ(p.generation.bos_token_id, 2);
  EXPECT_EQ(p.generation.sampling.value("top_k", 0), 64);
  EXPECT_EQ(p.embed.onnx.filename(), "embed_tokens_q4.onnx");
  EXPECT_EQ(p.decoder.onnx.filename(), "decoder_model_merged_q4.onnx");
  ASSERT_TRUE(p.chat_template_jinja.has_value());
  EXPECT_TRUE(p.has_chat_template);
  EXPECT_TRUE(p.embed.external_data.empty());
  EXPECT_GT(p.decoder.inline_weight_bytes, 0u);
  // INT4 linear layers, as the real export.
  EXPECT_NE(std::find(p.decoder.op_types.begin(), p.decoder.op_types.end(), "com.microsoft:MatMulNBits"),
            p.decoder.op_types.end());
}

TEST(Package, OpensCommunityLayoutWithTemplateInTokenizerConfig) {
  Package p = OpenPackage(TestModel("community"));
  EXPECT_EQ(p.layout, PackageLayout::kCommunity);
  EXPECT_EQ(p.config.model_type, "gemma4_text");  // from text_config
  EXPECT_GT(p.config.hidden_size, 0);
  EXPECT_FALSE(p.chat_template_jinja.has_value());
  EXPECT_TRUE(p.has_chat_template);
  EXPECT_EQ(p.available_dtypes, (std::vector<std::string>{"q4", "q4f16"}));
}

TEST(Package, PicksTheRequestedDtype) {
  Package p = OpenPackage(TestModel("community"), PackageOptions{"q4f16"});
  EXPECT_EQ(p.embed.onnx.filename(), "embed_tokens_q4f16.onnx");
  EXPECT_EQ(p.decoder.onnx.filename(), "decoder_model_merged_q4f16.onnx");
  Package fp32 = OpenPackage(TestModel("text-fp"), PackageOptions{"fp32"});
  EXPECT_EQ(fp32.decoder.onnx.filename(), "decoder_model_merged.onnx");
}

TEST(Package, UnknownDtypeListsTheAvailableOnes) {
  EXPECT_GEMMA4_ERROR(OpenPackage(TestModel("community"), PackageOptions{"int8"}), ErrorKind::kNotFound,
                      "embed_tokens_int8.onnx: file not found (dtype 'int8'; dtypes with both graphs here: q4, q4f16)");
}

TEST(Package, FindsEverySidecarAndItsSize) {
  Package p = OpenPackage(TestModel("sidecar-split"));
  ASSERT_EQ(p.decoder.external_data.size(), 3u);
  uint64_t total = 0;
  for (const auto& f : p.decoder.external_data) {
    EXPECT_TRUE(fs::exists(f.path));
    EXPECT_LE(f.required_bytes, f.actual_bytes);
    total += f.actual_bytes;
  }
  EXPECT_EQ(p.decoder.external_data[0].location, "decoder_model_merged_q4.onnx_data");
  EXPECT_EQ(p.decoder.external_data[1].location, "decoder_model_merged_q4.onnx_data_1");
  EXPECT_GE(total, p.decoder.external_weight_bytes);
  EXPECT_GT(p.decoder.external_weight_bytes, 0u);
}

TEST(Package, MissingSidecarIsNamed) {
  TempDir tmp;
  auto dir = CopyPackage("sidecar-split", tmp);
  fs::remove(dir / "onnx" / "decoder_model_merged_q4.onnx_data_1");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kNotFound,
                      "decoder_model_merged_q4.onnx references external data 'decoder_model_merged_q4.onnx_data_1', but " +
                          (dir / "onnx" / "decoder_model_merged_q4.onnx_data_1").string() + " does not exist");
}

TEST(Package, TruncatedSidecarIsNamed) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4-sidecar", tmp);
  const auto sidecar = dir / "onnx" / "decoder_model_merged_q4.onnx_data";
  const auto size = fs::file_size(sidecar);
  fs::resize_file(sidecar, size / 2);
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt,
                      sidecar.string() + ": truncated: decoder_model_merged_q4.onnx needs ");
}

TEST(Package, TruncatedOnnxIsReportedWithItsOffset) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  const auto onnx = dir / "onnx" / "decoder_model_merged_q4.onnx";
  fs::resize_file(onnx, fs::file_size(onnx) / 3);
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, onnx.string() + ": not a valid ONNX model (byte ");
}

TEST(Package, GarbageOnnxIsRejected) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "onnx" / "embed_tokens_q4.onnx", "this is not protobuf at all \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "embed_tokens_q4.onnx: not a valid ONNX model");
  WriteFile(dir / "onnx" / "embed_tokens_q4.onnx", "");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "embed_tokens_q4.onnx: empty file, not an ONNX model");
}

TEST(Package, InvalidJsonGivesLineAndColumn) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "config.json", "{\n  \"model_type\": \"gemma4_text\",\n  \"hidden_size\": 64,,\n}");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, (dir / "config.json").string() + ":3:21: invalid JSON: unexpected ','");
}

TEST(Package, TruncatedJsonSaysSo) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "generation_config.json", "{\"eos_token_id\": [1, 106");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "unexpected end of file (truncated?)");
}

TEST(Package, UnknownModelTypeIsUnsupported) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "config.json", R"({"model_type": "llama", "hidden_size": 64})");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kUnsupported,
                      "field /model_type is \"llama\"; this runtime runs Gemma 4 text models");
}

TEST(Package, CommunityLayoutNeedsTextConfig) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "config.json", R"({"model_type": "gemma4"})");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "field /text_config: missing");
}

TEST(Package, WrongFieldTypeNamesThePointer) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "config.json", R"({"model_type": "gemma4", "text_config": {"hidden_size": "wide"}})");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "field /text_config/hidden_size: expected an integer");
  WriteFile(dir / "config.json", R"({"model_type": "gemma4_text"})");
  WriteFile(dir / "generation_config.json", R"({"eos_token_id": [1, "x"]})");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kCorrupt, "field /eos_token_id/1: expected a token id");
}

TEST(Package, MissingTokenizerIsNamed) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  fs::remove(dir / "tokenizer.json");
  EXPECT_GEMMA4_ERROR(OpenPackage(dir), ErrorKind::kNotFound,
                      (dir / "tokenizer.json").string() + ": file not found (the package needs its tokenizer)");
}

TEST(Package, MissingConfigOrDirectory) {
  TempDir tmp;
  EXPECT_GEMMA4_ERROR(OpenPackage(tmp / "nope"), ErrorKind::kNotFound, "nope: no such directory");
  EXPECT_GEMMA4_ERROR(OpenPackage(tmp.path()), ErrorKind::kNotFound, "config.json: file not found (is ");
}

TEST(Package, EosTokenIdMayBeAnIntAndFallsBackToConfig) {
  TempDir tmp;
  auto dir = CopyPackage("text-q4", tmp);
  WriteFile(dir / "generation_config.json", R"({"eos_token_id": 106, "bos_token_id": 2})");
  EXPECT_EQ(OpenPackage(dir).generation.eos_token_ids, (std::vector<int32_t>{106}));
  fs::remove(dir / "generation_config.json");
  // config.json of the generated package carries its own eos_token_id.
  const auto gen = OpenPackage(dir).generation;
  EXPECT_FALSE(gen.eos_token_ids.empty());
  EXPECT_TRUE(gen.sampling.is_null() || gen.sampling.empty());
}

TEST(Package, GraphFileNamesFollowTheExport) {
  EXPECT_EQ(GraphFileNames("q4"), (std::pair<std::string, std::string>{"embed_tokens_q4.onnx", "decoder_model_merged_q4.onnx"}));
  EXPECT_EQ(GraphFileNames("fp32"), (std::pair<std::string, std::string>{"embed_tokens.onnx", "decoder_model_merged.onnx"}));
}

}  // namespace
}  // namespace gemma4
