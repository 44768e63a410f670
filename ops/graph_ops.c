/* The graph-file entry of every built-in op (see graph_ops.h): its arity, its
 * typed attributes, how they are read off a recorded node and how the node is
 * recorded again through the op's public function.
 *
 * Adding an op (ops/README.md, step 5): one line in the table at the end, and a
 * save/build pair above it when the op has attributes or an unusual signature.
 * tests/test_graph_file.c fails for every op of ops/ without an entry. */
#include "graph_ops.h"

#include <limits.h>
#include <string.h>

#define UNUSED_ARGS (void)n_in, (void)a, (void)c

/* ---------------------------------------------------- no attributes */

#define BUILD1(fn)                                                                        \
    static cr_tensor *build_##fn(cr_tape *t, cr_tensor *const *in, int n_in,              \
                                 const cr__gattr *a, const cr__gctx *c)                   \
    {                                                                                     \
        UNUSED_ARGS;                                                                      \
        return cr_##fn(t, in[0]);                                                         \
    }
#define BUILD2(fn)                                                                        \
    static cr_tensor *build_##fn(cr_tape *t, cr_tensor *const *in, int n_in,              \
                                 const cr__gattr *a, const cr__gctx *c)                   \
    {                                                                                     \
        UNUSED_ARGS;                                                                      \
        return cr_##fn(t, in[0], in[1]);                                                  \
    }

BUILD2(add) BUILD2(sub) BUILD2(mul) BUILD2(div) BUILD2(max)
BUILD2(softmax_cross_entropy) BUILD2(bce_with_logits)
BUILD1(neg) BUILD1(exp) BUILD1(log) BUILD1(sqrt) BUILD1(square) BUILD1(abs) BUILD1(relu)
BUILD1(sigmoid) BUILD1(tanh) BUILD1(transpose) BUILD1(sum) BUILD1(mean) BUILD1(flatten)
BUILD1(global_avg_pool2d) BUILD1(softmax) BUILD1(log_softmax) BUILD1(detach)
BUILD2(embedding)

/* ------------------------------------------- one real: farg[0] as given */

static int save_farg(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->r[0] = n->farg[0];
    return 1;
}

#define BUILD1R(fn)                                                                       \
    static cr_tensor *build_##fn(cr_tape *t, cr_tensor *const *in, int n_in,              \
                                 const cr__gattr *a, const cr__gctx *c)                   \
    {                                                                                     \
        UNUSED_ARGS;                                                                      \
        return cr_##fn(t, in[0], (cr_real)a->r[0]);                                       \
    }
BUILD1R(pow) BUILD1R(leaky_relu) BUILD1R(scale) BUILD1R(add_scalar)

/* ------------------------------------------------- linear algebra */

/* matmul: i = ta, tb */
static int save_matmul(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    a->i[1] = n->iarg[1];
    return 1;
}

static cr_tensor *build_matmul(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                               const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_matmul(t, in[0], in[1], (int)a->i[0], (int)a->i[1]);
}

/* linear: x, W and an optional b */
static cr_tensor *build_linear(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                               const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_linear(t, in[0], in[1], n_in == 3 ? in[2] : NULL);
}

/* ------------------------------------------------------ reductions */

/* sum_axis, mean_axis, max_axis: i = axis (resolved), keepdim */
static int save_axis_keep(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    a->i[1] = n->out->ndim == n->in[0]->ndim;
    return 1;
}

#define BUILD_AXIS(fn)                                                                    \
    static cr_tensor *build_##fn(cr_tape *t, cr_tensor *const *in, int n_in,              \
                                 const cr__gattr *a, const cr__gctx *c)                   \
    {                                                                                     \
        UNUSED_ARGS;                                                                      \
        return cr_##fn(t, in[0], (int)a->i[0], (int)a->i[1]);                             \
    }
BUILD_AXIS(sum_axis) BUILD_AXIS(mean_axis) BUILD_AXIS(max_axis)

/* ----------------------------------------------------------- shape */

/* reshape: the target shape is the node's output shape */
static cr_tensor *build_reshape(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                                const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_reshape(t, in[0], c->ndim, c->shape);
}

/* slice: i = axis (resolved), start, length */
static int save_slice(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    a->i[1] = n->iarg[1];
    a->i[2] = n->out->shape[n->iarg[0]];
    return 1;
}

