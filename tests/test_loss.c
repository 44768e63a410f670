/* Losses (nn/loss.c): closed forms on hand-computed inputs, PyTorch float64
 * fixtures (tools/fixtures/make_loss_fixture.py), gradient checks, and errors that
 * name the loss. */
#include "helpers.h"
#include "op_grad_helpers.h"
#include "fixtures/loss_fixture.h"

#include <math.h>
#include <string.h>

/* Value tolerance: exact arithmetic in double, float round-off otherwise. */
#define VTOL TOL(1e-12, 2e-6)

typedef cr_tensor *(*loss2_fn)(cr_tape *, cr_tensor *, cr_tensor *);

/* Evaluate loss(p, y) for constant data, check the value and d loss / d p. */
static void check_value_and_grad(loss2_fn f, int ndim, const int *pshape, const double *p,
                                 int yndim, const int *yshape, const double *y, double loss,
                                 const double *grad)
{
    cr_tape *t = cr_tape_new(0);
    cr_real pb[16], yb[16];
    cr_tensor *pv = cr_var(t, ndim, pshape, NULL);
    cr_tensor *yc = cr_const(t, yndim, yshape, NULL);
    assert_non_null(pv);
    assert_non_null(yc);
    assert_true(pv->size <= 16 && yc->size <= 16);
    for (size_t i = 0; i < pv->size; i++) pb[i] = (cr_real)p[i];
    for (size_t i = 0; i < yc->size; i++) yb[i] = (cr_real)y[i];
    memcpy(pv->data, pb, pv->size * sizeof *pb);
    memcpy(yc->data, yb, yc->size * sizeof *yb);
    cr_tensor *l = f(t, pv, yc);
    assert_non_null(l);
    assert_int_equal(l->ndim, 0);
    assert_int_equal(cr_backward(t, l), CR_OK);
    assert_close(cr_item(l), loss, VTOL, VTOL);
    assert_all_close(pv->grad, grad, pv->size, VTOL, VTOL);
    cr_tape_free(t);
}

static cr_tensor *huber1(cr_tape *t, cr_tensor *p, cr_tensor *y) { return cr_loss_huber(t, p, y, 1); }
static cr_tensor *huber03(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    return cr_loss_huber(t, p, y, (cr_real)0.3);
}

/* ------------------------------------------------------------ closed forms */

/* p = [1, 2, 3], y = [1.5, 2, 1]: d = [-0.5, 0, 2].
 * mse = (0.25 + 0 + 4)/3 = 1.41666..., dp = 2d/3 = [-1/3, 0, 4/3]. */
static void test_mse_closed_form(void **state)
{
    (void)state;
    int s = 3;
    const double p[] = { 1, 2, 3 }, y[] = { 1.5, 2, 1 }, g[] = { -1.0 / 3, 0, 4.0 / 3 };
    check_value_and_grad(cr_loss_mse, 1, &s, p, 1, &s, y, 4.25 / 3, g);
}

/* Same inputs: mae = (0.5 + 0 + 2)/3 = 0.8333..., dp = sign(d)/3 with sign(0) = 0. */
static void test_mae_closed_form_and_zero_gradient_at_tie(void **state)
{
    (void)state;
    int s = 3;
    const double p[] = { 1, 2, 3 }, y[] = { 1.5, 2, 1 }, g[] = { -1.0 / 3, 0, 1.0 / 3 };
    check_value_and_grad(cr_loss_mae, 1, &s, p, 1, &s, y, 2.5 / 3, g);
}

/* delta = 1, d = [-0.5, 0, 2]: terms 0.5*0.25 = 0.125, 0, 1*(2 - 0.5) = 1.5;
 * huber = 1.625/3 = 0.541666..., dp = [-0.5, 0, delta*sign(2)]/3. */
static void test_huber_closed_form_both_branches(void **state)
{
    (void)state;
    int s = 3;
    const double p[] = { 1, 2, 3 }, y[] = { 1.5, 2, 1 }, g[] = { -0.5 / 3, 0, 1.0 / 3 };
    check_value_and_grad(huber1, 1, &s, p, 1, &s, y, 1.625 / 3, g);
}

