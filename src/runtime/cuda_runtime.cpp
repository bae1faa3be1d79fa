// dlopen of libcudart: the library ONNX Runtime's CUDA provider already mapped when the decoder
// runs on CUDA (RTLD_NOLOAD finds it), else the first one the loader finds.
#include "runtime/cuda_runtime.h"

#include <dlfcn.h>

#include <mutex>

#include "gemma4/error.h"

namespace gemma4 {
namespace {

// cudaMemcpyKind's cudaMemcpyDefault: the direction from the pointers (unified virtual addressing,
// every 64-bit CUDA platform).
constexpr int kCudaMemcpyDefault = 4;

}  // namespace

const char* const* CudaRuntime::LibraryNames() {
  static const char* const kNames[] = {"libcudart.so.12", "libcudart.so.13", "libcudart.so.11.0", "libcudart.so",
                                       nullptr};
  return kNames;
}

const CudaRuntime& CudaRuntime::Get() {
  static std::once_flag once;
  static CudaRuntime runtime;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    for (const char* const* name = LibraryNames(); *name; ++name) {
      void* lib = ::dlopen(*name, RTLD_NOW | RTLD_NOLOAD);
      if (!lib) lib = ::dlopen(*name, RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        tried += std::string(tried.empty() ? "" : ", ") + *name;
        continue;
      }
      runtime.memcpy_ = reinterpret_cast<MemcpyFn>(::dlsym(lib, "cudaMemcpy"));
      runtime.error_string_ = reinterpret_cast<ErrorStringFn>(::dlsym(lib, "cudaGetErrorString"));
      if (!runtime.memcpy_ || !runtime.error_string_) {
        failure = std::string(*name) + " has no cudaMemcpy/cudaGetErrorString";
        return;
      }
      runtime.library_ = *name;
      return;
    }
    failure = "no CUDA runtime library could be opened (tried " + tried +
              "); the CUDA build of ONNX Runtime needs it on the loader's path (LD_LIBRARY_PATH)";
  });
  if (!failure.empty()) throw Error(ErrorKind::kUnsupported, "device 'cuda': " + failure);
  return runtime;
}

void CudaRuntime::Copy(void* dst, const void* src, size_t bytes) const {
  if (bytes == 0) return;
  const int rc = memcpy_(dst, src, bytes, kCudaMemcpyDefault);
  if (rc != 0) {
    throw Error(ErrorKind::kRuntime, "cudaMemcpy of " + std::to_string(bytes) + " bytes failed: " + error_string_(rc));
  }
}

}  // namespace gemma4
