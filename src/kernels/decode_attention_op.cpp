// The custom operator around DecodeAttention: inputs checked against the attributes, the new
// positions written into the present caches (in place when past and present are one buffer, as
// the runtime binds them), and every call it does not take handed to ONNX Runtime's operator.
#include "kernels/decode_attention_op.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/float16.h"
#include "kernels/decode_attention.h"
#include "kernels/op_domain.h"

namespace gemma4::kernels {

namespace {

[[noreturn]] void Fail(const std::string& message) { throw Ort::Exception(message.c_str(), ORT_INVALID_ARGUMENT); }

std::vector<int64_t> Dims(const Ort::ConstValue& v) { return v.GetTensorTypeAndShapeInfo().GetShape(); }

int64_t IntAttribute(const Ort::ConstKernelInfo& info, const char* name, int64_t fallback) {
  try {
    return info.GetAttribute<int64_t>(name);
  } catch (const Ort::Exception&) {
    return fallback;
  }
}
float FloatAttribute(const Ort::ConstKernelInfo& info, const char* name, float fallback) {
  try {
    return info.GetAttribute<float>(name);
  } catch (const Ort::Exception&) {
    return fallback;
  }
}

void RunOnPool(void* runner_context, void (*task)(void*, size_t), size_t count, void* task_context) {
  auto& ctx = *static_cast<Ort::KernelContext*>(runner_context);
  if (count > 1) {
    ctx.ParallelFor(task, count, 0, task_context);
  } else if (count == 1) {
    task(task_context, 0);
  }
}

struct DecodeAttentionKernel {
  DecodeAttentionKernel(const OrtKernelInfo* info, bool half, Isa isa) : half_(half), isa_(isa) {
    Ort::ConstKernelInfo ki(info);
    heads_ = IntAttribute(ki, "num_heads", 0);
    kv_heads_ = IntAttribute(ki, "kv_num_heads", 0);
    if (heads_ <= 0 || kv_heads_ <= 0 || heads_ % kv_heads_ != 0) {
      Fail("GroupQueryAttention: num_heads and kv_num_heads must be positive, num_heads a multiple of kv_num_heads");
    }
    window_ = IntAttribute(ki, "local_window_size", -1);
    scale_ = FloatAttribute(ki, "scale", 0.0f);
    softcap_ = FloatAttribute(ki, "softcap", 0.0f);
    // ONNX Runtime's operator, for the calls this one hands over.
    const char* type_names[] = {"T", "M"};
    const ONNXTensorElementDataType types[] = {
        half ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32};
    const int64_t heads = heads_, kv_heads = kv_heads_, window = window_;
    std::vector<Ort::OpAttr> attrs;
    attrs.emplace_back("num_heads", &heads, 1, OrtOpAttrType::ORT_OP_ATTR_INT);
    attrs.emplace_back("kv_num_heads", &kv_heads, 1, OrtOpAttrType::ORT_OP_ATTR_INT);
    attrs.emplace_back("local_window_size", &window, 1, OrtOpAttrType::ORT_OP_ATTR_INT);
    attrs.emplace_back("scale", &scale_, 1, OrtOpAttrType::ORT_OP_ATTR_FLOAT);
    attrs.emplace_back("softcap", &softcap_, 1, OrtOpAttrType::ORT_OP_ATTR_FLOAT);
    ort_op_ = Ort::Op::Create(info, "GroupQueryAttention", "com.microsoft", 1, type_names, types, 2, attrs.data(),
                              attrs.size(), 7, 3);
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
    if (ctx.GetInputCount() != 7) Fail("GroupQueryAttention: expected 7 inputs");
    const Ort::ConstValue query = ctx.GetInput(0), key = ctx.GetInput(1), value = ctx.GetInput(2),
                          past_key = ctx.GetInput(3), past_value = ctx.GetInput(4), seqlens = ctx.GetInput(5),
                          total = ctx.GetInput(6);
    if (query == nullptr || key == nullptr || value == nullptr || past_key == nullptr || past_value == nullptr ||
        seqlens == nullptr || total == nullptr) {
      Fail("GroupQueryAttention: every input is required here");
    }
    const auto q_dims = Dims(query), k_dims = Dims(key), v_dims = Dims(value), pk_dims = Dims(past_key),
               pv_dims = Dims(past_value), seqlens_dims = Dims(seqlens);
    if (q_dims.size() != 3 || k_dims != v_dims || k_dims.size() != 3 || pk_dims.size() != 4 || pk_dims != pv_dims) {
      Fail("GroupQueryAttention: query, key and value must be [B, S, hidden], past_key and past_value [B, kv_heads, P, head_size]");
    }
    const int64_t batch = q_dims[0], rows = q_dims[1];
    if (q_dims[2] % heads_ != 0) Fail("GroupQueryAttention: query's hidden size is not a multiple of num_heads");
    const int64_t head_size = q_dims[2] / heads_;
    if (k_dims[0] != batch || k_dims[1] != rows || k_dims[2] != kv_heads_ * head_size || pk_dims[0] != batch ||
        pk_dims[1] != kv_heads_ || pk_dims[3] != head_size) {
      Fail("GroupQueryAttention: key, value and the past caches do not match the query's shape and the attributes");
    }
    if (seqlens_dims.size() != 1 || seqlens_dims[0] != batch || total.GetTensorTypeAndShapeInfo().GetElementCount() != 1) {
      Fail("GroupQueryAttention: seqlens_k must be [B] and total_sequence_length one value");
    }
    const int64_t past_len = pk_dims[2];
    const int64_t total_len = total.GetTensorData<int32_t>()[0];
    const int64_t present_len = std::max(total_len, past_len);
    const int32_t* lengths = seqlens.GetTensorData<int32_t>();

    // Ours: a few rows after a past (not a prompt, whose total is its own length), every row's
    // length inside the present buffer, and one batch row when there are several new positions
    // (what ONNX Runtime's operator allows too).
    bool own = rows >= 1 && rows <= static_cast<int64_t>(kMaxOwnAttentionRows) && rows != total_len &&
               (batch == 1 || rows == 1);
    for (int64_t b = 0; own && b < batch; ++b) {
      const int64_t length = int64_t{lengths[b]} + 1;
      own = length >= rows && length <= present_len && length - rows <= past_len;
    }
    Ort::UnownedValue out = ctx.GetOutput(0, q_dims);
    const std::vector<int64_t> present_dims = {batch, kv_heads_, present_len, head_size};
    Ort::UnownedValue present_key = ctx.GetOutput(1, present_dims), present_value = ctx.GetOutput(2, present_dims);
    if (!own) {
      const OrtValue* inputs[7] = {query, key, value, past_key, past_value, seqlens, total};
      OrtValue* outputs[3] = {out, present_key, present_value};
      ort_op_.Invoke(context, inputs, 7, outputs, 3);
      return;
    }

    const size_t elem = half_ ? 2 : 4, hd = static_cast<size_t>(head_size), kvh = static_cast<size_t>(kv_heads_);
    const size_t row_bytes = hd * elem;
    uint8_t* pk = static_cast<uint8_t*>(present_key.GetTensorMutableRawData());
    uint8_t* pv = static_cast<uint8_t*>(present_value.GetTensorMutableRawData());
    const uint8_t* past_k = static_cast<const uint8_t*>(past_key.GetTensorRawData());
    const uint8_t* past_v = static_cast<const uint8_t*>(past_value.GetTensorRawData());
    const bool shared = pk == past_k && pv == past_v;
    const uint8_t* new_k = static_cast<const uint8_t*>(key.GetTensorRawData());
    const uint8_t* new_v = static_cast<const uint8_t*>(value.GetTensorRawData());
    for (int64_t b = 0; b < batch; ++b) {
      const size_t past = static_cast<size_t>(lengths[b]) + 1 - static_cast<size_t>(rows);
      for (size_t g = 0; g < kvh; ++g) {
        const size_t present_at = (static_cast<size_t>(b) * kvh + g) * static_cast<size_t>(present_len);
        if (!shared) {
          // As ONNX Runtime does: a zeroed present holding the past's rows, then the new ones.
          const size_t past_at = (static_cast<size_t>(b) * kvh + g) * static_cast<size_t>(past_len);
          std::memset(pk + present_at * row_bytes, 0, static_cast<size_t>(present_len) * row_bytes);
          std::memset(pv + present_at * row_bytes, 0, static_cast<size_t>(present_len) * row_bytes);
          std::memcpy(pk + present_at * row_bytes, past_k + past_at * row_bytes, past * row_bytes);
          std::memcpy(pv + present_at * row_bytes, past_v + past_at * row_bytes, past * row_bytes);
        }
        for (size_t s = 0; s < static_cast<size_t>(rows); ++s) {
          const size_t from = ((static_cast<size_t>(b) * rows + s) * kvh + g) * row_bytes;
          std::memcpy(pk + (present_at + past + s) * row_bytes, new_k + from, row_bytes);
          std::memcpy(pv + (present_at + past + s) * row_bytes, new_v + from, row_bytes);
        }
      }
    }

    AttentionShape shape;
    shape.heads = static_cast<size_t>(heads_);
    shape.kv_heads = kvh;
    shape.head_size = hd;
    shape.rows = static_cast<size_t>(rows);
    shape.capacity = static_cast<size_t>(present_len);
    shape.window = window_;
    shape.scale = scale_ == 0.0f ? 1.0f / std::sqrt(static_cast<float>(head_size)) : scale_;
    shape.softcap = softcap_;
    const size_t q_row = static_cast<size_t>(rows) * shape.heads * hd;
    // Scratch per thread: a kernel object serves concurrent Run calls of its session.
    thread_local AttentionScratch scratch;
    thread_local std::vector<float> q_float, out_float;
    if (half_) {
      q_float.resize(q_row);
      out_float.resize(q_row);
    }
    for (int64_t b = 0; b < batch; ++b) {
      shape.past = static_cast<size_t>(lengths[b]) + 1 - shape.rows;
      AttentionOperands operands;
      operands.cache_is_half = half_;
      operands.k = pk + static_cast<size_t>(b) * kvh * static_cast<size_t>(present_len) * row_bytes;
      operands.v = pv + static_cast<size_t>(b) * kvh * static_cast<size_t>(present_len) * row_bytes;
      if (half_) {
        const uint16_t* src = static_cast<const uint16_t*>(query.GetTensorRawData()) + static_cast<size_t>(b) * q_row;
        for (size_t i = 0; i < q_row; ++i) q_float[i] = HalfToFloat(src[i]);
        operands.q = q_float.data();
        operands.out = out_float.data();
      } else {
        operands.q = query.GetTensorData<float>() + static_cast<size_t>(b) * q_row;
        operands.out = out.GetTensorMutableData<float>() + static_cast<size_t>(b) * q_row;
      }
      DecodeAttention(isa_, shape, operands, scratch, RunOnPool, &ctx);
      if (half_) {
        uint16_t* dst = static_cast<uint16_t*>(out.GetTensorMutableRawData()) + static_cast<size_t>(b) * q_row;
        for (size_t i = 0; i < q_row; ++i) dst[i] = FloatToHalf(out_float[i]);
      }
    }
  }