/* p = [0.5, -2, 2], y = [1, -1, -1]: 1 - y p = [0.5, -1, 3] -> relu [0.5, 0, 3];
 * hinge = 3.5/3, dp = -y [active]/3 = [-1/3, 0, 1/3]. */
static void test_hinge_closed_form(void **state)
{
    (void)state;
    int s = 3;
    const double p[] = { 0.5, -2, 2 }, y[] = { 1, -1, -1 }, g[] = { -1.0 / 3, 0, 1.0 / 3 };
    check_value_and_grad(cr_loss_hinge, 1, &s, p, 1, &s, y, 3.5 / 3, g);
}

/* Same inputs: 0.5 * [0.25, 0, 9] -> mean 4.625/3 = 1.541666...;
 * dp = -y * relu(1 - y p)/3 = [-0.5/3, 0, 3/3]. */
static void test_squared_hinge_closed_form(void **state)
{
    (void)state;
    int s = 3;
    const double p[] = { 0.5, -2, 2 }, y[] = { 1, -1, -1 }, g[] = { -0.5 / 3, 0, 1 };
    check_value_and_grad(cr_loss_squared_hinge, 1, &s, p, 1, &s, y, 4.625 / 3, g);
}

/* z = [[1, 3, 2.5], [0, 0, 0]], y = [1, 2], N = 2, C = 3.
 * row 0: j=0: 1 - 3 + 1 = -1 -> 0; j=2: 1 - 3 + 2.5 = 0.5.   sum 0.5
 * row 1: j=0: 1 - 0 + 0 = 1;       j=1: 1.                    sum 2
 * loss = (0.5 + 2)/(N C) = 2.5/6; dz = +-1/6 per active margin (minus on z_y). */
static void test_multiclass_hinge_closed_form(void **state)
{
    (void)state;
    int zs[2] = { 2, 3 }, ys = 2;
    const double z[] = { 1, 3, 2.5, 0, 0, 0 }, y[] = { 1, 2 };
    const double g[] = { 0, -1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, -2.0 / 6 };
    check_value_and_grad(cr_loss_multiclass_hinge, 2, zs, z, 1, &ys, y, 2.5 / 6, g);
}

/* p = [0.8, 0.25], y = [1, 0]: bce = -(log 0.8 + log 0.75)/2 = 0.2554128118829953;
 * dp = (-y/p + (1-y)/(1-p))/N = [-1/(0.8*2), 1/(0.75*2)] = [-0.625, 0.6666...]. */
static void test_bce_closed_form(void **state)
{
    (void)state;
    int s = 2;
    const double p[] = { 0.8, 0.25 }, y[] = { 1, 0 }, g[] = { -0.625, 1 / 1.5 };
    check_value_and_grad(cr_loss_bce, 1, &s, p, 1, &s, y, -(log(0.8) + log(0.75)) / 2, g);
}

/* p = 0 with y = 1: the log is clamped (at -100 in double, where PyTorch clamps; at
 * cr_log's floor log(FLT_MIN) = -87.3365 in float), so the loss is finite and the
 * clamped term passes no gradient. */
static void test_bce_of_certain_wrong_prediction_is_finite(void **state)
{
    (void)state;
    int s = 1;
    const double p[] = { 0 }, y[] = { 1 }, g[] = { 0 };
    check_value_and_grad(cr_loss_bce, 1, &s, p, 1, &s, y, TOL(100, -log((double)FLT_MIN)), g);
}

/* z = [0, 0], y = [1, 0.25]: each term is log 2 - z y = log 2; dz = (s(z) - y)/2 =
 * [(0.5 - 1)/2, (0.5 - 0.25)/2] = [-0.25, 0.125]. */
static void test_bce_logits_closed_form(void **state)
{
    (void)state;
    int s = 2;
    const double z[] = { 0, 0 }, y[] = { 1, 0.25 }, g[] = { -0.25, 0.125 };
    check_value_and_grad(cr_loss_bce_logits, 1, &s, z, 1, &s, y, log(2.0), g);
}

/* z = [[0, log 3]], y = [1]: softmax = [1/4, 3/4], loss = -log(3/4) = 0.2876820724517809,
 * dz = softmax - onehot = [0.25, -0.25]. */
