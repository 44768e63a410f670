/* The teaching surface: backward trace, labels, tape table, Graphviz export. */
#include "helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Capture what fn writes to a FILE into a NUL-terminated heap string (free it). */
typedef struct capture {
    char *buf;
    size_t len;
    FILE *f;
} capture;

static FILE *capture_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    return c->f;
}

static char *capture_close(capture *c)
{
    fclose(c->f);
    return c->buf;
}

/* f = x*(x+y) at (2, 1), every tensor labelled, traced into a string. */
static char *trace_x_times_x_plus_y(void)
{
    capture c;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *y = cr_tensor_label(cr_scalar(t, 1), "y");
    cr_tensor *z = cr_tensor_label(cr_add(t, x, y), "z");
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, z), "f");
    cr_tape_set_trace(t, capture_open(&c));
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 5, 0, 0);
    cr_tape_free(t);
    return capture_close(&c);
}

/* chainrule reads CR_ASCII once per process: the trace is printed by this program
 * run again (`test_teaching --print-trace`) with CR_ASCII set to `ascii` (NULL:
 * unset); returns what it printed (free it). */
static const char *self_path;

static char *trace_in_child(const char *ascii)
{
    char *old = getenv("CR_ASCII") ? strdup(getenv("CR_ASCII")) : NULL;
    if (ascii)
        setenv("CR_ASCII", ascii, 1);
    else
        unsetenv("CR_ASCII");
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "'%s' --print-trace", self_path);
    FILE *f = popen(cmd, "r");
    if (old) setenv("CR_ASCII", old, 1);
    else unsetenv("CR_ASCII");
    free(old);
    assert_non_null(f);
    capture c;
    FILE *out = capture_open(&c);
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, out);
    assert_int_equal(pclose(f), 0);
    return capture_close(&c);
}

/* The example, line for line (course notes: ∂f/∂z = x = 2, ∂f/∂x = z = 3 at
 * the f node; 2·1 through z; totals 5 and 2). */
static void test_trace_of_x_times_x_plus_y_matches_exactly(void **state)
{
    (void)state;
    char *out = trace_in_child(NULL);
    assert_string_equal(out,
                        "backward from f = 6\n"
                        "f = mul(x, z) = 6, incoming ∂f/∂f = 1\n"
                        "  ∂f/∂x (via f) = z = 3\n"
                        "  ∂f/∂z = x = 2\n"
                        "z = add(x, y) = 3, incoming ∂f/∂z = 2\n"
                        "  ∂f/∂x (via z) = 2·1 = 2\n"
                        "  ∂f/∂y = 2·1 = 2\n"
                        "totals:\n"
                        "  ∂f/∂x = 5\n"
                        "  ∂f/∂y = 2\n");
    free(out);
}

static void test_trace_ascii_fallback_uses_d_and_star(void **state)
{
    (void)state;
    char *out = trace_in_child("1");
    assert_non_null(strstr(out, "  df/dz = x = 2\n"));
    assert_non_null(strstr(out, "  df/dx (via z) = 2*1 = 2\n"));
    assert_null(strstr(out, "\xe2\x88\x82"));
    free(out);
}

/* Unlabelled tensors are called #id; numbers are the shortest exact text. */
static void test_trace_names_unlabelled_nodes_by_id_and_prints_exact_scalars(void **state)
{
    (void)state;
    capture c;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_scalar(t, (cr_real)0.1), *b = cr_scalar(t, 3);
    cr_tensor *f = cr_mul(t, a, b);                         /* f = 0.1*3, df/da = 3 */
    cr_tape_set_trace(t, capture_open(&c));
    assert_int_equal(cr_backward(t, f), CR_OK);
    cr_tape_free(t);
    char *out = capture_close(&c);
    assert_non_null(strstr(out, "#2 = mul(#0, #1)"));
    assert_non_null(strstr(out, "  ∂#2/∂#0 = #1 = 3\n"));
    assert_non_null(strstr(out, "  ∂#2/∂#1 = #0 = 0.1\n"));
    free(out);
}

/* When the incoming gradient is 0 the local derivative is still shown (it is read
 * with a unit gradient, not divided out): f = max(w*x, 5) with w*x = 3 < 5. */
