// SHA-256 / SHA-1 over OpenSSL's EVP interface.
#include "package/digest.h"

#include <openssl/evp.h>

#include "gemma4/error.h"

namespace gemma4::digest {

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(Algorithm algorithm) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  const EVP_MD* type = algorithm == Algorithm::kSha256 ? EVP_sha256() : EVP_sha1();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, type, nullptr) != 1) {
    throw Error(ErrorKind::kRuntime, "OpenSSL: cannot initialise a digest");
  }
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(const void* data, size_t size) {
  if (size) EVP_DigestUpdate(ctx_->md, data, size);
}

std::string Hasher::HexDigest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &n);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return hex;
}

std::string Sha256Hex(std::string_view bytes) {
  Hasher h;
  h.Update(bytes);
  return h.HexDigest();
}

bool IsHex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace gemma4::digest
