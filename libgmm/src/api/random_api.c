/* random_api.c: the exported vl_rand_* functions (vl/random.h) over the
 * hidden MT19937 of util/random.c. */
#include "util/internal.h"

/* The generator guard of every entry point taking `self`. */
#define RAND_SELF(fn, ret) GMM_REQUIRE(self, ret, VL_ERR_BAD_ARG, "%s: NULL generator", fn)

VL_EXPORT VlRand *vl_get_rand(void)
{
  gmm_clear_error();
  return gmm_rand_default();
}

VL_EXPORT void vl_rand_init(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_init", );
  gmm_rand_init(self);
}

VL_EXPORT void vl_rand_seed(VlRand *self, vl_uint32 s)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_seed", );
  gmm_rand_seed(self, s);
}

VL_EXPORT void vl_rand_seed_by_array(VlRand *self, vl_uint32 const key[], vl_size keySize)
{
  gmm_clear_error();
  GMM_REQUIRE(self && (key || !keySize), , VL_ERR_BAD_ARG,
              "vl_rand_seed_by_array: NULL generator or key");
  GMM_REQUIRE(keySize <= SIZE_MAX / sizeof key[0], , VL_ERR_OVERFLOW,
              "vl_rand_seed_by_array: keySize %zu overflows", (size_t)keySize);
  if (keySize == 0)
    gmm_rand_seed(self, 19650218U);
  else
    gmm_rand_seed_by_array(self, key, keySize);
}

VL_EXPORT vl_uint32 vl_rand_uint32(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_uint32", 0);
  return gmm_rand_uint32(self);
}

VL_EXPORT vl_uint64 vl_rand_uint64(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_uint64", 0);
  return gmm_rand_uint64(self);
}

VL_EXPORT vl_int64 vl_rand_int63(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_int63", 0);
  return (vl_int64)(gmm_rand_uint64(self) >> 1);
}

VL_EXPORT vl_int32 vl_rand_int31(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_int31", 0);
  return (vl_int32)(gmm_rand_uint32(self) >> 1);
}

VL_EXPORT double vl_rand_real1(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_real1", NAN);
  return gmm_rand_real1(self);
}

VL_EXPORT double vl_rand_real2(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_real2", NAN);
  return gmm_rand_uint32(self) * (1.0 / 4294967296.0);
}

VL_EXPORT double vl_rand_real3(VlRand *self)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_real3", NAN);
  return ((double)gmm_rand_uint32(self) + 0.5) * (1.0 / 4294967296.0);
}

VL_EXPORT double vl_rand_res53(VlRand *self)
{
  vl_uint32 a, b;
  gmm_clear_error();
  RAND_SELF("vl_rand_res53", NAN);
  a = gmm_rand_uint32(self) >> 5;
  b = gmm_rand_uint32(self) >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

VL_EXPORT vl_uindex vl_rand_uindex(VlRand *self, vl_uindex range)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_uindex", 0);
  GMM_REQUIRE(range, 0, VL_ERR_BAD_ARG, "vl_rand_uindex: range must be positive");
  return gmm_rand_uindex(self, range);
}

VL_EXPORT void vl_rand_permute_indexes(VlRand *self, vl_index *array, vl_size size)
{
  gmm_clear_error();
  RAND_SELF("vl_rand_permute_indexes", );
  GMM_REQUIRE(array || !size, , VL_ERR_BAD_ARG, "vl_rand_permute_indexes: NULL array");
  GMM_REQUIRE(size <= SIZE_MAX / sizeof array[0], , VL_ERR_OVERFLOW,
              "vl_rand_permute_indexes: size %zu overflows", (size_t)size);
  gmm_rand_permute(self, array, size);
}
