// The custom operator around MatMulInt4: shapes checked against the attributes, activations
// quantized per row, columns split over ONNX Runtime's intra-op pool.
#include "kernels/int4_matmul_op.h"

#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/int4_matmul.h"
#include "kernels/op_domain.h"

namespace gemma4::kernels {

namespace {

[[noreturn]] void Fail(const std::string& message) { throw Ort::Exception(message.c_str(), ORT_INVALID_ARGUMENT); }

size_t Elements(const Ort::ConstValue& v) { return v.GetTensorTypeAndShapeInfo().GetElementCount(); }

// Columns per task: enough work per task to hide the pool's overhead, enough tasks to balance.
constexpr size_t kColumnsPerTask = 64;

struct Int4MatMulKernel {
  Int4MatMulKernel(const OrtKernelInfo* info, bool half, Isa isa) : half_(half), isa_(isa) {
    Ort::ConstKernelInfo ki(info);
    const int64_t k = ki.GetAttribute<int64_t>("K");
    const int64_t n = ki.GetAttribute<int64_t>("N");
    if (k <= 0 || n <= 0) Fail("Int4MatMul: attributes K and N must be positive");
    k_ = static_cast<size_t>(k);
    n_ = static_cast<size_t>(n);
  }

  // Errors go back to ONNX Runtime as a status: no exception crosses its C boundary.
  OrtStatusPtr ComputeV2(OrtKernelContext* context) {
    try {
      Compute(context);
      return nullptr;
    } catch (const std::exception& e) {
      return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
    }
  }

  void Compute(OrtKernelContext* context) {
    Ort::KernelContext ctx(context);
    const Ort::ConstValue a = ctx.GetInput(0);
    const Ort::ConstValue b = ctx.GetInput(1);
    const Ort::ConstValue scales = ctx.GetInput(2);
    const Ort::ConstValue zero_points = ctx.GetInputCount() > 3 ? ctx.GetInput(3) : Ort::ConstValue{nullptr};
    std::vector<int64_t> shape = a.GetTensorTypeAndShapeInfo().GetShape();
    if (shape.empty() || shape.back() != static_cast<int64_t>(k_)) {
      Fail("Int4MatMul: input A's last dimension must be K = " + std::to_string(k_));
    }
    const size_t blocks = (k_ + kBlockSize - 1) / kBlockSize;
    if (Elements(b) != n_ * blocks * 16) Fail("Int4MatMul: B must hold N * ceil(K/32) * 16 bytes");
    if (Elements(scales) != n_ * blocks) Fail("Int4MatMul: scales must hold N * ceil(K/32) values");
    const bool has_zp = zero_points != nullptr;
    if (has_zp && Elements(zero_points) != n_ * ((blocks + 1) / 2)) {
      Fail("Int4MatMul: zero_points must hold N * ceil(ceil(K/32) / 2) packed bytes");
    }
    const size_t m = Elements(a) / k_;
    shape.back() = static_cast<int64_t>(n_);
    Ort::UnownedValue y = ctx.GetOutput(0, shape);
    if (m == 0) return;

    Int4Weights w;
    w.codes = b.GetTensorData<uint8_t>();
    w.scales = scales.GetTensorRawData();
    w.scales_are_half = half_;
    w.zero_points = has_zp ? zero_points.GetTensorData<uint8_t>() : nullptr;
    w.n = n_;
    w.k = k_;

    // Scratch per thread: a kernel object serves concurrent Run calls of its session.
    thread_local QuantizedRows rows;
    thread_local std::vector<float> a_float, y_float;
    PrepareRows(m, k_, rows);
    const float* a_data = nullptr;
    if (half_) {
      a_float.resize(m * k_);
      const uint16_t* src = static_cast<const uint16_t*>(a.GetTensorRawData());
      for (size_t i = 0; i < m * k_; ++i) a_float[i] = HalfToFloat(src[i]);
      a_data = a_float.data();
    } else {
      a_data = a.GetTensorData<float>();
    }
    float* out = nullptr;
    if (half_) {
      y_float.resize(m * n_);
      out = y_float.data();
    } else {
      out = y.GetTensorMutableData<float>();
    }

    struct Job {
      const Int4MatMulKernel* self;
      const float* a;
      size_t m;
      QuantizedRows* rows;
      const Int4Weights* w;
      float* out;
    } job{this, a_data, m, &rows, &w, out};
    // Rows are quantized in parallel first (a long prefill has thousands of them), then columns.
    constexpr size_t kRowsPerTask = 16;
    const size_t row_tasks = (m + kRowsPerTask - 1) / kRowsPerTask;
    auto quantize = [](void* p, size_t task) {
      const Job& j = *static_cast<const Job*>(p);
      const size_t end = std::min(j.m, (task + 1) * kRowsPerTask);
      for (size_t r = task * kRowsPerTask; r < end; ++r) QuantizeRow(j.a + r * j.self->k_, j.self->k_, r, *j.rows);
    };
    if (row_tasks > 1) {
      ctx.ParallelFor(quantize, row_tasks, 0, &job);
    } else {
      quantize(&job, 0);
    }
    const size_t column_tasks = (n_ + kColumnsPerTask - 1) / kColumnsPerTask;
    auto columns = [](void* p, size_t task) {
      const Job& j = *static_cast<const Job*>(p);
      const size_t begin = task * kColumnsPerTask;
      const size_t end = std::min(j.self->n_, begin + kColumnsPerTask);
      MatMulInt4(j.self->isa_, *j.w, *j.rows, begin, end, j.out + begin, j.self->n_);
    };
    if (column_tasks > 1) {
      ctx.ParallelFor(columns, column_tasks, 0, &job);
    } else {
      columns(&job, 0);
    }
    if (half_) {
      uint16_t* dst = static_cast<uint16_t*>(y.GetTensorMutableRawData());
      for (size_t i = 0; i < m * n_; ++i) dst[i] = FloatToHalf(y_float[i]);
    }
  }

  bool half_;
  Isa isa_;
  size_t k_ = 0, n_ = 0;
};

struct Int4MatMulOp : Ort::CustomOpBase<Int4MatMulOp, Int4MatMulKernel, /*WithStatus=*/true> {
  Int4MatMulOp(bool half, Isa isa) : half_(half), isa_(isa) {}

  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
    try {
      *kernel = new Int4MatMulKernel(info, half_, isa_);
      return nullptr;
    } catch (const std::exception& e) {
      return api.CreateStatus(ORT_INVALID_GRAPH, e.what());
    }
  }
  const char* GetName() const { return half_ ? kOpF16 : kOpF32; }
  size_t GetInputTypeCount() const { return 4; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    if (index == 1 || index == 3) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    return half_ ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index == 3 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const {
    return half_ ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }

  bool half_;
  Isa isa_;
};

}  // namespace

void AddInt4MatMulOps(Ort::SessionOptions& options, Isa isa) { AddOpDomain<Int4MatMulOp>(options, isa, kOpDomain); }

}  // namespace gemma4::kernels
