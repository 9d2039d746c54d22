/* random.c: MT19937 (Matsumoto & Nishimura), with VLFeat's derived draws.
 *
 * The stream, the lazy default seed (5489) and the derived draws are the
 * standard MT19937 ones, which is what VLFeat uses; the draw order of the
 * callers (k-means++, random selection) follows VLFeat too, so seeded runs
 * give VLFeat's numbers. */
#include "internal.h"
#include "vl/random.h"

enum { MT_N = VL_RAND_MT_N, MT_M = 397 };
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

static _Thread_local VlRand tls_rand;
static _Thread_local int tls_rand_ready;

void gmm_rand_init(VlRand *r)
{
  /* mti == N + 1 means "not seeded": the first draw seeds with 5489. */
  for (int i = 0; i < MT_N; ++i) r->mt[i] = 0;
  r->mti = MT_N + 1;
}

VlRand *gmm_rand_default(void)
{
  if (!tls_rand_ready) {
    gmm_rand_init(&tls_rand);
    tls_rand_ready = 1;
  }
  return &tls_rand;
}

void gmm_rand_seed(VlRand *r, vl_uint32 s)
{
  r->mt[0] = s;
  for (vl_uindex i = 1; i < MT_N; ++i) {
    vl_uint32 prev = r->mt[i - 1];
    r->mt[i] = 1812433253U * (prev ^ (prev >> 30)) + (vl_uint32)i;
  }
  r->mti = MT_N;
}

static void seed_by_array(VlRand *r, vl_uint32 const key[], size_t n)
{
  size_t i = 1, j = 0, k;
  gmm_rand_seed(r, 19650218U);
  for (k = (MT_N > n ? MT_N : n); k; --k) {
    vl_uint32 prev = r->mt[i - 1];
    r->mt[i] = (r->mt[i] ^ ((prev ^ (prev >> 30)) * 1664525U)) + key[j] + (vl_uint32)j;
    ++i; ++j;
    if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
    if (j >= n) j = 0;
  }
  for (k = MT_N - 1; k; --k) {
    vl_uint32 prev = r->mt[i - 1];
    r->mt[i] = (r->mt[i] ^ ((prev ^ (prev >> 30)) * 1566083941U)) - (vl_uint32)i;
    ++i;
    if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
  }
  r->mt[0] = 0x80000000U;
  r->mti = MT_N;
}

