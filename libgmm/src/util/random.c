/* random.c: MT19937 (Matsumoto & Nishimura), with VLFeat's derived draws.
 *
 * The stream, the lazy default seed (5489) and the derived draws are the
 * standard MT19937 ones, which is what VLFeat uses; the draw order of the
 * callers (k-means++, random selection) follows VLFeat too, so seeded runs
 * give VLFeat's numbers. */
#include "util/internal.h"

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

void gmm_rand_seed_by_array(VlRand *r, vl_uint32 const key[], size_t n)
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

