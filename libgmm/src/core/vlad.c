/* vlad.c: VLAD encoding (see vlad.h); the typed encoder is vlad.tc. */
#include <string.h>

#include "core/vlad.h"

#define GMM_TEMPLATE "core/vlad.tc"
#include "util/instantiate.h"

int gmm_vlad_overflow(char const *fn, size_t image)
{
  return gmm_error(VL_ERR_OVERFLOW,
                   "%s: image %zu: the VLAD vector is not representable: sums or distances of "
                   "the descriptors exceed the data type's range, or the values do without "
                   "normalisation; rescale the data or use double", fn, image);
}
