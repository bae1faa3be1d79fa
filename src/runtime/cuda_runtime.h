// The few CUDA runtime calls the device path needs (copies between cache blocks and the host),
// taken from the libcudart that ONNX Runtime's CUDA provider loads, at run time: gemma4 builds
// without CUDA headers or libraries, and a CPU-only machine never touches them.
#pragma once

#include <cstddef>
#include <string>

namespace gemma4 {

class CudaRuntime {
 public:
  // The process's CUDA runtime, opened on first use. Throws Error(kUnsupported) naming the
  // libraries tried when none can be opened or one lacks the calls.
  static const CudaRuntime& Get();
  // The library names tried, in order.
  static const char* const* LibraryNames();

  // cudaMemcpy with cudaMemcpyDefault (unified addressing picks the direction); synchronous.
  // Throws Error(kRuntime) with CUDA's message.
  void Copy(void* dst, const void* src, size_t bytes) const;
  const std::string& library() const { return library_; }

 private:
  CudaRuntime() = default;
  using MemcpyFn = int (*)(void*, const void*, size_t, int);
  using ErrorStringFn = const char* (*)(int);
  MemcpyFn memcpy_ = nullptr;
  ErrorStringFn error_string_ = nullptr;
  std::string library_;
};

}  // namespace gemma4
