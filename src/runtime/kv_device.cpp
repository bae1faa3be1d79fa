// The host and allocator-backed cache devices, and KvBuffer's growth and moves on either.
#include "runtime/kv_device.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "gemma4/error.h"
#include "runtime/cuda_runtime.h"

namespace gemma4 {

HostKvDevice::HostKvDevice() : memory_(Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault)) {}

void* HostKvDevice::Allocate(size_t) const {
  throw Error(ErrorKind::kRuntime, "HostKvDevice::Allocate: host caches are mappings (KvBuffer keeps a HostBuffer)");
}

void HostKvDevice::Copy(void* dst, const void* src, size_t bytes) const { std::memmove(dst, src, bytes); }

AllocatorKvDevice::AllocatorKvDevice(std::string description, Ort::MemoryInfo memory, OrtAllocator* allocator,
                                     CopyFn copy)
    : description_(std::move(description)), memory_(std::move(memory)), allocator_(allocator), copy_(std::move(copy)) {}

void* AllocatorKvDevice::Allocate(size_t bytes) const {
  void* p = allocator_->Alloc(allocator_, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void AllocatorKvDevice::Free(void* block) const {
  if (block) allocator_->Free(allocator_, block);
}

KvDeviceHandle MakeKvDevice(const std::string& device, const Ort::Session& session) {
  KvDeviceHandle handle;
  if (device != "cuda") {
    handle.device = std::make_unique<HostKvDevice>();
    return handle;
  }
  const CudaRuntime& cuda = CudaRuntime::Get();
  // Device 0: the CUDA provider's default device_id, which session_factory.cpp leaves as it is.
  Ort::MemoryInfo memory("Cuda", OrtDeviceAllocator, 0, OrtMemTypeDefault);
  handle.allocator = std::make_unique<Ort::Allocator>(session, memory);
  handle.device = std::make_unique<AllocatorKvDevice>(
      "cuda:0 (ONNX Runtime's CUDA allocator; copies through " + cuda.library() + ")", std::move(memory),
      static_cast<OrtAllocator*>(*handle.allocator),
      [&cuda](void* dst, const void* src, size_t bytes) { cuda.Copy(dst, src, bytes); });
  return handle;
}

KvBuffer& KvBuffer::operator=(KvBuffer&& o) noexcept {
  if (this == &o) return *this;
  Release();
  device_ = o.device_;
  host_ = std::move(o.host_);
  block_ = std::exchange(o.block_, nullptr);
  size_ = std::exchange(o.size_, 0);
  return *this;
}

void KvBuffer::Release() {
  if (block_) device_->Free(block_);
  block_ = nullptr;
  size_ = 0;
}

void KvBuffer::Grow(size_t bytes) {
  if (host()) return host_.Grow(bytes);
  if (bytes <= size_) return;
  void* grown = device_->Allocate(bytes);
  if (block_) {
    try {
      device_->Copy(grown, block_, size_);
    } catch (...) {
      device_->Free(grown);
      throw;
    }
    device_->Free(block_);
  }
  block_ = grown;
  size_ = bytes;
}

void KvBuffer::MoveDown(size_t to, size_t from, size_t bytes) {
  if (bytes == 0 || to == from) return;
  if (to > from) throw Error(ErrorKind::kRuntime, "KvBuffer::MoveDown: destination above the source");
  auto* base = static_cast<uint8_t*>(data());
  if (host()) {
    std::memmove(base + to, base + from, bytes);
    return;
  }
  // Front to back in pieces no longer than the distance: each piece's source lies wholly above
  // its destination, and what it overwrites has already been moved.
  const size_t piece = from - to;
  for (size_t done = 0; done < bytes; done += piece) {
    device_->Copy(base + to + done, base + from + done, std::min(piece, bytes - done));
  }
}

void KvBuffer::CopyFrom(const KvBuffer& src, size_t bytes) {
  Grow(bytes);
  if (bytes == 0) return;
  const void* from = src.host() ? src.host_.data() : src.block_;
  if (host()) {
    std::memcpy(host_.data(), from, bytes);
  } else {
    device_->Copy(block_, from, bytes);
  }
}

}  // namespace gemma4
