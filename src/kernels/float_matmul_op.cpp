// The custom operator around MatMulFloat: shapes checked, columns split over ONNX Runtime's
// intra-op pool.
#include "kernels/float_matmul_op.h"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/float_matmul.h"
#include "kernels/op_domain.h"

namespace gemma4::kernels {

namespace {

[[noreturn]] void FloatOpFail(const std::string& message) { throw Ort::Exception(message.c_str(), ORT_INVALID_ARGUMENT); }

// Columns per task: a multiple of every SIMD tile width, enough work per task to hide the pool's
// overhead (a 1536-deep column is 3 KB of float16 weights), enough tasks to balance.
constexpr size_t kFloatColumnsPerTask = 1024;

struct FloatMatMulKernel {
  FloatMatMulKernel(const OrtKernelInfo* info, bool half, Isa isa) : half_(half), isa_(isa) {
    float alpha = 1.0f;
    // Absent means 1 (the C API reports a missing attribute as an error status, not a default).
    if (OrtStatus* missing = Ort::GetApi().KernelInfoGetAttribute_float(info, "alpha", &alpha)) {
      Ort::GetApi().ReleaseStatus(missing);
    } else {
      alpha_ = alpha;
    }
  }

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
    const std::vector<int64_t> b_shape = b.GetTensorTypeAndShapeInfo().GetShape();
    if (b_shape.size() != 2 || b_shape[0] <= 0 || b_shape[1] <= 0) FloatOpFail("MatMulF*Weight: B must be [K, N]");
    const size_t k = static_cast<size_t>(b_shape[0]), n = static_cast<size_t>(b_shape[1]);
    std::vector<int64_t> shape = a.GetTensorTypeAndShapeInfo().GetShape();
    if (shape.empty() || shape.back() != b_shape[0]) {
      FloatOpFail("MatMulF*Weight: input A's last dimension must be K = " + std::to_string(k));
    }
    const size_t m = a.GetTensorTypeAndShapeInfo().GetElementCount() / k;
    shape.back() = b_shape[1];
    Ort::UnownedValue y = ctx.GetOutput(0, shape);
    if (m == 0) return;

    struct Job {
      const FloatMatMulKernel* self;
      FloatWeights w;
      const float* a;
      size_t m;
      float* out;
    } job{this, {b.GetTensorRawData(), half_, k, n}, a.GetTensorData<float>(), m, y.GetTensorMutableData<float>()};
    auto columns = [](void* p, size_t task) {
      const Job& j = *static_cast<const Job*>(p);
      const size_t begin = task * kFloatColumnsPerTask;
      const size_t end = std::min(j.w.n, begin + kFloatColumnsPerTask);
      MatMulFloat(j.self->isa_, j.w, j.a, j.m, j.w.k, j.self->alpha_, begin, end, j.out + begin, j.w.n);
    };
    const size_t tasks = (n + kFloatColumnsPerTask - 1) / kFloatColumnsPerTask;
    if (tasks > 1) {
      ctx.ParallelFor(columns, tasks, 0, &job);
    } else {
      columns(&job, 0);
    }
  }

  bool half_;
  Isa isa_;
  float alpha_ = 1.0f;
};

struct FloatMatMulOp : Ort::CustomOpBase<FloatMatMulOp, FloatMatMulKernel, /*WithStatus=*/true> {
  FloatMatMulOp(bool half, Isa isa) : half_(half), isa_(isa) {}

  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
    try {
      *kernel = new FloatMatMulKernel(info, half_, isa_);
      return nullptr;
    } catch (const std::exception& e) {
      return api.CreateStatus(ORT_INVALID_GRAPH, e.what());
    }
  }
  const char* GetName() const { return half_ ? kOpF16Weight : kOpF32Weight; }
  size_t GetInputTypeCount() const { return 2; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    return index == 1 && half_ ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }

  bool half_;
  Isa isa_;
};

}  // namespace

void AddFloatMatMulOps(Ort::SessionOptions& options, Isa isa) { AddOpDomain<FloatMatMulOp>(options, isa, kFloatOpDomain); }

}  // namespace gemma4::kernels