static void regenerate(VlRand *r)
{
  vl_uint32 *mt = r->mt;
  int k;
  for (k = 0; k < MT_N - MT_M; ++k) {
    vl_uint32 y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
    mt[k] = mt[k + MT_M] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  }
  for (; k < MT_N - 1; ++k) {
    vl_uint32 y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
    mt[k] = mt[k + (MT_M - MT_N)] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  }
  {
    vl_uint32 y = (mt[MT_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
  }
  r->mti = 0;
}

vl_uint32 gmm_rand_uint32(VlRand *r)
{
  vl_uint32 y;
  if (r->mti >= MT_N) {
    if (r->mti == MT_N + 1) gmm_rand_seed(r, 5489U);
    regenerate(r);
  }
  y = r->mt[r->mti++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

vl_uint64 gmm_rand_uint64(VlRand *r)
{
  vl_uint64 hi = gmm_rand_uint32(r);
  vl_uint64 lo = gmm_rand_uint32(r);
  return (hi << 32) | lo;
}

/* Multiplication by the reciprocal (not division), as in the reference code. */
double gmm_rand_real1(VlRand *r) { return gmm_rand_uint32(r) * (1.0 / 4294967295.0); }

vl_uindex gmm_rand_uindex(VlRand *r, vl_uindex range)
{
  if (range <= 0xffffffffU) return gmm_rand_uint32(r) % (vl_uint32)range;
  return gmm_rand_uint64(r) % range;
}

void gmm_rand_permute(VlRand *r, vl_index *array, size_t size)
{
  for (size_t n = size; n > 1; --n) {
    size_t k = gmm_rand_uindex(r, n);
    vl_index tmp = array[n - 1];
    array[n - 1] = array[k];
    array[k] = tmp;
  }
}

/* ---- exported -------------------------------------------------------------- */

VL_EXPORT VlRand *vl_get_rand(void)
{
  gmm_clear_error();
  return gmm_rand_default();
}

VL_EXPORT void vl_rand_init(VlRand *self)
{
  gmm_clear_error();
  if (!self) { gmm_error(VL_ERR_BAD_ARG, "vl_rand_init: NULL generator"); return; }
  gmm_rand_init(self);
}

VL_EXPORT void vl_rand_seed(VlRand *self, vl_uint32 s)
{
  gmm_clear_error();
  if (!self) { gmm_error(VL_ERR_BAD_ARG, "vl_rand_seed: NULL generator"); return; }
  gmm_rand_seed(self, s);
}

VL_EXPORT void vl_rand_seed_by_array(VlRand *self, vl_uint32 const key[], vl_size keySize)
{
  gmm_clear_error();
  if (!self || (!key && keySize)) {
    gmm_error(VL_ERR_BAD_ARG, "vl_rand_seed_by_array: NULL generator or key");
    return;
  }
  if (keySize > SIZE_MAX / sizeof key[0]) {
    gmm_error(VL_ERR_OVERFLOW, "vl_rand_seed_by_array: keySize %zu overflows", (size_t)keySize);
    return;
  }
  if (keySize == 0) { gmm_rand_seed(self, 19650218U); return; }
  seed_by_array(self, key, keySize);
}

#define RAND_GUARD(fn, ret)                                           \
  gmm_clear_error();                                                  \
  if (!self) { gmm_error(VL_ERR_BAD_ARG, fn ": NULL generator"); return ret; }

VL_EXPORT vl_uint32 vl_rand_uint32(VlRand *self)
{
  RAND_GUARD("vl_rand_uint32", 0)
  return gmm_rand_uint32(self);
}

VL_EXPORT vl_uint64 vl_rand_uint64(VlRand *self)
{
  RAND_GUARD("vl_rand_uint64", 0)
  return gmm_rand_uint64(self);
}

VL_EXPORT vl_int64 vl_rand_int63(VlRand *self)
{
  RAND_GUARD("vl_rand_int63", 0)
  return (vl_int64)(gmm_rand_uint64(self) >> 1);
}

VL_EXPORT vl_int32 vl_rand_int31(VlRand *self)
{
  RAND_GUARD("vl_rand_int31", 0)
  return (vl_int32)(gmm_rand_uint32(self) >> 1);
}

VL_EXPORT double vl_rand_real1(VlRand *self)
{
  RAND_GUARD("vl_rand_real1", NAN)
  return gmm_rand_real1(self);
}

VL_EXPORT double vl_rand_real2(VlRand *self)
{
  RAND_GUARD("vl_rand_real2", NAN)
  return gmm_rand_uint32(self) * (1.0 / 4294967296.0);
}

VL_EXPORT double vl_rand_real3(VlRand *self)
{
  RAND_GUARD("vl_rand_real3", NAN)
  return ((double)gmm_rand_uint32(self) + 0.5) * (1.0 / 4294967296.0);
}

VL_EXPORT double vl_rand_res53(VlRand *self)
{
  RAND_GUARD("vl_rand_res53", NAN)
  {
    vl_uint32 a = gmm_rand_uint32(self) >> 5;
    vl_uint32 b = gmm_rand_uint32(self) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }
}

VL_EXPORT vl_uindex vl_rand_uindex(VlRand *self, vl_uindex range)
{
  RAND_GUARD("vl_rand_uindex", 0)
  if (range == 0) { gmm_error(VL_ERR_BAD_ARG, "vl_rand_uindex: range must be positive"); return 0; }
  return gmm_rand_uindex(self, range);
}

VL_EXPORT void vl_rand_permute_indexes(VlRand *self, vl_index *array, vl_size size)
{
  RAND_GUARD("vl_rand_permute_indexes", )
  if (!array && size) { gmm_error(VL_ERR_BAD_ARG, "vl_rand_permute_indexes: NULL array"); return; }
  if (size > SIZE_MAX / sizeof array[0]) {
    gmm_error(VL_ERR_OVERFLOW, "vl_rand_permute_indexes: size %zu overflows", (size_t)size);
    return;
  }
  gmm_rand_permute(self, array, size);
}
