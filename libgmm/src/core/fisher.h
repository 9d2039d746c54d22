/* fisher.h: Fisher vector encoding (hidden core of vl_fisher_encode*).
 *
 * The posteriors come from the shared E-step (estep.h) and the sums from
 * the same statistics pass as EM's M-step (pass.h), with VLFeat's Fisher
 * settings: posteriors below 1e-6 ignored, optionally a hard assignment
 * (FAST), moments taken around the means. The vector is computed in double
 * from the statistics and rounded once to the data type. */
#ifndef GMM_CORE_FISHER_H
#define GMM_CORE_FISHER_H

#include "core/pass.h"
#include "vl/fisher.h"

#define FISHER_MIN_POSTERIOR 1e-6
#define FISHER_ALL_FLAGS (VL_FISHER_FLAG_SQUARE_ROOT | VL_FISHER_FLAG_NORMALIZED | VL_FISHER_FLAG_FAST)

/* Sets VL_ERR_OVERFLOW: the vector of `image` is not representable. */
GMM_HIDDEN int gmm_fisher_overflow(char const *fn, size_t image);

#define GMM_TEMPLATE "core/fisher.th"
#include "util/instantiate.h"

#endif /* GMM_CORE_FISHER_H */