  bool half_;
  Isa isa_;
  int64_t heads_ = 0, kv_heads_ = 0, window_ = -1;
  float scale_ = 0.0f, softcap_ = 0.0f;
  Ort::Op ort_op_{nullptr};
};

struct DecodeAttentionOp : Ort::CustomOpBase<DecodeAttentionOp, DecodeAttentionKernel, /*WithStatus=*/true> {
  DecodeAttentionOp(bool half, Isa isa) : half_(half), isa_(isa) {}

  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
    try {
      *kernel = new DecodeAttentionKernel(info, half_, isa_);
      return nullptr;
    } catch (const std::exception& e) {
      return api.CreateStatus(ORT_INVALID_GRAPH, e.what());
    }
  }
  const char* GetName() const { return half_ ? kAttentionOpF16 : kAttentionOpF32; }
  size_t GetInputTypeCount() const { return 7; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    if (index >= 5) return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    return half_ ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  size_t GetOutputTypeCount() const { return 3; }
  ONNXTensorElementDataType GetOutputType(size_t) const {
    return half_ ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }

  bool half_;
  Isa isa_;
};

}  // namespace

void AddDecodeAttentionOps(Ort::SessionOptions& options, Isa isa) {
  AddOpDomain<DecodeAttentionOp>(options, isa, kAttentionOpDomain);
}

}  // namespace gemma4::kernels