static void test_softmax_ce_index_closed_form(void **state)
{
    (void)state;
    int zs[2] = { 1, 2 }, ys = 1;
    const double z[] = { 0, log(3.0) }, y[] = { 1 }, g[] = { 0.25, -0.25 };
    check_value_and_grad(cr_softmax_cross_entropy, 2, zs, z, 1, &ys, y, -log(0.75), g);
}

/* z = [0, log 3] (one sample, rank 1), y = [0.5, 0.5]:
 * loss = -(0.5 log 1/4 + 0.5 log 3/4) = 0.8369882167858358,
 * dz = softmax - y = [-0.25, 0.25]. */
static void test_softmax_ce_soft_closed_form(void **state)
{
    (void)state;
    int s = 2;
    const double z[] = { 0, log(3.0) }, y[] = { 0.5, 0.5 }, g[] = { -0.25, 0.25 };
    check_value_and_grad(cr_loss_softmax_ce_soft, 1, &s, z, 1, &s, y,
                         -(0.5 * log(0.25) + 0.5 * log(0.75)), g);
}

/* W = [[1, 2], [3, 4]], b = [5], lambda = 0.1:
 * all tensors: 0.05 * (1 + 4 + 9 + 16 + 25) = 2.75, dW = 0.1 W, db = 0.5;
 * weights only: 0.05 * 30 = 1.5, db = 0. */
