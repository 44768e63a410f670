/* No heap allocation per training step: an MLP training loop the way examples/train
 * runs it (one pool for the program lent to both step tapes, the optimizer and the
 * gather; a full-size and a smaller last batch, each recorded once and replayed, or
 * re-recorded every step) allocates nothing after its first epoch. tests/matrix.sh
 * runs this under every CR_CPU_CACHES setting, GEMM kernel and thread count, so the
 * GEMM products take their direct or packed paths as those caches decide. */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES 392
#define CLASSES 10
#define SAMPLES (3 * 64 + 23) /* three batches of 64, then one of 23 */
#define BATCH 64

typedef struct step_graph {
    cr_tape *t;
    cr_tensor *x, *y, *loss;
} step_graph;

typedef struct loop {
    cr_pool *pool;
    cr_dataset *data;
    cr_mlp *mlp;
    cr_optim *opt;
    cr_batcher *batcher;
    step_graph g[2]; /* full batch, last batch */
    int rerecord;
} loop;

static void record(loop *L, step_graph *g)
{
    cr_tape_reset(g->t);
    g->loss = cr_softmax_cross_entropy(g->t, cr_mlp_forward(g->t, L->mlp, g->x), g->y);
    if (!g->loss) print_error("recording: %s\n", cr_tape_error(g->t));
    assert_non_null(g->loss);
}

static void loop_new(loop *L, const cr_mlp_config *mc, cr_optim_kind kind, int rerecord)
{
    memset(L, 0, sizeof *L);
    L->rerecord = rerecord;
    L->pool = cr_pool_new(0); /* CR_NUM_THREADS threads: the program's one pool */
    assert_non_null(L->pool);

    float *values = malloc(sizeof(float) * SAMPLES * FEATURES);
    int labels[SAMPLES];
    assert_non_null(values);
    cr_rng rng;
    cr_rng_seed(&rng, 11);
    for (int i = 0; i < SAMPLES * FEATURES; i++) values[i] = (float)cr_rng_uniform(&rng);
    for (int i = 0; i < SAMPLES; i++) labels[i] = i % CLASSES;
    char msg[200];
    assert_int_equal(cr_dataset_from_arrays(&L->data, values, labels, SAMPLES, FEATURES,
                                            CLASSES, msg, sizeof msg),
                     CR_OK);
    free(values);

    int sizes[] = { FEATURES, 128, 64, CLASSES };
    L->mlp = cr_mlp_new_config(4, sizes, mc, &rng, NULL, 0);
    assert_non_null(L->mlp);
    cr_optim_config oc = cr_optim_defaults(kind);
    L->opt = cr_optim_new(cr_mlp_params(L->mlp), &oc, msg, sizeof msg);
    assert_non_null(L->opt);
    assert_int_equal(cr_optim_set_pool(L->opt, L->pool), CR_OK);
    L->batcher = cr_batcher_new(NULL, SAMPLES, BATCH, CR_BATCH_SHUFFLE, 5, NULL, 0);
    assert_non_null(L->batcher);
    for (int k = 0; k < 2; k++) {
        step_graph *g = &L->g[k];
        int rows = k == 0 ? BATCH : SAMPLES % BATCH;
        g->t = cr_tape_new(0);
        g->x = cr_tensor_new(2, (int[]){ rows, FEATURES });
        g->y = cr_tensor_new(1, (int[]){ rows });
        assert_non_null(g->t);
        assert_non_null(g->x);
        assert_non_null(g->y);
        assert_int_equal(cr_tape_set_pool(g->t, L->pool), CR_OK);
        assert_ptr_equal(cr_tape_pool(g->t), L->pool);
        if (!rerecord) record(L, g);
    }
}

static void loop_free(loop *L)
{
    for (int k = 0; k < 2; k++) {
        cr_tape_free(L->g[k].t);
        cr_tensor_free(L->g[k].x);
        cr_tensor_free(L->g[k].y);
    }
    cr_batcher_free(L->batcher);
    cr_optim_free(L->opt);
    cr_mlp_free(L->mlp);
    cr_dataset_free(L->data);
    cr_pool_free(L->pool); /* last: the tapes and the optimizer borrowed it */
}

/* One epoch of steps; returns the mean loss. */
static double epoch(loop *L, uint64_t e)
{
    assert_int_equal(cr_batcher_seek(L->batcher, e, 0, NULL, 0), CR_OK);
    const int *idx;
    size_t m;
    double sum = 0;
    int steps = 0;
    while ((m = cr_batcher_next(L->batcher, &idx)) > 0) {
        step_graph *g = &L->g[m == BATCH ? 0 : 1];
        assert_int_equal(cr_dataset_gather_pool(L->data, idx, m, g->x, g->y, L->pool, NULL, 0), CR_OK);
        cr_optim_zero_grad(L->opt);
        if (L->rerecord)
            record(L, g);
        else
            assert_int_equal(cr_tape_forward(g->t), CR_OK);
        assert_int_equal(cr_backward(g->t, g->loss), CR_OK);
        assert_int_equal(cr_optim_step(L->opt, NULL, 0), CR_OK);
        sum += g->loss->data[0];
        steps++;
    }
    assert_int_equal(steps, 4);
    return sum / steps;
}

/* The first epoch sizes the arenas and the pool's packing buffers; three more
 * epochs allocate nothing, and the model does learn (the loss goes down). */
static void check_no_allocation_after_first_epoch(const cr_mlp_config *mc, cr_optim_kind kind,
                                                  int rerecord)
{
    loop L;
    loop_new(&L, mc, kind, rerecord);
    cr_test_alloc counter = { 0 };
    cr_test_alloc_install(&counter);
    double first = epoch(&L, 0);
    size_t warm = counter.mallocs + counter.reallocs;
    double last = first;
    for (uint64_t e = 1; e <= 3; e++) last = epoch(&L, e);
    size_t steady = counter.mallocs + counter.reallocs;
    cr_test_alloc_remove();
    if (steady != warm)
        print_error("%zu allocations in epochs 2-4 (%s, %s)\n", steady - warm,
                    cr_optim_kind_name(kind), rerecord ? "re-recorded" : "replayed");
    assert_int_equal(steady, warm);
    assert_true(isfinite(last) && last < first);
    loop_free(&L);
}

static void test_mlp_sgd_replayed_allocates_nothing_per_step(void **state)
{
    (void)state;
    cr_mlp_config mc = cr_mlp_default_config();
    check_no_allocation_after_first_epoch(&mc, CR_OPTIM_SGD, 0);
}

static void test_mlp_adam_rerecorded_allocates_nothing_per_step(void **state)
{
    (void)state;
    cr_mlp_config mc = cr_mlp_default_config();
    check_no_allocation_after_first_epoch(&mc, CR_OPTIM_ADAM, 1);
}

static void test_mlp_with_batchnorm_and_dropout_allocates_nothing_per_step(void **state)
{
    (void)state;
    cr_mlp_config mc = cr_mlp_default_config();
    mc.batchnorm = 1;
    mc.dropout = (cr_real)0.25;
    check_no_allocation_after_first_epoch(&mc, CR_OPTIM_MOMENTUM, 0);
    check_no_allocation_after_first_epoch(&mc, CR_OPTIM_ADAMW, 1);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_test_config_accepted),
        cmocka_unit_test(test_mlp_sgd_replayed_allocates_nothing_per_step),
        cmocka_unit_test(test_mlp_adam_rerecorded_allocates_nothing_per_step),
        cmocka_unit_test(test_mlp_with_batchnorm_and_dropout_allocates_nothing_per_step),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
