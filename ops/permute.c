/* permute: y = x with its axes reordered (rank 0..4), a copy.
 *   y.shape[k] = x.shape[perm[k]];  y[i0,i1,i2,i3] = x[j] with j[perm[k]] = i[k]
 *   dx[j] += g[i] for the same pairs (each x element has exactly one y element).
 * Both passes walk y in order and read or add x through the strides of the permuted
 * axes; split over the tape's pool by y's leading index pairs, each x element is
 * touched by one item: the same bits for any thread count. */
#include "ops_internal.h"
#include "graph_ops.h"
#include "shape_util.h"

/* The node's attributes (n->attr). Shapes are padded to rank 4 with 1s. */
typedef struct permute_attr {
    int perm[CR_MAX_DIMS];        /* resolved: x axis that becomes y axis k (k < rank) */
    size_t ext[CR_MAX_DIMS];      /* y's extents */
    size_t xstride[CR_MAX_DIMS];  /* stride in x of y's axis k (0 for padding axes) */
} permute_attr;

typedef struct permute_job {
    const cr_node *n;
    int backward;
} permute_job;

/* Items i0 * ext[1] + i1: the y elements [i0, i1, :, :]. */
static void permute_items(void *ctx, size_t b, size_t e)
{
    const permute_job *j = ctx;
    const permute_attr *a = j->n->attr;
    const size_t n2 = a->ext[2], n3 = a->ext[3], s2 = a->xstride[2], s3 = a->xstride[3];
    for (size_t it = b; it < e; it++) {
        size_t i0 = it / a->ext[1], i1 = it % a->ext[1];
        size_t xo = i0 * a->xstride[0] + i1 * a->xstride[1];
        size_t yo = it * n2 * n3;
        if (!j->backward) {
            const cr_real *restrict x = j->n->in[0]->data;
            cr_real *restrict y = j->n->out->data + yo;
            for (size_t i2 = 0; i2 < n2; i2++)
                for (size_t i3 = 0; i3 < n3; i3++) *y++ = x[xo + i2 * s2 + i3 * s3];
        } else {
            cr_real *restrict dx = j->n->in[0]->grad;
            const cr_real *restrict g = j->n->out->grad + yo;
            for (size_t i2 = 0; i2 < n2; i2++)
                for (size_t i3 = 0; i3 < n3; i3++) dx[xo + i2 * s2 + i3 * s3] += *g++;
        }
    }
}

static void permute_pass(cr_tape *t, cr_node *n, int backward)
{
    const permute_attr *a = n->attr;
    permute_job j = { n, backward };
    cr__par_items(t, a->ext[0] * a->ext[1], a->ext[2] * a->ext[3], permute_items, &j);
}

static void permute_forward(cr_tape *t, cr_node *n) { permute_pass(t, n, 0); }

static void permute_backward(cr_tape *t, cr_node *n)
{
    if (n->in[0]->grad) permute_pass(t, n, 1);
}

static const cr_op permute_op = { "permute", permute_forward, permute_backward };

cr_tensor *cr_permute(cr_tape *t, cr_tensor *x, const int *perm)
{
    if (!cr_check_inputs(t, "permute", 1, &x)) return NULL;
    char sx[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    if (!perm && x->ndim > 0) {
        cr_tape_fail(t, CR_ERR_ARG, "permute: perm is NULL (x is %s)", sx);
        return NULL;
    }
    permute_attr tmp;
    size_t xs[CR_MAX_DIMS];
    xs[x->ndim > 0 ? x->ndim - 1 : 0] = 1;
    for (int k = x->ndim - 1; k > 0; k--) xs[k - 1] = xs[k] * (size_t)x->shape[k];
    int used[CR_MAX_DIMS] = { 0 }, shape[CR_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++) {
        int ax = cr__axis_resolve(perm[k], x->ndim);
        if (ax < 0 || used[ax]) {
            cr_tape_fail(t, CR_ERR_SHAPE, "permute: perm[%d] = %d %s (x is %s: perm must "
                         "list each of its %d axes once)", k, perm[k],
                         ax < 0 ? "is out of range" : "repeats an axis", sx, x->ndim);
            return NULL;
        }
        used[ax] = 1;
        tmp.perm[k] = ax;
        shape[k] = x->shape[ax];
    }
    /* y's axes right-aligned in 4 slots so the two inner loops are y's last two */
    int pad = CR_MAX_DIMS - x->ndim;
    for (int k = 0; k < CR_MAX_DIMS; k++) {
        int yk = k - pad;
        tmp.ext[k] = yk < 0 ? 1 : (size_t)shape[yk];
        tmp.xstride[k] = yk < 0 ? 0 : xs[tmp.perm[yk]];
    }
    for (int k = x->ndim; k < CR_MAX_DIMS; k++) tmp.perm[k] = k;   /* unused slots */
    permute_attr *a = cr_tape_alloc(t, sizeof *a);   /* before the node: nothing fails after */
    if (!a) return NULL;
    *a = tmp;
    cr_node *n = cr_record(t, &permute_op, 1, &x, x->ndim, shape);
    if (!n) return NULL;
    n->attr = a;
    return cr_run(t, n);
}

/* For graph files (ops/graph_ops.h): the resolved permutation of n; 0 when n is not
 * a permute node (another op of that name). */
int cr__permute_perm_of(const cr_node *n, int perm[CR_MAX_DIMS])
{
    if (n->op != &permute_op) return 0;
    const permute_attr *a = n->attr;
    for (int k = 0; k < CR_MAX_DIMS; k++) perm[k] = a->perm[k];
    return 1;
}
