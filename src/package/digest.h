// Incremental SHA-256 / SHA-1 (OpenSSL EVP) with lowercase hex output: the hashes the hub names
// blobs by (sha256 for LFS files, git blob sha1 for the others) and manifest.json records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gemma4::digest {

enum class Algorithm { kSha256, kSha1 };

class Hasher {
 public:
  explicit Hasher(Algorithm algorithm = Algorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  std::string HexDigest();  // finishes; the hasher can't be updated afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view bytes);
bool IsHex(std::string_view s, size_t length);

}  // namespace gemma4::digest