static cr_tensor *build_slice(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                              const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_slice(t, in[0], (int)a->i[0], (int)a->i[1], (int)a->i[2]);
}

/* gate: i = start, length, act */
static int save_gate(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    a->i[1] = n->out->shape[1];
    a->i[2] = n->iarg[1];
    return 1;
}

static cr_tensor *build_gate(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                             const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_gate(t, in[0], (int)a->i[0], (int)a->i[1], (cr_gate_act)a->i[2]);
}

/* concat: i = axis (resolved) */
static int save_iarg0(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    return 1;
}

static cr_tensor *build_concat(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                               const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_concat(t, n_in, in, (int)a->i[0]);
}

/* stack: i = axis of the output (resolved) */
static cr_tensor *build_stack(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                              const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_stack(t, n_in, in, (int)a->i[0]);
}

/* select: i = axis (resolved), index */
static int save_select(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    a->i[0] = n->iarg[0];
    a->i[1] = n->iarg[1];
    return 1;
}

static cr_tensor *build_select(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                               const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr_select(t, in[0], (int)a->i[0], (int)a->i[1]);
}

/* permute: i = perm[0..4) (entries past the rank unused) */
static int save_permute(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    int perm[CR_MAX_DIMS];
    if (!cr__permute_attrs(n, perm)) return 0;
    for (int k = 0; k < CR_MAX_DIMS; k++) a->i[k] = perm[k];
    return 1;
}

static cr_tensor *build_permute(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                                const cr__gctx *c)
{
    UNUSED_ARGS;
    int perm[CR_MAX_DIMS];
    for (int k = 0; k < CR_MAX_DIMS; k++) perm[k] = (int)a->i[k];
    return cr_permute(t, in[0], perm);
}

/* ---------------------------------------------- convolution, pooling */

/* conv2d: x, w and an optional b; i = stride (2), padding (2), dilation (2), groups */
static int save_conv2d(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    cr_conv2d_opts o;
    if (!cr__conv2d_attrs(n, &o)) return 0;
    int v[7] = { o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0],
                 o.dilation[1], o.groups };
    for (int k = 0; k < 7; k++) a->i[k] = v[k];
    return 1;
}

static cr_tensor *build_conv2d(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                               const cr__gctx *c)
{
    UNUSED_ARGS;
    cr_conv2d_opts o = { { (int)a->i[0], (int)a->i[1] }, { (int)a->i[2], (int)a->i[3] },
                         { (int)a->i[4], (int)a->i[5] }, (int)a->i[6] };
    return cr_conv2d(t, in[0], in[1], n_in == 3 ? in[2] : NULL, &o);
}

/* max_pool2d, avg_pool2d: i = kernel (2), stride (2), padding (2) */
static int save_pool2d(const cr_node *n, cr__gattr *a, const cr_rng *const *r, int nr)
{
    (void)r, (void)nr;
    cr_pool2d_opts o;
    if (!cr__pool2d_attrs(n, &o)) return 0;
    int v[6] = { o.kernel[0], o.kernel[1], o.stride[0], o.stride[1], o.padding[0],
                 o.padding[1] };
    for (int k = 0; k < 6; k++) a->i[k] = v[k];
    return 1;
}

static cr_pool2d_opts pool_opts(const cr__gattr *a)
{
    return (cr_pool2d_opts){ { (int)a->i[0], (int)a->i[1] }, { (int)a->i[2], (int)a->i[3] },
                             { (int)a->i[4], (int)a->i[5] } };
}

static cr_tensor *build_max_pool2d(cr_tape *t, cr_tensor *const *in, int n_in,
                                   const cr__gattr *a, const cr__gctx *c)
{
    UNUSED_ARGS;
    cr_pool2d_opts o = pool_opts(a);
    return cr_max_pool2d(t, in[0], &o);
}

static cr_tensor *build_avg_pool2d(cr_tape *t, cr_tensor *const *in, int n_in,
                                   const cr__gattr *a, const cr__gctx *c)
{
    UNUSED_ARGS;
    cr_pool2d_opts o = pool_opts(a);
    return cr_avg_pool2d(t, in[0], &o);
}

/* ---------------------------------------------------------- dropout */

