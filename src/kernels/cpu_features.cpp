// CPUID + XGETBV: a feature counts only when the CPU has it and the OS saves its registers.
#include "kernels/cpu_features.h"

#include <cstdint>
#include <cstdlib>

#include "gemma4/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace gemma4::kernels {

namespace {

struct Features {
  bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false;
};

#if defined(__x86_64__) || defined(__i386__)
uint64_t ReadXcr0() {
  uint32_t lo = 0, hi = 0;
  // xgetbv with ecx = 0; spelled as bytes-free inline asm so no -mxsave is needed.
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Features Detect() {
  Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  const bool has_avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  if (!osxsave || !has_avx) return f;
  const uint64_t xcr0 = ReadXcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE + AVX
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_state) return Features{};
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = (b >> 5) & 1;
  if (zmm_state) {
    f.avx512f = (b >> 16) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512_vnni = (c >> 11) & 1;
  }
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx_vnni = (a1 >> 4) & 1;
  return f;
}
#else
Features Detect() { return Features{}; }
#endif

const Features& Cpu() {
  static const Features f = Detect();
  return f;
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512Vnni: return "avx512vnni";
  }
  return "?";
}

Isa ParseIsa(const std::string& name) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni}) {
    if (name == IsaName(isa)) return isa;
  }
  throw Error(ErrorKind::kInvalidArgument,
              "unknown kernel target '" + name + "' (expected scalar, avx2, avxvnni or avx512vnni)");
}

bool IsaSupported(Isa isa) {
  const Features& f = Cpu();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvxVnni: return avx2 && f.avx_vnni;
    case Isa::kAvx512Vnni: return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512_vnni;
  }
  return false;
}

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni}) {
    if (IsaSupported(isa)) out.push_back(isa);
  }
  return out;
}

Isa DefaultIsa() {
  if (const char* forced = std::getenv("GEMMA4_KERNEL_ISA"); forced != nullptr && *forced != '\0') {
    const Isa isa = ParseIsa(forced);
    if (!IsaSupported(isa)) {
      throw Error(ErrorKind::kUnsupported, std::string("GEMMA4_KERNEL_ISA=") + forced + ": this CPU does not support it");
    }
    return isa;
  }
  return SupportedIsas().back();
}

std::string CpuFeatureList() {
  const Features& f = Cpu();
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx_vnni, "avx_vnni");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512_vnni, "avx512_vnni");
  return out.empty() ? "none" : out;
}

}  // namespace gemma4::kernels
