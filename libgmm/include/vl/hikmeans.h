/** @file hikmeans.h
 ** @brief Hierarchical integer k-means: vocabulary trees (VLFeat-compatible API).
 **
 ** Same function names, argument order and types as VLFeat 0.9.21's
 ** `vl/hikmeans.h`. A tree of depth L partitions the data recursively: the
 ** root clusters all N points into K groups with integer k-means
 ** (vl/ikmeans.h), each group is clustered again by a child node, and so on
 ** down to level L-1 (the leaves, which have no children).
 **
 ** Training (::vl_hikm_train) builds, depth first, for the n points that reach
 ** a node: an integer k-means filter with min(K, n) centers, initialised with
 ** ::vl_ikm_init_rand_data and trained with ::vl_ikm_train (the tree's method
 ** and maximum number of iterations); then, unless the node is a leaf, one
 ** child per center for the points nearest to it, kept in their original
 ** order, child 0 (and its whole subtree) first. A node reached by no point
 ** has a filter with K = 0 (no centers) and no children. Random draws come
 ** from the calling thread's default generator in this order, so a seeded
 ** run reproduces VLFeat's tree exactly.
 **
 ** ::VlHIKMNode is public, as in VLFeat, so that a trained tree can be walked:
 ** `vl_ikm_get_K(node->filter)` centers (`vl_ikm_get_centers`), and
 ** `node->children` (NULL for leaves and empty nodes) holds that many child
 ** pointers. The tree owns its nodes: read them, never modify or free them;
 ** they stay valid until the next ::vl_hikm_init, ::vl_hikm_train or
 ** ::vl_hikm_delete. ::VlHIKMTree itself is opaque (unlike VLFeat's).
 **/
#ifndef VL_HIKMEANS_H
#define VL_HIKMEANS_H

#include "generic.h"
#include "ikmeans.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A node of the tree (VLFeat's layout). */
typedef struct VlHIKMNode_ {
  VlIKMFilt *filter;                /**< integer k-means filter of this node */
  struct VlHIKMNode_ **children;    /**< vl_ikm_get_K(filter) children, or NULL */
} VlHIKMNode;

/** @brief Opaque hierarchical integer k-means tree. */
typedef struct VlHIKMTree_ VlHIKMTree;

/** @name Create and destroy
 ** @{ */
/** @brief New, empty tree (200 iterations per node, verbosity 0).
 ** @param method ::VL_IKM_LLOYD or ::VL_IKM_ELKAN, used by every node.
 ** @return the tree, or NULL on error (unknown method, allocation). */
VL_EXPORT VlHIKMTree *vl_hikm_new(int method);
/** @brief Free a tree and all its nodes (NULL is accepted). */
VL_EXPORT void vl_hikm_delete(VlHIKMTree *f);
/** @} */

/** @name Retrieve data and parameters
 ** @{ */
VL_EXPORT vl_size vl_hikm_get_ndims(VlHIKMTree const *f);
VL_EXPORT vl_size vl_hikm_get_K(VlHIKMTree const *f);
VL_EXPORT vl_size vl_hikm_get_depth(VlHIKMTree const *f);
VL_EXPORT int vl_hikm_get_verbosity(VlHIKMTree const *f);
VL_EXPORT vl_size vl_hikm_get_max_niters(VlHIKMTree const *f);
/** @return the root node, or NULL before training. */
VL_EXPORT VlHIKMNode const *vl_hikm_get_root(VlHIKMTree const *f);
/** @} */

/** @name Set parameters
 ** @{ */
/** @brief Verbosity: at 1 or more, training reports its progress; the nodes'
 ** filters get one level less (as in VLFeat). */
VL_EXPORT void vl_hikm_set_verbosity(VlHIKMTree *f, int verb);
/** @brief Maximum number of iterations of every node's k-means (>= 0). */
VL_EXPORT void vl_hikm_set_max_niters(VlHIKMTree *f, int max_niters);
/** @} */

/** @name Process data
 ** @{ */
/** @brief Set the dimension M, the branching factor K and the depth (all
 ** >= 1, depth <= 256) and drop any trained tree. */
VL_EXPORT void vl_hikm_init(VlHIKMTree *f, vl_size M, vl_size K, vl_size depth);
/** @brief Build the tree from N points (N x M). On failure the previous tree
 ** (if any) is kept. */
VL_EXPORT void vl_hikm_train(VlHIKMTree *f, vl_uint8 const *data, vl_size N);
/** @brief Path of each of N points down the tree: @p asgn is N x depth
 ** (`asgn[i*depth + l]` is the child taken at level l, the nearest center of
 ** that node). A point that reaches a node with no centers gets 0 at that
 ** level and below. */
VL_EXPORT void vl_hikm_push(VlHIKMTree *f, vl_uint32 *asgn, vl_uint8 const *data, vl_size N);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VL_HIKMEANS_H */
