/* kinline.h: the inline helpers shared by the SIMD kernel files
 * (kernels_<isa>.c and vexp.h). */
#ifndef GMM_SIMD_KINLINE_H
#define GMM_SIMD_KINLINE_H

/* A helper always inlined into its kernel (so it is compiled with the
 * kernel file's ISA and its constant arguments fold). */
#if defined(__GNUC__) || defined(__clang__)
#define GMM_KINLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define GMM_KINLINE static __forceinline
#else
#define GMM_KINLINE static inline
#endif

/* Complete unrolling of the loops over a tile's rows and vectors (their
 * trip counts are constants once inlined), so the accumulator arrays become
 * registers even below -O3. Clang's unroll(full) waits for a constant trip
 * count, where its "GCC unroll" would unroll the not-yet-inlined body. */
#if defined(GMM_NO_FORCED_UNROLL) /* sanitizer builds (libgmm/CMakeLists.txt) */
#define GMM_UNROLL
#elif defined(__clang__)
#define GMM_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define GMM_UNROLL _Pragma("GCC unroll 16")
#else
#define GMM_UNROLL
#endif

#endif /* GMM_SIMD_KINLINE_H */
