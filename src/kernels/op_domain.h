// The one way our custom operators reach a session: a domain per (operator type, kernel target)
// holding the operator's float32 and float16 forms, built on first use and kept for the process.
// ONNX Runtime keeps raw pointers to the domain and its operators for as long as any session made
// with them lives, so they are never destroyed (a session may outlive static destruction order, a
// static Model somewhere).
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include <array>
#include <memory>
#include <mutex>

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

// Op must be constructible as Op(bool half, Isa isa). `domain_name` must outlive the process
// (a string literal), and be the same on every call for one Op.
template <class Op>
void AddOpDomain(Ort::SessionOptions& options, Isa isa, const char* domain_name) {
  struct Registry {
    Registry(Isa target, const char* name) : f32(false, target), f16(true, target), domain(name) {
      domain.Add(&f32);
      domain.Add(&f16);
    }
    Op f32, f16;
    Ort::CustomOpDomain domain;
  };
  static std::mutex mutex;
  static auto* registries = new std::array<std::unique_ptr<Registry>, 4>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& registry = (*registries)[static_cast<size_t>(isa)];
  if (!registry) registry = std::make_unique<Registry>(isa, domain_name);
  options.Add(registry->domain);
}

}  // namespace gemma4::kernels
