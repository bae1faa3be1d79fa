// The device seam of the KV caches (kv_device.h): the allocate-copy-free path a CUDA decoder takes,
// run here over the CPU allocator with a copy that refuses overlapping ranges as cudaMemcpy's
// contract does. Steps, rewinds, clones, window evictions and a failed step must give exactly what
// the host mappings give; and without a CUDA runtime the device is refused with a clear error.
#include "runtime/kv_device.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstring>
#include <numeric>

#include "gemma4/describe.h"
#include "gemma4/error.h"
#include "gemma4/runtime.h"
#include "runtime/cuda_runtime.h"
#include "runtime/discovered_io.h"
#include "runtime/kv_state.h"
#include "runtime/runtime_fixture.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyLogits;
using testing::Load;
using testing::Loaded;
using testing::Prompt;

// The CPU allocator behind the device path, counting what it does; its copy throws where
// cudaMemcpy would be undefined.
struct CountingDevice {
  bool api_loaded = (GetOrtInfo(), true);  // the Ort:: calls below need the API table
  size_t copies = 0;
  Ort::AllocatorWithDefaultOptions cpu;
  AllocatorKvDevice device{"test (CPU allocator, device path)", Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault),
                           static_cast<OrtAllocator*>(cpu), [this](void* dst, const void* src, size_t bytes) {
                             auto* d = static_cast<const uint8_t*>(dst);
                             auto* s = static_cast<const uint8_t*>(src);
                             if (d < s + bytes && s < d + bytes) throw std::logic_error("overlapping device copy");
                             std::memcpy(dst, src, bytes);
                             ++copies;
                           }};
};

std::vector<uint8_t> Bytes(KvBuffer& b, size_t n) {
  const auto* p = static_cast<const uint8_t*>(b.data());
  return {p, p + n};
}

TEST(KvBufferOnADevice, GrowingKeepsTheContentsAndMovesDownLikeMemmove) {
  CountingDevice d;
  KvBuffer b(&d.device);
  b.Grow(1000);
  std::vector<uint8_t> pattern(1000);
  std::iota(pattern.begin(), pattern.end(), uint8_t{7});
  std::memcpy(b.data(), pattern.data(), pattern.size());
  b.Grow(5000);
  EXPECT_EQ(b.size(), 5000u);
  EXPECT_EQ(Bytes(b, 1000), pattern);
  EXPECT_EQ(d.copies, 1u);  // growth is one copy of what was there

  // Overlapping moves of several distances, checked against memmove on a host copy.
  for (size_t distance : {1u, 3u, 64u, 999u}) {
    std::vector<uint8_t> expected = Bytes(b, 5000);
    std::memmove(expected.data() + 100, expected.data() + 100 + distance, 2000);
    b.MoveDown(100, 100 + distance, 2000);
    EXPECT_EQ(Bytes(b, 5000), expected) << "distance " << distance;
  }
  EXPECT_GEMMA4_ERROR(b.MoveDown(200, 100, 10), ErrorKind::kRuntime, "destination above the source");

  KvBuffer copy(&d.device);
  copy.CopyFrom(b, 3000);
  EXPECT_EQ(Bytes(copy, 3000), Bytes(b, 3000));
  KvBuffer moved = std::move(copy);
  EXPECT_EQ(Bytes(moved, 3000), Bytes(b, 3000));
  EXPECT_EQ(copy.size(), 0u);
}

// A state whose caches take the device path, stepped through the real runtime.
std::unique_ptr<KvStateImpl> DeviceState(const Runtime& runtime, const KvDevice& device, size_t margin = 0) {
  return std::make_unique<KvStateImpl>(DecoderIoOf(runtime), device, runtime.max_context(), false, margin);
}

// One conversation on a host state and a device-path state: prompt, single steps, draft-sized
// steps, rewinds, a clone; the logits must be the same bits (the same bytes are in the caches).
void ExpectSameAsHost(const Runtime& runtime, size_t length, const KvDevice& device) {
  const int32_t vocab = static_cast<int32_t>(runtime.vocab_size());
  const auto ids = Prompt(length, vocab, 13);
  auto host = runtime.NewState();
  auto dev = DeviceState(runtime, device);
  size_t done = 0, step = 0;
  const size_t sizes[] = {17, 1, 1, 4, 1, 6, 1, 3};
  while (done < ids.size()) {
    const size_t n = std::min(sizes[step++ % std::size(sizes)], ids.size() - done);
    const auto want = CopyLogits(runtime.Forward(*host, std::span(ids).subspan(done, n), 1));
    ASSERT_EQ(want, CopyLogits(runtime.Forward(*dev, std::span(ids).subspan(done, n), 1)))
        << "step " << step << " at position " << done;
    done += n;
    if (step % 4 == 0 && done > 6) {
      host->Truncate(done - 3);
      dev->Truncate(done - 3);
      done -= 3;
    }
  }
  EXPECT_EQ(dev->tokens(), ids);
  // A clone continues like the original.
  auto clone = dev->Clone();
  const int32_t next[] = {ids[5]};
  const auto want = CopyLogits(runtime.Forward(*host, next, 1));
  EXPECT_EQ(want, CopyLogits(runtime.Forward(*clone, next, 1)));
  EXPECT_EQ(want, CopyLogits(runtime.Forward(*dev, next, 1)));
}