static void test_trace_shows_local_derivative_under_zero_incoming_gradient(void **state)
{
    (void)state;
    capture c;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *w = cr_tensor_label(cr_scalar(t, 3), "w");
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 1), "x");
    cr_tensor *u = cr_tensor_label(cr_mul(t, w, x), "u");
    cr_tensor *f = cr_tensor_label(cr_max(t, u, cr_tensor_label(cr_scalar_const(t, 5), "5")), "f");
    cr_tape_set_trace(t, capture_open(&c));
    assert_int_equal(cr_backward(t, f), CR_OK);
    cr_tape_free(t);
    char *out = capture_close(&c);
    assert_non_null(strstr(out, "  ∂f/∂u = 1·0 = 0\n"));            /* max: 3 < 5 */
    assert_non_null(strstr(out, "  ∂f/∂x = 0·w = 0·3 = 0\n"));      /* local w = 3 */
    free(out);
}

/* Tensors print a summary and their shape; heap parameters appear in the totals. */
static void test_trace_tensor_steps_print_shape_and_parameter_totals(void **state)
{
    (void)state;
    capture c;
    int s3 = 3;
    cr_tensor *W = cr_param_new(1, &s3);
    cr_real wv[3] = { 1, 2, 3 };
    cr_tensor_set(W, wv, 3);
    cr_tensor_set_name(W, "W");
    cr_tape *t = cr_tape_new(0);
    cr_real xv[3] = { 4, 5, 6 };
    cr_tensor *x = cr_tensor_label(cr_const(t, 1, &s3, xv), "x");
    cr_tensor *p = cr_tensor_label(cr_mul(t, W, x), "p");
    cr_tensor *L = cr_tensor_label(cr_sum(t, p), "L");
    cr_tape_set_trace(t, capture_open(&c));
    assert_int_equal(cr_backward(t, L), CR_OK);
    char *out = capture_close(&c);
    assert_non_null(strstr(out, "  ∂L/∂p = 1·([1 1 1] (shape 3)) = [1 1 1] (shape 3)\n"));
    assert_non_null(strstr(out, "p = mul(W, x) = [4 10 18] (shape 3)"));
    assert_non_null(strstr(out, "totals:\n  ∂L/∂W = [4 5 6] (shape 3)\n"));
    assert_null(strstr(out, "∂L/∂x"));                      /* a constant gets none */
    free(out);
    cr_tape_free(t);
    cr_tensor_free(W);
}

/* A traced backward leaves exactly the gradients of an untraced one. */
static cr_tensor *small_net(cr_tape *t, cr_tensor *W, cr_tensor *b)
{
    int xs[2] = { 2, 3 }, two = 2;
    cr_real xv[6] = { 0.5, -1, 2, 1.5, 0.25, -0.75 }, yv[2] = { 1, 0 };
    cr_tensor *x = cr_const(t, 2, xs, xv), *y = cr_const(t, 1, &two, yv);
    cr_tensor *h = cr_tanh(t, cr_linear(t, x, W, b));
    return cr_softmax_cross_entropy(t, cr_mul(t, h, h), y);
}

static void test_trace_leaves_gradients_bit_identical(void **state)
{
    (void)state;
    int ws[2] = { 3, 2 }, two = 2;
    cr_real g[2][8];
    for (int traced = 0; traced < 2; traced++) {
        cr_tensor *W = cr_param_new(2, ws), *b = cr_param_new(1, &two);
        cr_rng r;
        cr_rng_seed(&r, 5);
        cr_tensor_rand_normal(W, &r, 0, 1);
        cr_tensor_rand_normal(b, &r, 0, 1);
        cr_tape *t = cr_tape_new(0);
        FILE *null = fopen("/dev/null", "w");
        assert_non_null(null);
        cr_tape_set_trace(t, traced ? null : NULL);
        assert_int_equal(cr_backward(t, small_net(t, W, b)), CR_OK);
        memcpy(g[traced], W->grad, 6 * sizeof(cr_real));
        memcpy(g[traced] + 6, b->grad, 2 * sizeof(cr_real));
        fclose(null);
        cr_tape_free(t);
        cr_tensor_free(W);
        cr_tensor_free(b);
    }
    assert_memory_equal(g[0], g[1], sizeof g[0]);
}

/* A user-defined op is traced and drawn like a built-in one: its local derivative
 * comes from its own backward callback. cube: y = x^3, dx += g*3x^2 (12 at x = 2). */
static void cube_forward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    (void)user;
    out->data[0] = in[0]->data[0] * in[0]->data[0] * in[0]->data[0];
}

static void cube_backward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    (void)user;
    if (in[0]->grad) in[0]->grad[0] += out->grad[0] * 3 * in[0]->data[0] * in[0]->data[0];
}

