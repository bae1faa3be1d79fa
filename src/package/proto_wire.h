// The protobuf wire format, read in place: a bounds-checked Reader over one length-delimited
// message, a read-only file mapping to run it over, and the few writers an edited copy needs.
// Shared by the ONNX summary (onnx_proto.cpp) and the graph pruning (onnx_prune.cpp).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gemma4/error.h"

namespace gemma4::onnx::wire {

// A read-only mapping of a whole file; unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorKind::kNotFound, path.string() + ": cannot open (missing file?)");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw Error(ErrorKind::kRuntime, path.string() + ": cannot stat");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      ::close(fd);
      if (p == MAP_FAILED) throw Error(ErrorKind::kRuntime, path.string() + ": cannot map into memory");
      data_ = static_cast<const uint8_t*>(p);
    } else {
      ::close(fd);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Thrown inside the walk; converted to gemma4::Error with the file name at the top.
struct WireError {
  size_t offset;
  std::string what;
};

// A view of one length-delimited message; `base` is its offset in the file for error messages.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  const uint8_t* file_begin;

  bool done() const { return p >= end; }
  size_t offset() const { return static_cast<size_t>(p - file_begin); }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) throw WireError{offset(), "truncated varint"};
      uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw WireError{offset(), "varint longer than 10 bytes"};
  }

  // Reads a tag; returns false at the end of the message.
  bool Tag(uint32_t& field, uint32_t& wire) {
    if (done()) return false;
    uint64_t tag = Varint();
    field = static_cast<uint32_t>(tag >> 3);
    wire = static_cast<uint32_t>(tag & 7);
    if (field == 0) throw WireError{offset(), "field number 0"};
    return true;
  }

  Reader Sub() {
    uint64_t len = Varint();
    if (len > static_cast<uint64_t>(end - p)) {
      throw WireError{offset(), "length " + std::to_string(len) + " runs past the end of the data (truncated file?)"};
    }
    Reader r{p, p + len, file_begin};
    p += len;
    return r;
  }

  std::string_view Bytes() {
    Reader r = Sub();
    return {reinterpret_cast<const char*>(r.p), static_cast<size_t>(r.end - r.p)};
  }

  void Skip(uint32_t wire) {
    switch (wire) {
      case 0: Varint(); return;
      case 1: Advance(8); return;
      case 2: Sub(); return;
      case 5: Advance(4); return;
      default: throw WireError{offset(), "unsupported wire type " + std::to_string(wire)};
    }
  }

  void Advance(size_t n) {
    if (n > static_cast<size_t>(end - p)) throw WireError{offset(), "truncated fixed-size field"};
    p += n;
  }
};

// Appends a varint, a tag, or a whole length-delimited field to `out`.
inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void PutBytesField(std::string& out, uint32_t field, std::string_view bytes) {
  PutVarint(out, (uint64_t(field) << 3) | 2);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

inline std::string_view AsString(Reader r) { return {reinterpret_cast<const char*>(r.p), static_cast<size_t>(r.end - r.p)}; }

// One field of a message: its number, the whole encoded field (tag included) for a verbatim
// copy, and the payload of length-delimited fields.
struct Field {
  uint32_t number = 0, wire_type = 0;
  std::string_view encoded;
  Reader payload{nullptr, nullptr, nullptr};
};

inline std::vector<Field> Fields(Reader r) {
  std::vector<Field> fields;
  uint32_t f, w;
  for (;;) {
    const uint8_t* start = r.p;
    if (!r.Tag(f, w)) break;
    Field field{f, w, {}, {nullptr, nullptr, nullptr}};
    if (w == 2) field.payload = r.Sub();
    else r.Skip(w);
    field.encoded = {reinterpret_cast<const char*>(start), static_cast<size_t>(r.p - start)};
    fields.push_back(field);
  }
  return fields;
}

// The first string field `number` of a message, "" when absent.
inline std::string_view StringField(Reader r, uint32_t number) {
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == number && w == 2) return AsString(r.Sub());
    r.Skip(w);
  }
  return {};
}

}  // namespace gemma4::onnx::wire