TEST(KvDevicePath, InPlaceCachesGiveTheHostsLogits) {
  CountingDevice d;
  Loaded l = Load("gqa");
  ASSERT_TRUE(DecoderIoOf(*l.runtime).kv_layers[0].in_place);
  ExpectSameAsHost(*l.runtime, 150, d.device);  // grows past 64 and 128 positions
  EXPECT_GT(d.copies, 0u);
}

TEST(KvDevicePath, CopyingCachesWithSeveralHeadsGiveTheHostsLogits) {
  // kv-shared-alt: 2 KV heads updated by copy, so rewinds move each head's prefix down.
  CountingDevice d;
  Loaded l = Load("kv-shared-alt");
  ASSERT_EQ(DecoderIoOf(*l.runtime).kv_layers[0].num_heads, 2);
  ASSERT_FALSE(DecoderIoOf(*l.runtime).kv_layers[0].in_place);
  ExpectSameAsHost(*l.runtime, 90, d.device);
}

TEST(KvDevicePath, TrimmedWindowsEvictOnTheDeviceAsOnTheHost) {
  CountingDevice d;
  RuntimeOptions options;
  options.kv_window = true;
  Loaded l = Load("gqa", "q4", options);
  bool trimmed = false;
  for (const auto& layer : DecoderIoOf(*l.runtime).kv_layers) trimmed |= layer.window > 0;
  ASSERT_TRUE(trimmed) << DecoderIoOf(*l.runtime).window_note;
  const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
  // 700 single steps: the window of 8 slides and evicts (every 256 positions at most) twice.
  const auto ids = Prompt(700, vocab, 21);
  auto host = l.runtime->NewState();
  auto dev = DeviceState(*l.runtime, d.device);
  l.runtime->Forward(*host, std::span(ids).first(20), 1);
  l.runtime->Forward(*dev, std::span(ids).first(20), 1);
  for (size_t i = 20; i < ids.size(); ++i) {
    const auto want = CopyLogits(l.runtime->Forward(*host, std::span(ids).subspan(i, 1), 1));
    ASSERT_EQ(want, CopyLogits(l.runtime->Forward(*dev, std::span(ids).subspan(i, 1), 1))) << "position " << i;
  }
  EXPECT_GT(dev->window_offset(), 0u);
  EXPECT_EQ(dev->window_offset(), static_cast<KvStateImpl&>(*host).window_offset());
}

TEST(KvDevicePath, AFailedStepLeavesTheDeviceCachesUsable) {
  CountingDevice d;
  Loaded l = Load("broken-present");
  const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
  const auto ids = Prompt(12, vocab, 4);
  auto dev = DeviceState(*l.runtime, d.device);
  auto host = l.runtime->NewState();
  l.runtime->Forward(*dev, std::span(ids).first(4), 1);
  l.runtime->Forward(*host, std::span(ids).first(4), 1);
  EXPECT_GEMMA4_ERROR(l.runtime->Forward(*dev, std::span(ids).subspan(4, 6), 1), ErrorKind::kRuntime,
                      "decoder_model_merged_q4.onnx");
  EXPECT_EQ(dev->length(), 4u);
  EXPECT_EQ(CopyLogits(l.runtime->Forward(*host, std::span(ids).subspan(4, 2), 1)),
            CopyLogits(l.runtime->Forward(*dev, std::span(ids).subspan(4, 2), 1)));
}

TEST(KvDevicePath, TheRuntimeSaysWhereItsCachesLive) {
  Loaded l = Load("gqa");
  EXPECT_NE(l.runtime->kv_memory().find("cpu"), std::string::npos) << l.runtime->kv_memory();
  const auto j = DescribeModel(l.package, l.runtime.get(), 100);
  EXPECT_EQ(j["memory"]["decoder"]["kv_memory"], l.runtime->kv_memory());
}

TEST(CudaRuntime, OpensTheLibraryOrNamesWhatItTried) {
  bool present = false;
  for (const char* const* name = CudaRuntime::LibraryNames(); *name; ++name) {
    if (void* lib = ::dlopen(*name, RTLD_NOW | RTLD_LOCAL)) {
      ::dlclose(lib);
      present = true;
    }
  }
  if (!present) {
    EXPECT_GEMMA4_ERROR(CudaRuntime::Get(), ErrorKind::kUnsupported, "libcudart.so.12");
    // The same answer every time (the library is looked up once).
    EXPECT_GEMMA4_ERROR(CudaRuntime::Get(), ErrorKind::kUnsupported, "LD_LIBRARY_PATH");
    return;
  }
  // A CUDA runtime is installed (with or without a GPU): a host-to-host copy by cudaMemcpyDefault
  // either copies (a GPU and its driver are there) or comes back as an Error carrying CUDA's
  // message (no device, no driver): never a crash.
  const CudaRuntime& cuda = CudaRuntime::Get();
  EXPECT_NE(cuda.library().find("libcudart"), std::string::npos);
  std::vector<uint8_t> from(64, 5), to(64, 0);
  try {
    cuda.Copy(to.data(), from.data(), from.size());
    EXPECT_EQ(to, from);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kRuntime) << e.what();
    EXPECT_NE(std::string(e.what()).find("cudaMemcpy of 64 bytes failed: "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