static void test_trace_and_dot_read_a_custom_ops_local_derivative(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *y = cr_tensor_label(cr_custom(t, "cube", 1, &x, 0, NULL, cube_forward,
                                             cube_backward, NULL), "y");
    cr_tensor *f = cr_tensor_label(cr_scale(t, y, 5), "f");          /* f = 5x^3 */
    capture c;
    cr_tape_set_trace(t, capture_open(&c));
    assert_int_equal(cr_backward(t, f), CR_OK);
    char *out = capture_close(&c);
    assert_non_null(strstr(out, "y = cube(x) = 8, incoming ∂f/∂y = 5\n  ∂f/∂x = 5·12 = 60\n"));
    free(out);
    assert_close(cr_grad_item(x), 60, 0, 0);
    assert_int_equal(cr_tape_dot(t, capture_open(&c)), CR_OK);
    out = capture_close(&c);
    assert_non_null(strstr(out, "n0 -> n1 [label=\"∂y/∂x = 12\"]"));
    assert_close(cr_grad_item(x), 60, 0, 0);                      /* left as it was */
    free(out);
    cr_tape_free(t);
}

static void test_label_copies_chains_and_rejects_long_labels(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    char name[8] = "abc";
    cr_tensor *x = cr_scalar(t, 1);
    assert_ptr_equal(cr_tensor_label(x, name), x);
    name[0] = 'X';                                      /* the label was copied */
    assert_string_equal(x->name, "abc");
    assert_ptr_equal(cr_tensor_label(x, NULL), x);
    assert_null(cr_tensor_label(NULL, "y"));
    char long_label[80];
    memset(long_label, 'a', sizeof long_label - 1);
    long_label[79] = '\0';
    assert_null(cr_tensor_label(x, long_label));
    assert_tape_error(t, "label");
    cr_tape_free(t);
    cr_tensor *p = cr_param_new(0, NULL);
    assert_ptr_equal(cr_tensor_label(p, "w"), p);       /* heap: cr_tensor_set_name */
    assert_string_equal(p->name, "w");
    assert_null(cr_tensor_label(p, long_label));
    cr_tensor_free(p);
}

static void test_print_shows_labels_and_exact_scalars(void **state)
{
    (void)state;
    capture c;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, (cr_real)0.1), "x");
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, cr_scalar_const(t, 3)), "f");
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_int_equal(cr_tape_print(t, capture_open(&c)), CR_OK);
    char *out = capture_close(&c);
    assert_non_null(strstr(out, "name"));
    assert_non_null(strstr(out, " x "));
    assert_non_null(strstr(out, "x,#1"));
    assert_non_null(strstr(out, " 0.1 "));
    assert_non_null(strstr(out, " 3\n"));                 /* grad of x: exactly 3 */
    free(out);
    assert_int_equal(cr_tape_print(NULL, stdout), CR_ERR_ARG);
    assert_int_equal(cr_tape_print(t, NULL), CR_ERR_ARG);
    cr_tape_free(t);
}

/* Render DOT text with Graphviz; 1 ok, 0 failed, -1 when dot is not installed. */
static int graphviz_renders(const char *dot_text)
{
    if (system("command -v dot >/dev/null 2>&1") != 0) return -1;
    char path[] = "/tmp/cr_teach_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(dot_text, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o /dev/null 2>&1", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0;
}

static void expect_renders(const char *dot_text)
{
    int r = graphviz_renders(dot_text);
    if (r < 0) {
        printf("dot (Graphviz) not installed: DOT rendering not checked "
               "(apt-get install graphviz)\n");
        return;
    }
    assert_int_equal(r, 1);
}

static void test_dot_scalar_graph_has_kinds_values_and_edge_derivatives(void **state)
{
    (void)state;
    capture c;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *y = cr_tensor_label(cr_scalar(t, 1), "y");
    cr_tensor *z = cr_tensor_label(cr_add(t, x, y), "z");
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, z), "f");
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_int_equal(cr_tape_dot(t, capture_open(&c)), CR_OK);
    char *out = capture_close(&c);
    assert_true(strncmp(out, "digraph", 7) == 0);
    assert_non_null(strstr(out, "n2 -> n3 [label=\"∂f/∂z = 2\"]"));
    assert_non_null(strstr(out, "n0 -> n3 [label=\"∂f/∂x = 3\"]"));
    assert_non_null(strstr(out, "n0 -> n2 [label=\"∂z/∂x = 1\"]"));
    assert_non_null(strstr(out, "mul (loss)"));
    assert_non_null(strstr(out, "<B>x</B> var"));
    assert_non_null(strstr(out, "grad 5"));
    /* DOT export borrows the tape but leaves it as it was */
    assert_close(cr_grad_item(x), 5, 0, 0);
    assert_close(cr_grad_item(z), 2, 0, 0);
    expect_renders(out);
    free(out);
    assert_int_equal(cr_tape_dot(NULL, stdout), CR_ERR_ARG);
    assert_int_equal(cr_tape_dot(t, NULL), CR_ERR_ARG);
    cr_tape_free(t);
}

