/* cr_tape_html (graph/html.c): the page is self-contained and well formed, its
 * backward steps are the trace's lines in the trace's order, it leaves the tape's
 * gradients as they were, and the lesson pages and an MLP step stay small. The
 * page's behaviour in a browser is tests/browser/page_test.js. */
#include "helpers.h"
#include "scratch_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The page of t (after its backward pass) as a NUL-terminated string (free it). */
static char *page_of(cr_tape *t, const cr_tensor *loss, const cr_html_options *o, cr_status *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    *s = cr_tape_html(t, loss, f, o);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* text with every comment removed: C-style in the script and style sheet. The
 * JSON data cannot hold one (its strings escape nothing but '/' is plain), so the
 * data block is kept whole. */
static char *without_comments(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    const char *data = strstr(text, "id=\"cr-data\">");
    const char *data_end = data ? strstr(data, "</script>") : NULL;
    assert_non_null(out);
    for (const char *p = text; *p;) {
        if (data && p == data) {
            size_t n = (size_t)(data_end - data);
            memcpy(o, p, n);
            o += n;
            p += n;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

/* The JSON block: brackets balanced outside strings, strings closed, nothing raw
 * below 0x20 inside a string. */
static void assert_json_well_formed(const char *page)
{
    const char *p = strstr(page, "id=\"cr-data\">"), *end = p ? strstr(p, "</script>") : NULL;
    assert_non_null(p);
    assert_non_null(end);
    char stack[64];
    int depth = 0, in_str = 0;
    for (p += strlen("id=\"cr-data\">"); p < end; p++) {
        if (in_str) {
            assert_true((unsigned char)*p >= 0x20);
            if (*p == '\\') p++;
            else if (*p == '"') in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '{' || *p == '[') {
            assert_true(depth < 64);
            stack[depth++] = *p;
        } else if (*p == '}' || *p == ']') {
            assert_true(depth > 0);
            assert_int_equal(stack[--depth], *p == '}' ? '{' : '[');
        }
    }
    assert_int_equal(in_str, 0);
    assert_int_equal(depth, 0);
}

/* Self-contained: no address, no external script, style sheet, image or font. */
static void assert_self_contained(const char *page)
{
    char *plain = without_comments(page);
    if (strstr(plain, "http")) printf("\"http\" in: %.80s\n", strstr(plain, "http"));
    assert_null(strstr(plain, "http"));
    assert_null(strstr(plain, "<link"));
    assert_null(strstr(plain, " src="));
    assert_null(strstr(plain, "@import"));
    assert_null(strstr(plain, "url(/"));
    free(plain);
    assert_int_equal(strncmp(page, "<!DOCTYPE html>\n<html lang=\"", 28), 0);
    assert_non_null(strstr(page, "<meta charset=\"utf-8\">"));
    size_t n = strlen(page);
    assert_true(n > 8 && !strcmp(page + n - 8, "</html>\n"));
    assert_int_equal(count(page, "<script"), 2);
    assert_int_equal(count(page, "</script>"), 2);
    assert_int_equal(count(page, "<style>"), 1);
    assert_int_equal(count(page, "</style>"), 1);
    assert_json_well_formed(page);
}

/* Every line of the trace (but "totals:") is in the page as a JSON string, in the
 * trace's order. */
static void assert_trace_in_order(const char *page, const char *trace)
{
    const char *at = page;
    int lines = 0;
    for (const char *l = trace; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        char want[1100];
        assert_true(n < 1000);
        snprintf(want, sizeof want, "\"%.*s\"", (int)n, l);
        if (strcmp(want, "\"totals:\"") != 0) {
            const char *hit = strstr(at, want);
            if (!hit) printf("trace line %s not in the page after %ld\n", want, (long)(at - page));
            assert_non_null(hit);
            at = hit + strlen(want);
            lines++;
        }
        l += n + (nl != NULL);
    }
    assert_true(lines > 0);
}

/* f = x·(x + y) at x = 2, y = 1 (lesson 1), the trace captured into *trace. */
static cr_tensor *chain_rule(cr_tape *t, cr_tensor **x, cr_tensor **y, char **trace)
{
    size_t size;
    FILE *tf = open_memstream(trace, &size);
    assert_non_null(tf);
    *x = cr_tensor_label(cr_scalar(t, 2), "x");
    *y = cr_tensor_label(cr_scalar(t, 1), "y");
    cr_tensor *z = cr_tensor_label(cr_add(t, *x, *y), "z");
    cr_tensor *f = cr_tensor_label(cr_mul(t, *x, z), "f");
    cr_tape_set_trace(t, tf);
    assert_int_equal(cr_backward(t, f), CR_OK);
    cr_tape_set_trace(t, NULL);
    assert_int_equal(fclose(tf), 0);
    return f;
}

static void test_chain_rule_page_steps_are_the_trace_lines_and_grads_stay(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x, *y;
    char *trace;
    cr_tensor *f = chain_rule(t, &x, &y, &trace);
    cr_real *xg = x->grad;
    cr_status s;
    char *page = page_of(t, f, NULL, &s);
    assert_int_equal(s, CR_OK);
    assert_self_contained(page);
    assert_trace_in_order(page, trace);
    /* the steps as the trace printed them (lesson 1, docs/TUTORIAL.md) */
    assert_non_null(strstr(page, "\"lines\":[\"backward from f = 6\",\"f = mul(x, z) = 6, "
                                 "incoming \xe2\x88\x82" "f/\xe2\x88\x82" "f = 1\""));
    assert_non_null(strstr(page, "\"totals\":[\"  \xe2\x88\x82" "f/\xe2\x88\x82" "x = 5\",\"  "
                                 "\xe2\x88\x82" "f/\xe2\x88\x82" "y = 2\"]"));
    /* x's running sum over its two paths: 3, then 3 + 2 = 5 */
    assert_non_null(strstr(page, "{\"u\":0,\"k\":2,\"m\":2,\"x\":\"x\","
                                 "\"p\":\"3\",\"a\":\"2\",\"s\":\"5\"}"));
    assert_non_null(strstr(page, "\"f\":\"z = add(x, y) = 3\""));
    /* the tape is as it was */
    assert_ptr_equal(x->grad, xg);
    assert_close(cr_grad_item(x), 5, 0, 0);
    assert_close(cr_grad_item(y), 2, 0, 0);
    assert_close(cr_grad_item(f), 1, 0, 0);
    assert_null(cr_tape_error(t));
    /* a second page is the same page */
    char *again = page_of(t, NULL, NULL, &s);
    assert_int_equal(s, CR_OK);
    assert_string_equal(again, page);
    free(again);
    free(page);
    free(trace);
    cr_tape_free(t);
}

static void test_chinese_page_has_chinese_words_and_the_same_trace(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x, *y;
    char *trace;
    cr_tensor *f = chain_rule(t, &x, &y, &trace);
    cr_html_options o = { 0 };
    o.lang = "zh";
    cr_status s;
    char *page = page_of(t, f, &o, &s);
    assert_int_equal(s, CR_OK);
    assert_self_contained(page);
    assert_non_null(strstr(page, "<html lang=\"zh\">"));
    /* 下一步 */
    assert_non_null(strstr(page, "\"next\":\"\xe4\xb8\x8b\xe4\xb8\x80\xe6\xad\xa5\""));
    assert_trace_in_order(page, trace);
    free(page);
    free(trace);
    cr_tape_free(t);
}

static void test_without_backward_the_page_has_forward_steps_only(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, x), "f");
    cr_status s;
    char *page = page_of(t, f, NULL, &s);
    assert_int_equal(s, CR_OK);
    assert_self_contained(page);
    assert_non_null(strstr(page, "\"root\":-1"));
    assert_non_null(strstr(page, "\"bwd\":[],\"totals\":[]"));
    assert_non_null(strstr(page, "\"f\":\"f = mul(x, x) = 4\""));
    free(page);
    /* backward from f, then a page for another loss: forward only again */
    cr_tensor *g = cr_tensor_label(cr_add(t, x, x), "g");
    assert_int_equal(cr_backward(t, f), CR_OK);
    page = page_of(t, g, NULL, &s);
    assert_int_equal(s, CR_OK);
    assert_non_null(strstr(page, "\"bwd\":[],"));
    free(page);
    page = page_of(t, f, NULL, &s);
    assert_int_equal(s, CR_OK);
    /* x listed twice in one node: one line, local derivative 2x = 4 */
    assert_non_null(strstr(page, "\"  \xe2\x88\x82" "f/\xe2\x88\x82" "x = 1\xc2\xb7" "4 = 4\""));
    free(page);
    cr_tape_free(t);
}

static void test_bad_arguments_and_write_errors_are_reported(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0), *other = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2), *o = cr_scalar(other, 1);
    cr_html_options opt = { 0 };
    FILE *f = fopen("/dev/null", "w");
    assert_non_null(f);
    assert_int_equal(cr_tape_html(NULL, NULL, f, NULL), CR_ERR_ARG);
    assert_int_equal(cr_tape_html(t, NULL, NULL, NULL), CR_ERR_ARG);
    assert_int_equal(cr_tape_html(t, o, f, NULL), CR_ERR_ARG);
    opt.lang = "fr";
    assert_int_equal(cr_tape_html(t, x, f, &opt), CR_ERR_ARG);
    fclose(f);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        setvbuf(full, NULL, _IONBF, 0);
        assert_int_equal(cr_tape_html(t, x, full, NULL), CR_ERR_IO);
        fclose(full);
    }
    cr_real six[6] = { 0 };
    cr_tensor *a = cr_const(t, 2, (int[]){ 2, 3 }, six);
    cr_tensor *m = cr_matmul(t, a, a, 0, 0);          /* 2x3 times 2x3 */
    assert_null(m);                                   /* the tape has an error now */
    f = fopen("/dev/null", "w");
    assert_int_equal(cr_tape_html(t, NULL, f, NULL), CR_ERR_STATE);
    fclose(f);
    cr_tape_free(t);
    cr_tape_free(other);
}

