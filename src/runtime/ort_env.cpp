// Loading the ONNX Runtime API table, reporting which library we got, and the shared Ort::Env.
#include <dlfcn.h>

#include <mutex>

#include "gemma4/error.h"
#include "gemma4/log.h"
#include "runtime/ort.h"

namespace gemma4 {
namespace {

std::string LibraryPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&OrtGetApiBase), &info) != 0 && info.dli_fname) return info.dli_fname;
  return "(unknown path)";
}

OrtInfo LoadOrt() {
  OrtInfo info;
  const OrtApiBase* base = OrtGetApiBase();
  info.version = base->GetVersionString();
  info.library_path = LibraryPath();
  info.api_version = ORT_API_VERSION;
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  if (!api) {
    throw Error(ErrorKind::kRuntime, "ONNX Runtime " + info.version + " at " + info.library_path +
                                         " does not provide C API version " + std::to_string(ORT_API_VERSION) +
                                         " (needs ONNX Runtime 1." + std::to_string(ORT_API_VERSION) +
                                         " or newer); run scripts/bootstrap.sh or set ONNXRUNTIME_ROOT");
  }
  Ort::InitApi(api);
  info.providers = Ort::GetAvailableProviders();
  return info;
}

}  // namespace

const OrtInfo& GetOrtInfo() {
  static std::once_flag once;
  static OrtInfo info;
  static std::string failure;
  std::call_once(once, [] {
    try {
      info = LoadOrt();
      Log(LogLevel::kDebug, "ONNX Runtime " + info.version + " loaded from " + info.library_path);
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw Error(ErrorKind::kRuntime, failure);
  return info;
}

namespace {
int global_pool_threads = 0;
}

Ort::Env& OrtEnv(int intra_op_threads) {
  GetOrtInfo();
  static Ort::Env env = [&] {
    global_pool_threads = intra_op_threads;
    Ort::ThreadingOptions threading;
    threading.SetGlobalIntraOpNumThreads(intra_op_threads);
    threading.SetGlobalInterOpNumThreads(1);
    // ONNX Runtime's own messages go to our log sink at debug level (shown with -v); every error
    // that matters reaches the caller as an exception with context instead.
    ::OrtEnv* raw = nullptr;
    Ort::ThrowOnError(Ort::GetApi().CreateEnvWithCustomLoggerAndGlobalThreadPools(
        [](void*, OrtLoggingLevel, const char*, const char*, const char* code_location, const char* message) {
          Log(LogLevel::kDebug, std::string("onnxruntime: ") + message + " (" + code_location + ")");
        },
        nullptr, ORT_LOGGING_LEVEL_WARNING, "gemma4", threading, &raw));
    return Ort::Env(raw);
  }();
  return env;
}

int GlobalPoolThreads() { return global_pool_threads; }

TensorType ToTensorType(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return TensorType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return TensorType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return TensorType::kBFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return TensorType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return TensorType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return TensorType::kBool;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return TensorType::kUint8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return TensorType::kInt8;
    default: return TensorType::kOther;
  }
}

ONNXTensorElementDataType ToOrtType(TensorType type) {
  switch (type) {
    case TensorType::kFloat32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case TensorType::kFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case TensorType::kBFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    case TensorType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case TensorType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case TensorType::kBool: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    case TensorType::kUint8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case TensorType::kInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  }
}

std::string_view TensorTypeName(TensorType type) {
  switch (type) {
    case TensorType::kFloat32: return "float32";
    case TensorType::kFloat16: return "float16";
    case TensorType::kBFloat16: return "bfloat16";
    case TensorType::kInt64: return "int64";
    case TensorType::kInt32: return "int32";
    case TensorType::kBool: return "bool";
    case TensorType::kUint8: return "uint8";
    case TensorType::kInt8: return "int8";
    default: return "other";
  }
}

size_t TensorTypeSize(TensorType type) {
  switch (type) {
    case TensorType::kFloat32: case TensorType::kInt32: return 4;
    case TensorType::kFloat16: case TensorType::kBFloat16: return 2;
    case TensorType::kInt64: return 8;
    case TensorType::kBool: case TensorType::kUint8: case TensorType::kInt8: return 1;
    default: return 0;
  }
}

}  // namespace gemma4
