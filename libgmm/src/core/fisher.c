/* fisher.c: Fisher vector encoding (see fisher.h); the typed encoder is fisher.tc. */
#include <string.h>

#include "core/fisher.h"

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
