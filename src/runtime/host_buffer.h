// A runtime-owned block of host memory that tensors are bound over: an anonymous mapping, so pages a
// cache never reaches cost nothing, and growing it (mremap) moves page tables instead of copying the
// contents, so a cache that outgrows its buffer is neither copied nor held twice while it grows.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <new>
#include <utility>

namespace gemma4 {

class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(size_t bytes) { Grow(bytes); }
  ~HostBuffer() {
    if (data_) ::munmap(data_, mapped_);
  }
  HostBuffer(HostBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), mapped_(std::exchange(o.mapped_, 0)) {}
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
    return *this;
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // Makes the buffer at least `bytes` long, keeping its contents (new bytes read as zero). The
  // address may change. Throws std::bad_alloc when the kernel refuses.
  void Grow(size_t bytes) {
    if (bytes <= size_) return;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t want = (bytes + page - 1) / page * page;
    if (want > mapped_) {
      void* p = data_ ? ::mremap(data_, mapped_, want, MREMAP_MAYMOVE)
                      : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = p;
      mapped_ = want;
    }
    size_ = bytes;
  }

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0, mapped_ = 0;
};

}  // namespace gemma4