/* One step of a 784-128-10 MLP on 8 images: the page stays small (64 elements per
 * tensor), its layers start closed, and the parameters' gradients are untouched. */
static void test_mlp_784_128_10_step_page_is_small_layered_and_leaves_grads(void **state)
{
    (void)state;
    cr_rng rng;
    cr_rng_seed(&rng, 7);
    char err[256];
    cr_mlp *m = cr_mlp_new(3, (int[]){ 784, 128, 10 }, CR_ACT_RELU, CR_ACT_NONE, &rng, err,
                           sizeof err);
    assert_non_null(m);
    cr_tape *t = cr_tape_new(0);
    cr_real xs[8 * 784], ys[8];
    for (int i = 0; i < 8 * 784; i++) xs[i] = (cr_real)cr_rng_uniform(&rng);
    for (int i = 0; i < 8; i++) ys[i] = (cr_real)(i % 10);
    cr_tensor *x = cr_tensor_label(cr_const(t, 2, (int[]){ 8, 784 }, xs), "x");
    cr_tensor *y = cr_tensor_label(cr_const(t, 1, (int[]){ 8 }, ys), "y");
    cr_tensor *z = cr_mlp_forward(t, m, x);
    cr_tensor *loss = cr_tensor_label(cr_softmax_cross_entropy(t, z, y), "loss");
    assert_non_null(loss);
    cr_params *p = cr_mlp_params(m);
    cr_params_zero_grad(p);
    char *trace;
    size_t tsize;
    FILE *tf = open_memstream(&trace, &tsize);
    cr_tape_set_trace(t, tf);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    cr_tape_set_trace(t, NULL);
    fclose(tf);
    cr_tensor *W1 = cr_params_find(p, "fc1.W");
    assert_non_null(W1);
    cr_real *copy = malloc(W1->size * sizeof *copy), *g = W1->grad;
    memcpy(copy, W1->grad, W1->size * sizeof *copy);

    cr_status s;
    char *page = page_of(t, loss, NULL, &s);
    assert_int_equal(s, CR_OK);
    assert_self_contained(page);
    assert_trace_in_order(page, trace);
    assert_true(strlen(page) < 300 * 1024);
    assert_non_null(strstr(page, "\"clusters\":[\"fc1\",\"fc2\"]"));
    assert_non_null(strstr(page, "\"collapse\":1"));
    assert_ptr_equal(W1->grad, g);
    assert_memory_equal(W1->grad, copy, W1->size * sizeof *copy);
    assert_non_null(strstr(page, "\"sh\":\"784x128\""));
    free(page);
    free(copy);
    free(trace);
    cr_tape_free(t);
    cr_mlp_free(m);
}

