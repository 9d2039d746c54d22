/* core/hikmeans.c: hierarchical integer k-means (VLFeat 0.9.21 semantics).
 *
 * A node gets the n points that reach it, in their original order, and
 * clusters them into min(K, n) groups (VLFeat's random selection, then
 * Lloyd or Elkan); unless it is a leaf, it then builds one child per group,
 * depth first in group order. That order fixes the sequence of random draws,
 * so a seeded run builds VLFeat's tree. A node reached by no point has a
 * filter with no centers and no children (VLFeat's layout too).
 *
 * Working memory: one copy of the data that each node reorders in place
 * (stably, by group) so that every child's points are a contiguous range in
 * their original relative order, one scratch buffer for that reordering and
 * the assignments of the current node: about 2 N M + 4 N bytes.
 * Training runs the k-means loops of core/ikmeans.c (parallel over points);
 * the recursion itself is serial. */
#include <string.h>

#include "ikmeans_internal.h"

/* A node and the number of its children. The public VlHIKMNode has VLFeat's
 * two fields only; the count is kept beside it so that freeing and walking
 * the tree never depend on the node's filter (which the caller can reach). */
typedef struct {
  VlHIKMNode node; /* first member: a VlHIKMNode * is a hikm_node * */
  size_t num_children;
} hikm_node;

static size_t num_children(VlHIKMNode const *node)
{
  return node->children ? ((hikm_node const *)(void const *)node)->num_children : 0;
}

VlHIKMTree *gmm_hikm_new(int method)
{
  VlHIKMTree *t = gmm_alloc_array(1, 1, sizeof *t, 1);
  if (!t) return NULL;
  t->method = method;
  t->max_niters = 200;
  return t;
}

void gmm_hikm_node_delete(VlHIKMNode *node)
{
  if (!node) return;
  if (node->children) {
    size_t const K = num_children(node);
    for (size_t k = 0; k < K; ++k) gmm_hikm_node_delete(node->children[k]);
    gmm_free(node->children);
  }
  gmm_ikm_delete(node->filter);
  gmm_free((hikm_node *)(void *)node);
}

void gmm_hikm_delete(VlHIKMTree *t)
{
  if (!t) return;
  gmm_hikm_node_delete(t->root);
  gmm_free(t);
}

typedef struct {
  VlHIKMTree const *tree;
  vl_uint8 *scratch;  /* N x M */
  vl_uint32 *asgn;    /* N: the assignments of the node being built */
  size_t *bounds;     /* depth x (K + 1): group boundaries, one row per level */
} hikm_work;

/* Node for the n points at `data` (n x M, reordered in place by group). */
static int build(hikm_work *w, vl_uint8 *data, size_t n, size_t level, VlHIKMNode **out)
{
  VlHIKMTree const *t = w->tree;
  size_t const M = t->M, K = n < t->K ? n : t->K;
  size_t *bounds = w->bounds + level * (t->K + 1);
  hikm_node *impl;
  VlHIKMNode *node;
  int err;

  *out = NULL;
  impl = gmm_alloc_array(1, 1, sizeof *impl, 1);
  if (!impl) return gmm_last_error();
  node = &impl->node;
  node->filter = gmm_ikm_new(t->method);
  if (!node->filter) {
    gmm_free(impl);
    return gmm_last_error();
  }
  node->filter->max_niters = t->max_niters;
  node->filter->verb = t->verb > 0 ? t->verb - 1 : 0;
  node->filter->M = M;
  if (K == 0) { /* no point reached this node */
    *out = node;
    return VL_ERR_OK;
  }
  if ((err = gmm_ikm_init_rand_data(node->filter, data, M, n, K, gmm_rand_default())) ||
      (err = gmm_ikm_train(node->filter, data, n)) ||
      (err = gmm_ikm_push(node->filter, w->asgn, data, n)))
    goto fail;
  if (level + 1 == t->depth) { /* a leaf */
    *out = node;
    return VL_ERR_OK;
  }

  node->children = gmm_alloc_array(K, 1, sizeof *node->children, 1);
  if (!node->children) {
    err = gmm_last_error();
    goto fail;
  }
  impl->num_children = K; /* the NULL children are skipped when freeing */
  /* Stable counting sort by group: group k becomes rows bounds[k] ..
   * bounds[k+1] - 1, in the original order. */
  memset(bounds, 0, (K + 1) * sizeof *bounds);
  for (size_t i = 0; i < n; ++i) ++bounds[w->asgn[i] + 1];
  for (size_t k = 0; k < K; ++k) bounds[k + 1] += bounds[k];
  for (size_t i = 0; i < n; ++i) {
    size_t const k = w->asgn[i];
    memcpy(w->scratch + bounds[k] * M, data + i * M, M);
    ++bounds[k];
  }
  /* bounds[k] is now the end of group k: shift back to the starts */
  memmove(bounds + 1, bounds, K * sizeof *bounds);
  bounds[0] = 0;
  memcpy(data, w->scratch, n * M);

  for (size_t k = 0; k < K; ++k) {
    err = build(w, data + bounds[k] * M, bounds[k + 1] - bounds[k], level + 1, &node->children[k]);
    if (err) goto fail;
    if (t->verb > 0)
      gmm_printf("hikmeans: branch at depth %zu: %5.1f %% completed", level,
                 100.0 * (double)(k + 1) / (double)K);
  }
  *out = node;
  return VL_ERR_OK;
fail:
  gmm_hikm_node_delete(node);
  return err;
}

