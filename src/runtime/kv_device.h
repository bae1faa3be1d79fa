// Where the KV caches and the split's boundary tensors live: the one seam between the CPU path and
// a device path (CUDA). A KvDevice allocates, copies and frees cache memory and names it to ONNX
// Runtime (memory_info(), which the step binds its cache views and boundary outputs with); a
// KvBuffer is one growable block on it.
//
// On the host a block is an anonymous mapping (HostBuffer) that grows by remapping and moves with
// memmove. Elsewhere a block grows by allocate-copy-free through the session's allocator, and a
// move inside a block goes in pieces that do not overlap (cudaMemcpy leaves overlapping copies
// undefined). The same allocator-and-copy path runs on the CPU too (AllocatorKvDevice over the CPU
// allocator and memcpy), which is how the tests cover everything but the CUDA calls themselves.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "runtime/host_buffer.h"
#include "runtime/ort.h"

namespace gemma4 {

class KvDevice {
 public:
  virtual ~KvDevice() = default;
  // "cpu (anonymous mappings)", "cuda:0 (ONNX Runtime's CUDA allocator)": for `gemma4 info`.
  virtual std::string description() const = 0;
  virtual const Ort::MemoryInfo& memory_info() const = 0;
  // Host mappings: KvBuffer keeps a HostBuffer and never calls the three below.
  virtual bool host_mapped() const { return false; }
  // Throws std::bad_alloc when the memory is not there.
  virtual void* Allocate(size_t bytes) const = 0;
  virtual void Free(void* block) const = 0;
  // Copies between two blocks of this device, or within one, where the ranges do not overlap.
  virtual void Copy(void* dst, const void* src, size_t bytes) const = 0;
};

// Host memory: what the CPU path has always used.
class HostKvDevice final : public KvDevice {
 public:
  HostKvDevice();
  std::string description() const override { return "cpu (anonymous mappings, grown by remapping)"; }
  const Ort::MemoryInfo& memory_info() const override { return memory_; }
  bool host_mapped() const override { return true; }
  void* Allocate(size_t) const override;
  void Free(void*) const override {}
  void Copy(void* dst, const void* src, size_t bytes) const override;

 private:
  Ort::MemoryInfo memory_;
};

// Memory from an ONNX Runtime allocator, copied with `copy`: the CUDA path (the decoder session's
// CUDA allocator, cudaMemcpy), and the CPU allocator with memcpy for the tests of that path.
class AllocatorKvDevice final : public KvDevice {
 public:
  using CopyFn = std::function<void(void* dst, const void* src, size_t bytes)>;
  // `allocator` must outlive this device (a session's allocator: the session must too).
  AllocatorKvDevice(std::string description, Ort::MemoryInfo memory, OrtAllocator* allocator, CopyFn copy);
  std::string description() const override { return description_; }
  const Ort::MemoryInfo& memory_info() const override { return memory_; }
  void* Allocate(size_t bytes) const override;
  void Free(void* block) const override;
  void Copy(void* dst, const void* src, size_t bytes) const override { copy_(dst, src, bytes); }

 private:
  std::string description_;
  Ort::MemoryInfo memory_;
  OrtAllocator* allocator_;
  CopyFn copy_;
};

// The caches' device for a decoder on `device` ("cpu", "cuda"), allocating through `session`'s
// allocator for that device. Throws Error(kUnsupported) when the CUDA runtime cannot be reached.
struct KvDeviceHandle {
  std::unique_ptr<Ort::Allocator> allocator;  // null on the host
  std::unique_ptr<KvDevice> device;
};
KvDeviceHandle MakeKvDevice(const std::string& device, const Ort::Session& session);

// One growable block of cache memory on a KvDevice. Move-only.
class KvBuffer {
 public:
  KvBuffer() = default;
  explicit KvBuffer(const KvDevice* device) : device_(device) {}
  ~KvBuffer() { Release(); }
  KvBuffer(KvBuffer&& o) noexcept { *this = std::move(o); }
  KvBuffer& operator=(KvBuffer&& o) noexcept;
  KvBuffer(const KvBuffer&) = delete;
  KvBuffer& operator=(const KvBuffer&) = delete;

  // At least `bytes` long, the contents kept; the address may change.
  void Grow(size_t bytes);
  void* data() { return host() ? host_.data() : block_; }
  size_t size() const { return host() ? host_.size() : size_; }
  // Moves `bytes` from offset `from` down to offset `to` (< from); the ranges may overlap.
  void MoveDown(size_t to, size_t from, size_t bytes);
  // Makes this at least `bytes` long and copies the first `bytes` of `src` (another block of the
  // same device) into it.
  void CopyFrom(const KvBuffer& src, size_t bytes);

 private:
  bool host() const { return device_ == nullptr || device_->host_mapped(); }
  void Release();
  const KvDevice* device_ = nullptr;
  HostBuffer host_;
  void* block_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gemma4