static void test_l2_penalty_closed_form_all_and_weights_only(void **state)
{
    (void)state;
    int ws[2] = { 2, 2 }, bs = 1;
    cr_tensor *W = cr_param_new(2, ws), *b = cr_param_new(1, &bs);
    const cr_real wv[] = { 1, 2, 3, 4 };
    cr_tensor_set(W, wv, 4);
    b->data[0] = 5;
    cr_params *ps = cr_params_new();
    assert_int_equal(cr_params_add(ps, W, "W", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add(ps, b, "b", NULL, 0), CR_OK);
    const double expect[2] = { 2.75, 1.5 }, db[2] = { 0.5, 0 };
    const double dW[4] = { 0.1, 0.2, 0.3, 0.4 };
    cr_tape *t = cr_tape_new(0);
    for (int only = 0; only <= 1; only++) {
        cr_tape_reset(t);
        cr_params_zero_grad(ps);
        cr_tensor *l = cr_loss_l2(t, ps, (cr_real)0.1, only);
        assert_int_equal(cr_backward(t, l), CR_OK);
        assert_close(cr_item(l), expect[only], VTOL, VTOL);
        assert_all_close(W->grad, dW, 4, VTOL, VTOL);
        assert_close(b->grad[0], db[only], VTOL, VTOL);
    }
    /* A selection without weights is the constant 0. */
    cr_params *only_b = cr_params_new();
    assert_int_equal(cr_params_add(only_b, b, "b", NULL, 0), CR_OK);
    cr_tape_reset(t);
    cr_tensor *z = cr_loss_l2(t, only_b, 1, 1);
    assert_non_null(z);
    assert_close(cr_item(z), 0, 0, 0);
    cr_params_free(only_b);
    cr_tape_free(t);
    cr_params_free(ps);
    cr_tensor_free(W);
    cr_tensor_free(b);
}

/* ---------------------------------------------------------- PyTorch fixture */

static void test_regression_losses_match_pytorch(void **state)
{
    (void)state;
    int s[2] = { 2, 3 };
    check_value_and_grad(cr_loss_mse, 2, s, lf_reg_p, 2, s, lf_reg_y, lf_mse_loss, lf_mse_grad);
    check_value_and_grad(cr_loss_mae, 2, s, lf_reg_p, 2, s, lf_reg_y, lf_mae_loss, lf_mae_grad);
    check_value_and_grad(huber1, 2, s, lf_reg_p, 2, s, lf_reg_y, lf_huber1_loss, lf_huber1_grad);
    check_value_and_grad(huber03, 2, s, lf_reg_p, 2, s, lf_reg_y, lf_huber03_loss,
                         lf_huber03_grad);
}

/* SmoothL1(beta) = Huber(delta = beta) / beta: the fixture's smooth_l1 times 0.3. */
static void test_huber_is_smooth_l1_times_beta(void **state)
{
    (void)state;
    int s[2] = { 2, 3 };
    double g[6];
    for (int i = 0; i < 6; i++) g[i] = lf_smooth_l1_03_grad[i] * 0.3;
    check_value_and_grad(huber03, 2, s, lf_reg_p, 2, s, lf_reg_y, lf_smooth_l1_03_loss * 0.3, g);
}

static void test_binary_losses_match_pytorch(void **state)
{
    (void)state;
    int s[2] = { 2, 3 }, h = 6;
    check_value_and_grad(cr_loss_bce, 2, s, lf_bin_q, 2, s, lf_bin_t, lf_bce_loss, lf_bce_grad);
    check_value_and_grad(cr_loss_bce_logits, 2, s, lf_bin_z, 2, s, lf_bin_t, lf_bce_logits_loss,
                         lf_bce_logits_grad);
    check_value_and_grad(cr_loss_hinge, 1, &h, lf_hin_p, 1, &h, lf_hin_y, lf_hinge_loss,
                         lf_hinge_grad);
    check_value_and_grad(cr_loss_squared_hinge, 1, &h, lf_hin_p, 1, &h, lf_hin_y,
                         lf_sq_hinge_loss, lf_sq_hinge_grad);
}

static void test_multiclass_losses_match_pytorch(void **state)
{
    (void)state;
    int zs[2] = { 3, 4 }, ys = 3;
    check_value_and_grad(cr_softmax_cross_entropy, 2, zs, lf_cls_z, 1, &ys, lf_cls_y,
                         lf_ce_index_loss, lf_ce_index_grad);
    check_value_and_grad(cr_loss_softmax_ce_soft, 2, zs, lf_cls_z, 2, zs, lf_cls_prob,
                         lf_ce_prob_loss, lf_ce_prob_grad);
    check_value_and_grad(cr_loss_multiclass_hinge, 2, zs, lf_cls_z, 1, &ys, lf_cls_y,
                         lf_multi_margin_loss, lf_multi_margin_grad);
}

/* ------------------------------------------------------- gradient checks */

typedef struct lcase {
    loss2_fn f;
    cr_tensor *labels;    /* heap constant for index losses, else NULL */
} lcase;

/* inputs: prediction [, target] */
static cr_tensor *build_loss(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    const lcase *c = user;
    return c->f(t, in[0], n > 1 ? in[1] : c->labels);
}

/* y ~ U(-1, 1), p = y + s with |s| in [0.2, 0.7] or [1.3, 2]: away from the kinks
 * of |d| at 0 and of Huber(1) at |d| = 1. */
static void fill_regression(cr_rng *r, cr_tensor *p, cr_tensor *y)
{
    for (size_t i = 0; i < p->size; i++) {
        y->data[i] = (cr_real)(2 * cr_rng_uniform(r) - 1);
        double m = 0.2 + 0.5 * cr_rng_uniform(r) + (cr_rng_u32(r) & 1 ? 1.1 : 0);
        p->data[i] = (cr_real)(y->data[i] + (cr_rng_u32(r) & 1 ? m : -m));
    }
}

static void test_regression_losses_pass_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 11);
    int s[2] = { 3, 4 };
    cr_tensor *p = cr_param_new(2, s), *y = cr_param_new(2, s);
    fill_regression(&r, p, y);
    cr_tensor *in[2] = { p, y };
    lcase cases[] = { { cr_loss_mse, NULL }, { cr_loss_mae, NULL }, { huber1, NULL } };
    const char *names[] = { "mse", "mae", "huber" };
    for (int k = 0; k < 3; k++) check_gradients(build_loss, in, 2, &cases[k], names[k]);
    cr_tensor_free(p);
    cr_tensor_free(y);
}

