# Compile probes: a SIMD level is built only if the compiler accepts its
# flags and intrinsics (decided by trying, not by compiler version tables).
set(GMM_SSE2_FLAGS "")
set(GMM_AVX2_FLAGS "")
set(GMM_AVX512_FLAGS "")
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(GMM_SSE2_FLAGS "-msse2")
  set(GMM_AVX2_FLAGS "-mavx2;-mfma")
  set(GMM_AVX512_FLAGS "-mavx512f;-mavx2;-mfma")
elseif(MSVC)
  set(GMM_SSE2_FLAGS "")
  set(GMM_AVX2_FLAGS "/arch:AVX2")
  set(GMM_AVX512_FLAGS "/arch:AVX512")
endif()

function(gmm_probe out flags source)
  list(JOIN flags " " _flags)
  set(CMAKE_REQUIRED_FLAGS "${_flags}")
  check_c_source_compiles("${source}" ${out})
  set(${out} ${${out}} PARENT_SCOPE)
endfunction()

if(GMM_ENABLE_SSE2)
  gmm_probe(GMM_HAVE_SSE2 "${GMM_SSE2_FLAGS}" "
#include <emmintrin.h>
int main(void) { __m128d a = _mm_set1_pd(1.0); a = _mm_add_pd(a, a); return (int)_mm_cvtsd_f64(a); }")
endif()
# AVX2 and AVX-512 need the SSE2 level too: their tables share its row copy.
if(GMM_ENABLE_AVX2 AND GMM_HAVE_SSE2)
  gmm_probe(GMM_HAVE_AVX2 "${GMM_AVX2_FLAGS}" "
#include <immintrin.h>
int main(void) { __m256 a = _mm256_set1_ps(1.f); a = _mm256_fmadd_ps(a, a, a);
  __m256i b = _mm256_add_epi32(_mm256_set1_epi32(1), _mm256_set1_epi32(2));
  return (int)_mm256_cvtss_f32(a) + _mm256_extract_epi32(b, 0); }")
endif()
if(GMM_ENABLE_AVX512 AND GMM_HAVE_SSE2)
  gmm_probe(GMM_HAVE_AVX512 "${GMM_AVX512_FLAGS}" "
#include <immintrin.h>
int main(void) { __m512 a = _mm512_set1_ps(1.f); a = _mm512_fmadd_ps(a, a, a);
  return (int)_mm512_reduce_add_ps(a); }")
endif()
# NEON: aarch64 only (float64x2_t, vfmaq_f64, frintn and the across-vector
# reductions are A64 instructions, so 32-bit ARM fails the probe), no flags.
if(GMM_ENABLE_NEON)
  gmm_probe(GMM_HAVE_NEON "" "
#include <arm_neon.h>
#if !(defined(__aarch64__) || defined(_M_ARM64))
#error not aarch64
#endif
int main(void) { float64x2_t a = vdupq_n_f64(1.0); a = vfmaq_f64(a, a, vrndnq_f64(a));
  float32x4_t b = vdupq_n_f32(1.f); b = vfmsq_f32(b, b, b);
  return (int)vaddvq_f64(a) + (int)vmaxnmvq_f32(b); }")
endif()
message(STATUS "libgmm SIMD levels: scalar sse2=${GMM_HAVE_SSE2} avx2=${GMM_HAVE_AVX2} avx512=${GMM_HAVE_AVX512} neon=${GMM_HAVE_NEON}")