/* Every lesson's pages (make graphs writes them with --pages) are under 300 KB and
 * self-contained. */
static void test_lesson_pages_are_under_300KB_and_self_contained(void **state)
{
    (void)state;
    static const char *lessons[] = { "01_chain_rule", "02_exp_max", "03_neuron", "04_perceptron",
                                     "05_logistic_mle", "06_backprop_352", "07_softmax_232",
                                     "08_xor", "09_vanishing", "10_training_curve",
                                     "11_convolution", "12_conv_params" };
    for (size_t i = 0; i < sizeof lessons / sizeof lessons[0]; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s/examples/lessons/%s -q -o %s --pages >/dev/null 2>&1",
                 CR_BUILD_DIR, lessons[i], g_dir);
        assert_int_equal(system(cmd), 0);
    }
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int pages = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".html")) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (st.st_size > 300 * 1024) printf("%s: %lld bytes\n", path, (long long)st.st_size);
        assert_true(st.st_size <= 300 * 1024);
        FILE *f = fopen(path, "r");
        char *text = calloc(1, (size_t)st.st_size + 1);
        assert_int_equal(fread(text, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        fclose(f);
        assert_self_contained(text);
        free(text);
        pages++;
    }
    closedir(d);
    assert_true(pages >= 12);
}

/* train --html FILE: the page of the first training step, drawn by layer. */
static void test_train_html_writes_the_first_steps_page(void **state)
{
    (void)state;
    char cmd[1024], path[512];
    snprintf(path, sizeof path, "%s/train.html", g_dir);
    snprintf(cmd, sizeof cmd, "%s/examples/train --no-progress --spiral-points 60 --hidden 8,8 "
             "--batch 16 --epochs 1 --max-steps 2 --out %s/m.crm --html %s >/dev/null 2>&1",
             CR_BUILD_DIR, g_dir, path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[300 * 1024 + 1];
    size_t n = fread(text, 1, sizeof text - 1, f);
    assert_true(feof(f));                                   /* under 300 KB */
    fclose(f);
    text[n] = '\0';
    assert_self_contained(text);
    assert_non_null(strstr(text, "\"clusters\":[\"fc1\",\"fc2\",\"fc3\"]"));
    assert_non_null(strstr(text, "\"collapse\":1"));
    assert_non_null(strstr(text, "\"bwd\":[\n{\"n\":"));            /* backward steps */
    assert_non_null(strstr(text, "\"totals\":[\"  \xe2\x88\x82"));
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_rule_page_steps_are_the_trace_lines_and_grads_stay),
        cmocka_unit_test(test_chinese_page_has_chinese_words_and_the_same_trace),
        cmocka_unit_test(test_without_backward_the_page_has_forward_steps_only),
        cmocka_unit_test(test_bad_arguments_and_write_errors_are_reported),
        cmocka_unit_test(test_mlp_784_128_10_step_page_is_small_layered_and_leaves_grads),
        cmocka_unit_test(test_lesson_pages_are_under_300KB_and_self_contained),
        cmocka_unit_test(test_train_html_writes_the_first_steps_page),
    };
    return CR_TEST_RUN(tests, setup, teardown, argc, argv);
}
