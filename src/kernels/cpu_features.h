// Which instruction sets the int4 kernels may use on this CPU, found once at run time.
#pragma once

#include <string>
#include <vector>

namespace gemma4::kernels {

// The dispatch targets of the int4 x int8 kernel, slowest first. Each needs the ones before it
// except kAvx512Vnni, which needs AVX-512 F/BW/VL/VNNI but not AVX-VNNI.
enum class Isa { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };

// "scalar", "avx2", "avxvnni", "avx512vnni".
const char* IsaName(Isa isa);
// The target named by `name` (IsaName's spelling); throws gemma4::Error naming the value otherwise.
Isa ParseIsa(const std::string& name);

// Whether this CPU and the OS (XSAVE state enabled in XCR0) support `isa`.
bool IsaSupported(Isa isa);
// Every target IsaSupported() accepts, slowest first (kScalar always).
std::vector<Isa> SupportedIsas();

// The target used by default: the environment variable GEMMA4_KERNEL_ISA when set (an
// unsupported or unknown value is an error naming it), else the fastest supported one.
Isa DefaultIsa();

// The CPU features the kernels look at, as found ("avx2 fma f16c avx512f ..."), for `gemma4 info`.
std::string CpuFeatureList();

}  // namespace gemma4::kernels
