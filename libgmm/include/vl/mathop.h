/** @file mathop.h
 ** @brief Vector comparison types (the subset of VLFeat's mathop.h libgmm uses).
 **/
#ifndef VL_MATHOP_H
#define VL_MATHOP_H

#include "generic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Vector comparison types. k-means supports ::VlDistanceL1 and ::VlDistanceL2. */
typedef enum VlVectorComparisonType_ {
  VlDistanceL1 = 0,          /**< sum |x - y| */
  VlDistanceL2 = 1,          /**< squared Euclidean distance */
  VlDistanceChi2 = 2,
  VlDistanceHellinger = 3,
  VlDistanceJS = 4,
  VlDistanceMahalanobis = 5,
  VlKernelL1 = 6,
  VlKernelL2 = 7,
  VlKernelChi2 = 8,
  VlKernelHellinger = 9,
  VlKernelJS = 10
} VlVectorComparisonType;

#ifdef __cplusplus
}
#endif

#endif /* VL_MATHOP_H */
