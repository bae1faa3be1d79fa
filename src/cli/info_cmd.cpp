// `gemma4 info`: what is inside a package, what the sessions were discovered to take, and how much
// memory each graph needs for a given context, so a user can see whether the decoder fits a GPU.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "cli/flags.h"
#include "gemma4/describe.h"
#include "gemma4/error.h"
#include "core/format.h"

namespace gemma4::cli {
namespace {

struct InfoFlags {
  ModelFlags model;
  bool json = false;
  bool no_session = false;
};

std::string Shape(const nlohmann::json& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i].is_string() ? shape[i].get<std::string>() : std::to_string(shape[i].get<int64_t>());
  }
  return s + "]";
}

void PrintTensors(const char* title, const nlohmann::json& list) {
  std::printf("    %s:\n", title);
  for (const auto& t : list) {
    std::printf("      %-32s %-8s %s\n", t["name"].get<std::string>().c_str(), t["type"].get<std::string>().c_str(),
                Shape(t["shape"]).c_str());
  }
}

void PrintText(const nlohmann::json& j) {
  if (j.contains("onnxruntime")) {
    std::printf("ONNX Runtime %s (%s)\n", j["onnxruntime"]["version"].get<std::string>().c_str(),
                j["onnxruntime"]["library"].get<std::string>().c_str());
  }
  if (j.contains("kernels")) {
    const auto& k = j["kernels"];
    if (k["matmulnbits"] == "gemma4") {
      std::printf("kernels  MatMulNBits: gemma4 int4 x int8 (%s) on %llu nodes, ONNX Runtime's on %llu; CPU: %s\n",
                  k["isa"].get<std::string>().c_str(), k["own_nodes"].get<unsigned long long>(),
                  k["ort_nodes"].get<unsigned long long>(), k["cpu_features"].get<std::string>().c_str());
    } else {
      std::printf("kernels  MatMulNBits: ONNX Runtime's (--kernels %s); CPU: %s\n", k["requested"].get<std::string>().c_str(),
                  k["cpu_features"].get<std::string>().c_str());
    }
    if (k.contains("attention")) {
      const auto& a = k["attention"];
      if (a["kernel"] == "gemma4") {
        std::printf("kernels  GroupQueryAttention: gemma4 decode attention on %llu nodes (prompts on ONNX Runtime's), "
                    "ONNX Runtime's alone on %llu\n",
                    a["own_nodes"].get<unsigned long long>(), a["ort_nodes"].get<unsigned long long>());
      } else {
        std::printf("kernels  GroupQueryAttention: ONNX Runtime's (--attention %s)\n",
                    a["requested"].get<std::string>().c_str());
      }
    }
  }
  std::printf("package  %s\n", j["path"].get<std::string>().c_str());
  std::printf("layout   %s, dtype %s (available: %s)\n", j["layout"].get<std::string>().c_str(),
              j["dtype"].get<std::string>().c_str(), j["available_dtypes"].dump().c_str());
  const auto& c = j["config"];
  std::printf("model    %s: %lld layers (%lld KV-shared), hidden %lld, heads %lld/%lld kv, head dim %lld/%lld (sliding/full), "
              "vocab %lld, sliding window %lld, max positions %lld\n",
              c["model_type"].get<std::string>().c_str(), c["num_hidden_layers"].get<long long>(),
              c["num_kv_shared_layers"].get<long long>(), c["hidden_size"].get<long long>(),
              c["num_attention_heads"].get<long long>(), c["num_key_value_heads"].get<long long>(),
              c["head_dim"].get<long long>(), c["global_head_dim"].get<long long>(), c["vocab_size"].get<long long>(),
              c["sliding_window"].get<long long>(), c["max_position_embeddings"].get<long long>());
  std::printf("eos ids  %s\n", j["generation"]["eos_token_ids"].dump().c_str());
  std::printf("files    %s, %s, chat template: %s\n", j["files"]["tokenizer_json"].get<std::string>().c_str(),
              j["files"]["tokenizer_config_json"].is_null() ? "(no tokenizer_config.json)"
                                                            : j["files"]["tokenizer_config_json"].get<std::string>().c_str(),
              j["files"]["chat_template"].is_null() ? "(none)" : j["files"]["chat_template"].get<std::string>().c_str());
  for (const char* name : {"embed", "decoder"}) {
    const auto& g = j["graphs"][name];
    std::printf("\n%s graph  %s  weights %s", name, g["file"].get<std::string>().c_str(),
                FormatBytes(g["weight_bytes"].get<uint64_t>()).c_str());
    if (g.contains("device")) std::printf("  device %s", g["device"].get<std::string>().c_str());
    std::printf("\n");
    for (const auto& f : g["external_data"]) {
      std::printf("    sidecar %s (%s)\n", f["file"].get<std::string>().c_str(), FormatBytes(f["bytes"].get<uint64_t>()).c_str());
    }
    std::string ops;
    for (const auto& op : g["op_types"]) ops += (ops.empty() ? "" : " ") + op.get<std::string>();
    std::printf("    ops: %s\n", ops.c_str());
    if (g.contains("inputs")) {
      PrintTensors("inputs", g["inputs"]);
      PrintTensors("outputs", g["outputs"]);
    }
  }
  if (!j.contains("discovery")) return;
  const auto& d = j["discovery"];
  std::printf("\ndiscovered: per_layer_inputs %s, position_ids %s, num_logits_to_keep %s, logits %s x %lld\n",
              d["per_layer_inputs"].get<bool>() ? "yes" : "no", d["position_ids"].get<bool>() ? "yes" : "no",
              d["num_logits_to_keep"].get<bool>() ? "yes" : "no", d["logits_type"].get<std::string>().c_str(),
              d["vocab_size"].get<long long>());
  std::printf("KV cache: %zu layers own a cache", d["kv_layers"].size());
  if (!d["kv_shared_layers"].is_null()) std::printf(", %lld share one", d["kv_shared_layers"].get<long long>());
  std::printf("\n");
  if (d.contains("split_prefill")) {
    std::printf("prefill: %s\n", d["split_prefill"].get<bool>()
                                      ? "decoder split after its KV outputs; all but the last prompt tokens skip the "
                                        "layers without a cache of their own and the LM head"
                                      : "every prompt token runs the whole decoder");
  }
  if (d.value("rms_norms_fused", 0) > 0) {
    std::printf("graph edits: %lld RMSNorms fused into SimplifiedLayerNormalization at load (--fuse-norms)\n",
                d["rms_norms_fused"].get<long long>());
  }
  if (j.contains("lm_head")) {
    const auto& h = j["lm_head"];
    std::printf("LM head: %s, on %s: %s\n", h["form"].get<std::string>().c_str(), h["kernel"].get<std::string>().c_str(),
                h["note"].get<std::string>().c_str());
    if (h.contains("accuracy")) {
      const auto& a = h["accuracy"];
      std::printf("    int8 vs float head over %llu positions of a fixed text: top-1 agreement %.4f, max |logit error| "
                  "%.4g (max |logit| %.4g)\n",
                  a["positions"].get<unsigned long long>(), a["top1_agreement"].get<double>(),
                  a["max_abs_logit_error"].get<double>(), a["max_abs_logit"].get<double>());
    }
  }
  if (d.contains("kv_window")) {
    const auto& w = d["kv_window"];
    if (w.value("trimmed", false)) {
      std::printf("sliding window: %lld layers keep only their window of %lld positions (%lld held with the rollback "
                  "margin of %lld and the eviction slack), however long the context\n",
                  w["layers"].get<long long>(), w["window"].get<long long>(), w["held_positions"].get<long long>(),
                  w["margin"].get<long long>());
    } else {
      std::printf("sliding window: every layer keeps the whole history: %s\n", w.value("note", "").c_str());
    }
  }
  for (const auto& l : d["kv_layers"]) {
    std::printf("    %-28s -> %-20s heads %lld, head dim %lld, %s, %s/token\n", l["past_key"].get<std::string>().c_str(),
                l["present_key"].get<std::string>().c_str(), l["num_heads"].get<long long>(), l["head_dim"].get<long long>(),
                l["type"].get<std::string>().c_str(), FormatBytes(l["bytes_per_token"].get<uint64_t>()).c_str());
    const std::string attention = l.value("attention", "");
    if (l.value("cache_update", "") == "in_place") {
      std::printf("        updated in place by %s (a step writes only its new positions)\n", attention.c_str());
    } else {
      std::printf("        updated by copy%s%s: %s\n", attention.empty() ? "" : " after ", attention.c_str(),
                  l.value("cache_note", "").c_str());
    }
    if (l.value("window", 0) > 0) std::printf("        sliding window of %lld positions\n", l["window"].get<long long>());
  }
  const auto& m = j["memory"];
  std::printf("\nmemory for %llu tokens of context (KV %s/token):\n", m["context"].get<unsigned long long>(),
              FormatBytes(m["kv_bytes_per_token"].get<uint64_t>()).c_str());
  std::printf("    embed   on %-4s  weights %s\n", m["embed"]["device"].get<std::string>().c_str(),
              FormatBytes(m["embed"]["weight_bytes"].get<uint64_t>()).c_str());
  std::printf("    decoder on %-4s  weights %s + KV cache %s + logits %s = %s\n",
              m["decoder"]["device"].get<std::string>().c_str(), FormatBytes(m["decoder"]["weight_bytes"].get<uint64_t>()).c_str(),
              FormatBytes(m["decoder"]["kv_cache_bytes"].get<uint64_t>()).c_str(),
              FormatBytes(m["decoder"]["logits_bytes"].get<uint64_t>()).c_str(),
              FormatBytes(m["decoder"]["total_bytes"].get<uint64_t>()).c_str());
  if (m["decoder"].contains("kv_buffer_bytes") &&
      m["decoder"]["kv_buffer_bytes"].get<uint64_t>() != m["decoder"]["kv_cache_bytes"].get<uint64_t>()) {
    std::printf("    KV buffers %s: layers updated by copy keep a second buffer for present.*\n",
                FormatBytes(m["decoder"]["kv_buffer_bytes"].get<uint64_t>()).c_str());
  }
  if (m["decoder"].contains("kv_memory")) {
    std::printf("    KV cache in %s\n", m["decoder"]["kv_memory"].get<std::string>().c_str());
  }
  std::printf("    (%s)\n", m["note"].get<std::string>().c_str());
  if (m.contains("device_note")) std::printf("    note: %s\n", m["device_note"].get<std::string>().c_str());
}