/* dropout (training mode: in evaluation mode it records nothing): i = index of its
 * generator in the graph's list, r = p */
static int save_dropout(const cr_node *n, cr__gattr *a, const cr_rng *const *rngs, int nr)
{
    const cr_rng *g = cr__dropout_rng_of(n);
    for (int k = 0; g && k < nr; k++)
        if (rngs[k] == g) {
            a->i[0] = k;
            a->r[0] = n->farg[0];
            return 1;
        }
    return 0;
}

static cr_tensor *build_dropout(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                                const cr__gctx *c)
{
    (void)n_in;
    if (a->i[0] < 0 || a->i[0] >= c->n_rngs) {
        cr_tape_fail(t, CR_ERR_FORMAT, "dropout: generator %lld is not one of the graph's %d",
                     (long long)a->i[0], c->n_rngs);
        return NULL;
    }
    return cr_dropout(t, in[0], (cr_real)a->r[0], &c->rngs[a->i[0]], 1);
}

/* batchnorm_running_stats: mu, var, x, running mean, running variance; r = momentum */
static cr_tensor *build_running_stats(cr_tape *t, cr_tensor *const *in, int n_in,
                                      const cr__gattr *a, const cr__gctx *c)
{
    UNUSED_ARGS;
    return cr__running_stats(t, in, a->r[0]);
}

/* ------------------------------------------------------------ table */

#define E0(name, nin) { #name, nin, nin, 0, 0, NULL, build_##name }
static const cr__graph_op table[] = {
    E0(add, 2), E0(sub, 2), E0(mul, 2), E0(div, 2), E0(max, 2),
    E0(neg, 1), E0(exp, 1), E0(log, 1), E0(sqrt, 1), E0(square, 1), E0(abs, 1),
    E0(relu, 1), E0(sigmoid, 1), E0(tanh, 1),
    { "pow", 1, 1, 0, 1, save_farg, build_pow },
    { "leaky_relu", 1, 1, 0, 1, save_farg, build_leaky_relu },
    { "scale", 1, 1, 0, 1, save_farg, build_scale },
    { "add_scalar", 1, 1, 0, 1, save_farg, build_add_scalar },
    { "matmul", 2, 2, 2, 0, save_matmul, build_matmul },
    { "linear", 2, 3, 0, 0, NULL, build_linear },
    E0(transpose, 1),
    E0(sum, 1), E0(mean, 1),
    { "sum_axis", 1, 1, 2, 0, save_axis_keep, build_sum_axis },
    { "mean_axis", 1, 1, 2, 0, save_axis_keep, build_mean_axis },
    { "max_axis", 1, 1, 2, 0, save_axis_keep, build_max_axis },
    E0(reshape, 1),
    { "slice", 1, 1, 3, 0, save_slice, build_slice },
    { "gate", 1, 1, 3, 0, save_gate, build_gate },
    { "concat", 1, INT_MAX, 1, 0, save_iarg0, build_concat },
    { "permute", 1, 1, 4, 0, save_permute, build_permute },
    { "stack", 1, INT_MAX, 1, 0, save_iarg0, build_stack },
    { "select", 1, 1, 2, 0, save_select, build_select },
    E0(embedding, 2), E0(detach, 1),
    E0(flatten, 1),
    { "conv2d", 2, 3, 7, 0, save_conv2d, build_conv2d },
    { "max_pool2d", 1, 1, 6, 0, save_pool2d, build_max_pool2d },
    { "avg_pool2d", 1, 1, 6, 0, save_pool2d, build_avg_pool2d },
    E0(global_avg_pool2d, 1),
    E0(softmax, 1), E0(log_softmax, 1),
    E0(softmax_cross_entropy, 2), E0(bce_with_logits, 2),
    { "dropout", 1, 1, 1, 1, save_dropout, build_dropout },
    { "batchnorm_running_stats", 5, 5, 0, 1, save_farg, build_running_stats },
};

const cr__graph_op *cr__graph_op_find(const char *name)
{
    for (size_t k = 0; name && k < sizeof table / sizeof table[0]; k++)
        if (strcmp(table[k].name, name) == 0) return &table[k];
    return NULL;
}

int cr_graph_op_known(const char *name) { return cr__graph_op_find(name) != NULL; }