/* Parameters named "fc1.W" (as cr_mlp names them) and labels "fc2/h" make clusters;
 * an unlabelled op joins the scope of the parameter it reads. */
static void test_dot_groups_layers_into_clusters(void **state)
{
    (void)state;
    int ws[2] = { 3, 4 }, vs[2] = { 4, 2 }, xs[2] = { 5, 3 }, four = 4;
    cr_tensor *W1 = cr_param_new(2, ws), *b1 = cr_param_new(1, &four), *W2 = cr_param_new(2, vs);
    cr_tensor_set_name(W1, "fc1.W");
    cr_tensor_set_name(b1, "fc1.b");
    cr_tensor_set_name(W2, "fc2.W");
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_const(t, 2, xs, NULL), "x <input> & \"quotes\"");
    cr_tensor *h = cr_relu(t, cr_linear(t, x, W1, b1));
    cr_tensor *o = cr_tensor_label(cr_matmul(t, h, W2, 0, 0), "fc2/out");
    cr_tensor *L = cr_mean(t, o);
    assert_int_equal(cr_backward(t, L), CR_OK);
    capture c;
    assert_int_equal(cr_tape_dot(t, capture_open(&c)), CR_OK);
    char *out = capture_close(&c);
    char *c1 = strstr(out, "label=\"fc1\""), *c2 = strstr(out, "label=\"fc2\"");
    assert_non_null(c1);
    assert_non_null(c2);
    assert_true(c1 < c2);
    /* inside fc1: W and b (short names) and the linear + relu nodes */
    char *end1 = strstr(c1, "  }\n");
    assert_non_null(end1);
    *end1 = '\0';
    assert_non_null(strstr(c1, "<B>W</B> param"));
    assert_non_null(strstr(c1, "<B>b</B> param"));
    assert_non_null(strstr(c1, "linear"));
    assert_non_null(strstr(c1, "relu"));
    *end1 = ' ';
    assert_non_null(strstr(c2, "<B>out</B> matmul"));
    assert_non_null(strstr(out, "&lt;input&gt; &amp; &quot;quotes&quot;"));   /* escaped */
    assert_non_null(strstr(out, "label=\"5x3\""));                               /* edge shape */
    expect_renders(out);
    free(out);
    cr_tape_free(t);
    cr_tensor_free(W1);
    cr_tensor_free(b1);
    cr_tensor_free(W2);
}

/* An empty tape and an errored tape still give a valid picture. */
static void test_dot_of_empty_and_errored_tapes_renders(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    capture c;
    assert_int_equal(cr_tape_dot(t, capture_open(&c)), CR_OK);
    char *out = capture_close(&c);
    expect_renders(out);
    free(out);
    int s2 = 2, s3 = 3;
    cr_tensor *a = cr_var(t, 1, &s2, NULL), *b = cr_var(t, 1, &s3, NULL);
    assert_null(cr_add(t, cr_exp(t, a), b));               /* shapes 2 and 3: error */
    assert_int_equal(cr_tape_dot(t, capture_open(&c)), CR_OK);
    out = capture_close(&c);
    assert_non_null(strstr(out, "exp"));
    expect_renders(out);
    free(out);
    cr_tape_free(t);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1 && !strcmp(argv[1], "--print-trace")) { /* see trace_in_child */
        char *out = trace_x_times_x_plus_y();
        fputs(out, stdout);
        free(out);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_of_x_times_x_plus_y_matches_exactly),
        cmocka_unit_test(test_trace_ascii_fallback_uses_d_and_star),
        cmocka_unit_test(test_trace_names_unlabelled_nodes_by_id_and_prints_exact_scalars),
        cmocka_unit_test(test_trace_shows_local_derivative_under_zero_incoming_gradient),
        cmocka_unit_test(test_trace_tensor_steps_print_shape_and_parameter_totals),
        cmocka_unit_test(test_trace_leaves_gradients_bit_identical),
        cmocka_unit_test(test_trace_and_dot_read_a_custom_ops_local_derivative),
        cmocka_unit_test(test_label_copies_chains_and_rejects_long_labels),
        cmocka_unit_test(test_print_shows_labels_and_exact_scalars),
        cmocka_unit_test(test_dot_scalar_graph_has_kinds_values_and_edge_derivatives),
        cmocka_unit_test(test_dot_groups_layers_into_clusters),
        cmocka_unit_test(test_dot_of_empty_and_errored_tapes_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