int gmm_hikm_train(VlHIKMTree *t, vl_uint8 const *data, size_t N)
{
  hikm_work w;
  vl_uint8 *copy;
  VlHIKMNode *root = NULL;
  int err;

  w.tree = t;
  copy = gmm_alloc_array(N, t->M, 1, 0);
  w.scratch = copy ? gmm_alloc_array(N, t->M, 1, 0) : NULL;
  w.asgn = w.scratch ? gmm_alloc_array(N, 1, sizeof *w.asgn, 0) : NULL;
  w.bounds = w.asgn ? gmm_alloc_array(t->depth, t->K + 1, sizeof *w.bounds, 0) : NULL;
  if (!w.bounds) {
    err = gmm_last_error();
  } else {
    memcpy(copy, data, N * t->M);
    err = build(&w, copy, N, 0, &root);
  }
  gmm_free(w.bounds);
  gmm_free(w.asgn);
  gmm_free(w.scratch);
  gmm_free(copy);
  if (err) return err;
  gmm_hikm_node_delete(t->root);
  t->root = root;
  return VL_ERR_OK;
}

typedef struct {
  VlHIKMTree const *t;
  vl_uint32 *asgn;
  vl_uint8 const *data;
} push_ctx;

static void push_range(void *ctx, size_t i0, size_t i1, int worker)
{
  push_ctx const *c = ctx;
  size_t const M = c->t->M, depth = c->t->depth;
  (void)worker;
  for (size_t i = i0; i < i1; ++i) {
    vl_uint8 const *x = c->data + i * M;
    vl_uint32 *out = c->asgn + i * depth;
    VlHIKMNode const *node = c->t->root;
    for (size_t level = 0; level < depth; ++level) {
      VlIKMFilt const *f = node ? node->filter : NULL;
      size_t k;
      if (!f || f->K == 0) { /* an empty node: no finer cell, 0 from here down */
        out[level] = 0;
        node = NULL;
        continue;
      }
      k = gmm_ikm_nearest(f, x);
      out[level] = (vl_uint32)k;
      node = k < num_children(node) ? node->children[k] : NULL;
    }
  }
}

int gmm_hikm_push(VlHIKMTree const *t, vl_uint32 *asgn, vl_uint8 const *data, size_t N)
{
  push_ctx c = {t, asgn, data};
  int const nt = (double)N * t->K * t->M * t->depth >= GMM_IKM_PAR_WORK ? gmm_num_threads() : 1;
  gmm_run_ranges(N, 256, nt, push_range, &c);
  return VL_ERR_OK;
}