void Setup(CLI::App& app) {
  auto flags = std::make_shared<InfoFlags>();
  AddModelFlags(app, flags->model);
  app.add_flag("--json", flags->json, "Print one JSON object (schema: docs/INFO_JSON.md)");
  app.add_flag("--no-session", flags->no_session, "Only read the files; do not create ONNX Runtime sessions");
  app.callback([flags] {
    Package package = OpenModelPackage(flags->model);
    std::unique_ptr<Runtime> runtime;
    std::string device_note;
    if (!flags->no_session) {
      // Planning the GPU layout must work on a machine without one: discovery then runs on the
      // CPU sessions, and the plan keeps the devices asked for.
      RuntimeOptions options = flags->model.runtime;
      for (std::string* device : {&options.device, &options.embed_device}) {
        if (*device != "cuda") continue;
        try {
          CheckDeviceAvailable(*device);
        } catch (const Error& e) {
          device_note = std::string("planned for cuda, discovered on cpu: ") + e.what();
          *device = "cpu";
        }
      }
      runtime = std::make_unique<Runtime>(package, options);
    }
    nlohmann::json j = DescribeModel(package, runtime.get(), flags->model.runtime.max_context);
    if (runtime) {
      j["memory"]["decoder"]["device"] = flags->model.runtime.device;
      j["memory"]["embed"]["device"] = flags->model.runtime.embed_device;
      if (!device_note.empty()) j["memory"]["device_note"] = device_note;
    }
    if (flags->json) std::cout << j.dump() << '\n';
    else PrintText(j);
  });
}

const bool kRegistered =
    RegisterCommand({"info", "Show a package's files, configs, discovered graph I/O and memory plan", Setup});

}  // namespace
}  // namespace gemma4::cli
