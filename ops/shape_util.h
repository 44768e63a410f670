/* Shape and numeric helpers shared by the non-elementwise ops (ops/ only). */
#ifndef CR_OPS_SHAPE_UTIL_H
#define CR_OPS_SHAPE_UTIL_H

#include "chainrule.h"

#include <math.h>

/* Room for "65535x65535x65535x65535 (18446744073709551615 elements)". */
#define CR_DIMS_TEXT 96

/* "2x3" (or "scalar" for rank 0) for a raw shape; always NUL-terminated. */
char *cr__dims_text(int ndim, const int *shape, char *buf, size_t size);
/* Same for a tensor. */
char *cr__tensor_dims(const cr_tensor *x, char *buf, size_t size);
/* A possibly negative axis resolved against rank ndim (-1 is the last axis);
 * -1 when it is outside -ndim..ndim-1. */
int cr__axis_resolve(int axis, int ndim);
/* x viewed as outer x len x inner around axis: outer is the product of the
 * dimensions before axis, len = shape[axis], inner the product of those after. */
void cr__axis_split(const cr_tensor *x, int axis, size_t *outer, size_t *len, size_t *inner);
/* Shape of x reduced along axis into shape[]; returns the new rank. */
int cr__reduced_shape(const cr_tensor *x, int axis, int keepdim, int *shape);
/* Sum of v[0..n) accumulated in double (four partial sums). */
double cr__sum_real(const cr_real *v, size_t n);
/* Stable softmax of one row: p[j] = e^(x[j] - m) / s for m = max x and
 * s = sum e^(x[j] - m) (accumulated in double); returns m, stores s in *sum. Shared
 * by softmax and softmax-cross-entropy so that both compute the same probabilities. */
cr_real cr__softmax_row(const cr_real *x, cr_real *p, size_t c, double *sum);
/* dx[i] += g[i] for i < n (dx and g do not overlap). */
void cr__add_into(cr_real *restrict dx, const cr_real *restrict g, size_t n);
/* Backward of a one-input op whose output holds the input's values in the same
 * row-major order (reshape, flatten): dx += dy, nothing when x needs no gradient. */
void cr__same_order_backward(cr_tape *t, cr_node *n);


#endif