static void test_binary_losses_pass_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 12);
    int s[2] = { 2, 5 };
    /* probabilities in [0.1, 0.9], soft targets in [0, 1] */
    cr_tensor *q = rand_param(&r, 2, s, 0.1, 0.9), *yt = rand_param(&r, 2, s, 0, 1);
    cr_tensor *z = rand_param(&r, 2, s, -3, 3);
    cr_tensor *in_q[2] = { q, yt }, *in_z[2] = { z, yt };
    lcase bce = { cr_loss_bce, NULL }, bcel = { cr_loss_bce_logits, NULL };
    check_gradients(build_loss, in_q, 2, &bce, "bce");
    check_gradients(build_loss, in_z, 2, &bcel, "bce_logits");
    /* hinge: labels +-1, p = y (1 + m) with |m| in [0.2, 1]: margins 1 - y p = -m */
    cr_tensor *hp = cr_param_new(2, s), *hy = cr_param_new(2, s);
    for (size_t i = 0; i < hp->size; i++) {
        hy->data[i] = cr_rng_u32(&r) & 1 ? 1 : -1;
        double m = (0.2 + 0.8 * cr_rng_uniform(&r)) * (cr_rng_u32(&r) & 1 ? 1 : -1);
        hp->data[i] = (cr_real)(hy->data[i] * (1 + m));
    }
    cr_tensor *in_h[2] = { hp, hy };
    lcase h = { cr_loss_hinge, NULL }, sh = { cr_loss_squared_hinge, NULL };
    check_gradients(build_loss, in_h, 2, &h, "hinge");
    check_gradients(build_loss, in_h, 2, &sh, "squared_hinge");
    cr_tensor_free(q);
    cr_tensor_free(yt);
    cr_tensor_free(z);
    cr_tensor_free(hp);
    cr_tensor_free(hy);
}

static void test_multiclass_losses_pass_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 13);
    int zs[2] = { 3, 4 }, ys = 3;
    /* ramp values 0.15 apart: 1 - z_y + z_j = 1 - 0.15 k is never within 0.05 of 0 */
    cr_tensor *z = ramp_param(&r, 2, zs, -1, 0.15);
    cr_tensor *labels = cr_tensor_new(1, &ys);
    const cr_real lv[3] = { 2, 0, 3 };
    cr_tensor_set(labels, lv, 3);
    lcase ce = { cr_softmax_cross_entropy, labels }, mh = { cr_loss_multiclass_hinge, labels };
    check_gradients(build_loss, &z, 1, &ce, "softmax_ce");
    check_gradients(build_loss, &z, 1, &mh, "multiclass_hinge");
    /* soft targets: rows of positive weights normalised to 1; gradient for both */
    cr_tensor *y = rand_param(&r, 2, zs, 0.1, 1);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += y->data[i * 4 + j];
        for (int j = 0; j < 4; j++) y->data[i * 4 + j] = (cr_real)(y->data[i * 4 + j] / s);
    }
    cr_tensor *in[2] = { z, y };
    lcase soft = { cr_loss_softmax_ce_soft, NULL };
    check_gradients(build_loss, in, 2, &soft, "softmax_ce_soft");
    cr_tensor_free(z);
    cr_tensor_free(y);
    cr_tensor_free(labels);
}

static cr_tensor *build_l2(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)in;
    (void)n;
    return cr_loss_l2(t, user, (cr_real)0.3, 0);
}

static void test_l2_penalty_passes_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 14);
    int ws[2] = { 3, 2 }, bs = 2;
    cr_tensor *in[2] = { rand_param(&r, 2, ws, -1, 1), rand_param(&r, 1, &bs, -1, 1) };
    cr_params *ps = cr_params_new();
    cr_params_add(ps, in[0], "W", NULL, 0);
    cr_params_add(ps, in[1], "b", NULL, 0);
    check_gradients(build_l2, in, 2, ps, "l2");
    cr_params_free(ps);
    cr_tensor_free(in[0]);
    cr_tensor_free(in[1]);
}

/* ---------------------------------------------------------------- replay */

/* The one-hot rows of the multiclass hinge are built with ops from the labels, so
 * a replay with new labels uses them: z = [[0, 0, 0]], label 0 -> 2/3 either way,
 * but z = [[2, 0, 0]]: label 0 -> 0, label 1 -> (3 + 1)/3 = 4/3. */
static void test_multiclass_hinge_replay_uses_new_labels(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int zs[2] = { 1, 3 }, ys = 1;
    const cr_real zv[3] = { 2, 0, 0 }, y0 = 0;
    cr_tensor *z = cr_var(t, 2, zs, zv), *y = cr_const(t, 1, &ys, &y0);
    cr_tensor *l = cr_loss_multiclass_hinge(t, z, y);
    assert_close(cr_item(l), 0, 0, 0);
    y->data[0] = 1;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(l), 4.0 / 3, VTOL, VTOL);
    assert_int_equal(cr_backward(t, l), CR_OK);
    const double g[3] = { 1.0 / 3, -2.0 / 3, 1.0 / 3 };
    assert_all_close(z->grad, g, 3, VTOL, VTOL);
    cr_tape_free(t);
}

