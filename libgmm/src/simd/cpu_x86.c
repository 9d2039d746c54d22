/* cpu_x86.c: which SIMD levels the CPU and the OS support (x86; aarch64 is
 * in cpu_arm.c).
 *
 * A level is usable only if the CPU has the instructions (CPUID) and the OS
 * saves the register state on context switches (OSXSAVE + XGETBV): AVX needs
 * XMM|YMM state, AVX-512 also opmask and ZMM state. Builds for other
 * architectures than x86 and aarch64 report the scalar level only. */
#include "simd/cpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

static unsigned long long read_xcr0(void)
{
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

int gmm_cpu_max_level(void)
{
  unsigned eax, ebx, ecx, edx, max_leaf;
  int level = VL_SIMD_SCALAR;
  int osxsave, avx, fma, avx2 = 0, avx512f = 0;
  unsigned long long xcr0 = 0;

  if (!__get_cpuid(0, &max_leaf, &ebx, &ecx, &edx)) return level;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return level;
  if (edx & (1u << 26)) level = VL_SIMD_SSE2;
  osxsave = (ecx >> 27) & 1;
  avx = (ecx >> 28) & 1;
  fma = (ecx >> 12) & 1;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    avx2 = (ebx >> 5) & 1;
    avx512f = (ebx >> 16) & 1;
  }
  if (!osxsave) return level;
  xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return level; /* XMM and YMM state */
  if (avx && avx2 && fma) level = VL_SIMD_AVX2;
  if (level == VL_SIMD_AVX2 && avx512f && (xcr0 & 0xe0) == 0xe0) level = VL_SIMD_AVX512;
  return level;
}

#elif !(defined(__aarch64__) || defined(_M_ARM64))

int gmm_cpu_max_level(void) { return VL_SIMD_SCALAR; }

#endif
