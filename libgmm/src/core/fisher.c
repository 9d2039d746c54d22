/* fisher.c: Fisher vector encoding (see fisher.h); the typed encoder is fisher.tc. */
#include <string.h>

#include "core/fisher.h"

/* sum_j a_j^2 over eight interleaved partial sums (j mod 8), added in a
 * fixed tree: the same bits on every machine and for any thread count. */
static double fisher_sumsq(double const *a, size_t n)
{
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int r = 0; r < 8; ++r) s[r] += a[j + r] * a[j + r];
  for (int r = 0; j < n; ++j, ++r) s[r] += a[j] * a[j];
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

#define GMM_TEMPLATE "core/fisher.tc"
#include "util/instantiate.h"

int gmm_fisher_overflow(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: the Fisher vector is not representable: the descriptors are "
                   "too far from the model (in units of its standard deviations) for the data "
                   "type, or its values exceed the type's range without "
                   "VL_FISHER_FLAG_NORMALIZED; rescale the data or use double", fn, image);
}