/* ---------------------------------------------------------------- errors */

static void test_shape_mismatch_error_names_the_loss(void **state)
{
    (void)state;
    struct { loss2_fn f; const char *name; } fs[] = {
        { cr_loss_mse, "mse_loss: prediction is 4x1 but target is 4" },
        { cr_loss_mae, "mae_loss: prediction is 4x1" },
        { huber1, "huber_loss: prediction is 4x1" },
        { cr_loss_hinge, "hinge_loss: prediction is 4x1" },
        { cr_loss_squared_hinge, "squared_hinge_loss: prediction is 4x1" },
        { cr_loss_bce, "bce_loss: prediction is 4x1" },
        { cr_loss_bce_logits, "bce_logits_loss: prediction is 4x1" },
        { cr_loss_softmax_ce_soft, "softmax_ce_soft_loss: prediction is 4x1" },
    };
    cr_tape *t = cr_tape_new(0);
    for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
        cr_tape_reset(t);
        int ps[2] = { 4, 1 }, ys = 4;
        cr_tensor *p = cr_var(t, 2, ps, NULL), *y = cr_const(t, 1, &ys, NULL);
        assert_null(fs[k].f(t, p, y));
        assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);
        assert_tape_error(t, fs[k].name);
    }
    cr_tape_free(t);
}

static void test_bad_arguments_give_errors_naming_the_loss(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int zs[2] = { 2, 4 }, ys = 2;
    const cr_real bad[2] = { 1, 4 };
    cr_tensor *z = cr_var(t, 2, zs, NULL);

    assert_null(cr_loss_mse(t, z, NULL));
    assert_tape_error(t, "mse_loss: input 2 is NULL");

    cr_tape_reset(t);
    z = cr_var(t, 2, zs, NULL);
    assert_null(cr_loss_multiclass_hinge(t, z, cr_const(t, 1, &ys, bad)));
    assert_tape_error(t, "multiclass_hinge_loss: label 4 at row 1 is not a class index in 0..3");

    cr_tape_reset(t);
    z = cr_var(t, 2, zs, NULL);
    assert_null(cr_loss_huber(t, z, z, 0));
    assert_tape_error(t, "huber_loss: delta is 0 but must be > 0");

    cr_tape_reset(t);
    assert_null(cr_loss_l2(t, NULL, 1, 0));
    assert_tape_error(t, "l2_loss: params is NULL");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mse_closed_form),
        cmocka_unit_test(test_mae_closed_form_and_zero_gradient_at_tie),
        cmocka_unit_test(test_huber_closed_form_both_branches),
        cmocka_unit_test(test_hinge_closed_form),
        cmocka_unit_test(test_squared_hinge_closed_form),
        cmocka_unit_test(test_multiclass_hinge_closed_form),
        cmocka_unit_test(test_bce_closed_form),
        cmocka_unit_test(test_bce_of_certain_wrong_prediction_is_finite),
        cmocka_unit_test(test_bce_logits_closed_form),
        cmocka_unit_test(test_softmax_ce_index_closed_form),
        cmocka_unit_test(test_softmax_ce_soft_closed_form),
        cmocka_unit_test(test_l2_penalty_closed_form_all_and_weights_only),
        cmocka_unit_test(test_regression_losses_match_pytorch),
        cmocka_unit_test(test_huber_is_smooth_l1_times_beta),
        cmocka_unit_test(test_binary_losses_match_pytorch),
        cmocka_unit_test(test_multiclass_losses_match_pytorch),
        cmocka_unit_test(test_regression_losses_pass_gradcheck),
        cmocka_unit_test(test_binary_losses_pass_gradcheck),
        cmocka_unit_test(test_multiclass_losses_pass_gradcheck),
        cmocka_unit_test(test_l2_penalty_passes_gradcheck),
        cmocka_unit_test(test_multiclass_hinge_replay_uses_new_labels),
        cmocka_unit_test(test_shape_mismatch_error_names_the_loss),
        cmocka_unit_test(test_bad_arguments_give_errors_naming_the_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
