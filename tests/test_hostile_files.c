/* Hostile files and states, from issue 12 (items 3, 4, 7, 9, 10): each test is the
 * reproducer of a defect found by an adversarial run, and fails on the code
 * before its fix.
 *   - a step counter at its limit: no signed overflow; the loader refuses more;
 *   - memory bounded before it is spent: IDX headers, model files from a pipe;
 *     gzip inflation stops at the header's promise;
 *   - saves: stale temporaries of killed saves removed, symlinks written through;
 *   - CSV: a UTF-8 BOM is not a header, bare-CR line endings are lines;
 *   - raw bytes >= 0x80 from a file never reach a message. */
#include "data_helpers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>

/* One 2x3 parameter "w" (values 1..6) and an Adam optimizer over it. */
typedef struct small {
    cr_params *p;
    cr_tensor *w;
    cr_optim *o;
} small;

static void small_new(small *s)
{
    s->p = cr_params_new();
    s->w = cr_param_new(2, (int[]){ 2, 3 });
    assert_non_null(s->p);
    assert_non_null(s->w);
    for (int i = 0; i < 6; i++) s->w->data[i] = (cr_real)(i + 1);
    assert_int_equal(cr_params_add_owned(s->p, s->w, "w", NULL, 0), CR_OK);
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    s->o = cr_optim_new(s->p, &c, NULL, 0);
    assert_non_null(s->o);
}

static void small_free(small *s)
{
    cr_optim_free(s->o);
    cr_params_free(s->p);
}

/* ------------------------------------------------------- item 3: step count */

static void test_step_count_is_bounded_and_a_step_at_the_bound_is_refused(void **state)
{
    (void)state;
    small s;
    small_new(&s);
    /* LONG_MAX then a step overflowed the signed counter (UB; NaN weights) */
    assert_int_equal(cr_optim_set_step_count(s.o, LONG_MAX), CR_ERR_ARG);
    assert_int_equal(cr_optim_step_count(s.o), 0);
    assert_int_equal(cr_optim_set_step_count(s.o, (long)CR_OPTIM_MAX_STEPS), CR_OK);
    for (int i = 0; i < 6; i++) s.w->grad[i] = 1;
    assert_int_equal(cr_optim_step(s.o, NULL, 0), CR_ERR_STATE);
    assert_int_equal(cr_optim_step_count(s.o), (long)CR_OPTIM_MAX_STEPS);
    for (int i = 0; i < 6; i++) assert_close_i(s.w->data[i], i + 1, 0, 0, i);   /* untouched */
    /* one below the bound: the last step is taken, finite */
    assert_int_equal(cr_optim_set_step_count(s.o, (long)CR_OPTIM_MAX_STEPS - 1), CR_OK);
    assert_int_equal(cr_optim_step(s.o, NULL, 0), CR_OK);
    for (int i = 0; i < 6; i++) assert_true(isfinite((double)s.w->data[i]));
    small_free(&s);
}

/* The file's bytes, with the optimizer step field set to step and the CRC fixed. */
static unsigned char *checkpoint_with_step(uint64_t step, size_t *n)
{
    small s;
    small_new(&s);
    const char *path = td_path("step.crm");
    assert_int_equal(cr_save(path, s.p, s.o, NULL, NULL, 0), CR_OK);
    small_free(&s);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(1 << 16);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    unsigned char *tag = NULL;
    for (size_t i = 0; i + 4 <= *n && !tag; i++)
        if (memcmp(b + i, "OPTM", 4) == 0) tag = b + i;
    assert_non_null(tag);
    unsigned char *field = tag + 4 + 8 + 4;          /* tag, length, kind */
    for (int i = 0; i < 8; i++) field[i] = (unsigned char)(step >> (8 * i));
    uint32_t crc = cr_crc32(0, b, *n - 4);
    for (int i = 0; i < 4; i++) b[*n - 4 + i] = (unsigned char)(crc >> (8 * i));
    return b;
}

static void test_loader_refuses_a_step_count_above_the_bound(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = checkpoint_with_step((uint64_t)LONG_MAX, &n);
    small s;
    small_new(&s);
    char err[256] = "";
    assert_int_equal(cr_load_buffer(b, n, "ck.crm", s.p, s.o, NULL, err, sizeof err),
                     CR_ERR_FORMAT);
    assert_msg_has(err, "optimizer step count above 2^53");
    assert_int_equal(cr_optim_step_count(s.o), 0);
    free(b);
    b = checkpoint_with_step((uint64_t)CR_OPTIM_MAX_STEPS, &n);   /* the bound itself loads */
    assert_int_equal(cr_load_buffer(b, n, "ck.crm", s.p, s.o, NULL, err, sizeof err), CR_OK);
    assert_int_equal(cr_optim_step_count(s.o), (long)CR_OPTIM_MAX_STEPS);
    free(b);
    small_free(&s);
}

/* ------------------------------------------------- item 4: memory bounded */

static void test_memory_limit_is_set_restored_and_checked(void **state)
{
    (void)state;
    size_t def = cr_memory_limit();
    assert_true(def > 0);
    cr_set_memory_limit((size_t)3 << 30);
    assert_int_equal(cr_memory_limit(), (size_t)3 << 30);
    char err[256] = "";
    assert_int_equal(cr_memory_check((uint64_t)3 << 30, "x", err, sizeof err), CR_OK);
    assert_int_equal(cr_memory_check((uint64_t)4 << 30, "the thing", err, sizeof err),
                     CR_ERR_NOMEM);
    assert_msg_has(err, "the thing needs 4.0 GiB, above the memory limit of 3.0 GiB");
    cr_set_memory_limit(0);
    assert_int_equal(cr_memory_limit(), def);
}

/* 2^31-1 samples of 28x28 in a small gzip pair: refused from the headers, before
 * the labels are inflated (they alone were 2 GiB, then 8 GiB as ints). */
static void test_idx_headers_beyond_the_memory_limit_are_refused_before_reading(void **state)
{
    (void)state;
#ifndef CR_HAVE_ZLIB
    skip();
#else
    size_t il, ll;
    unsigned char *img = td_idx_images(1, 28, 28, &il);
    unsigned char *lbl = td_idx_labels(1, 10, &ll);
    td_be32(img + 4, 0x7fffffffu);
    td_be32(lbl + 4, 0x7fffffffu);
    size_t n = (size_t)4 << 20;                      /* 4 MiB of label bytes follow */
    unsigned char *big = calloc(8 + n, 1);
    assert_non_null(big);
    memcpy(big, lbl, 8);
    size_t gil, gll;
    unsigned char *gi = td_gzip(img, il, &gil), *gl = td_gzip(big, 8 + n, &gll);
    cr_set_memory_limit((size_t)1 << 30);
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = NULL;
    char msg[512] = "";
    cr_status st = cr_idx_load_mem(&d, gi, gil, gl, gll, 10, msg, sizeof msg);
    td_alloc_remove();
    cr_set_memory_limit(0);
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_null(d);
    assert_msg_has(msg, "images: 2147483647 images of 28x28 needs 1.5 TiB, above the memory "
                        "limit of 1.0 GiB");
    assert_true(a.max_request < ((size_t)1 << 20));   /* nothing big was allocated */
    assert_int_equal(a.live, 0);
    free(img);
    free(lbl);
    free(big);
    free(gi);
    free(gl);
#endif
}

/* Labels that keep coming after the promised count, gzip-compressed (64 MiB of
 * zeros in ~64 KiB): inflation stops right after the promise instead of
 * decompressing everything to count it. */
static void test_gzip_inflation_stops_at_the_headers_promise(void **state)
{
    (void)state;
#ifndef CR_HAVE_ZLIB
    skip();
#else
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 2, 2, &il);
    unsigned char *lbl = td_idx_labels(2, 2, &ll);
    size_t extra = (size_t)64 << 20;
    unsigned char *big = calloc(ll + extra, 1);
    assert_non_null(big);
    memcpy(big, lbl, ll);
    size_t gll;
    unsigned char *gl = td_gzip(big, ll + extra, &gll);
    cr_dataset *d = NULL;
    char msg[512] = "";
    assert_int_equal(cr_idx_load_mem(&d, img, il, gl, gll, 2, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "labels: 4096 (or more) unexpected bytes after the 2 labels");
    free(img);
    free(lbl);
    free(big);
    free(gl);
#endif
}

/* A valid header declaring 1 TiB, streamed through a FIFO: refused after the
 * header (FORMAT.md: "refused at once"), not read until memory runs out. The
 * writer sends 8 MiB at most, so that the old reader ended with "truncated". */
static void test_model_stream_declaring_more_than_the_limit_is_refused_at_once(void **state)
{
    (void)state;
    small s;
    small_new(&s);
    const char *file = td_path("stream.crm");
    assert_int_equal(cr_save(file, s.p, NULL, NULL, NULL, 0), CR_OK);
    unsigned char head[28];
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, 28, f), 28);
    fclose(f);
    uint64_t total = (uint64_t)1 << 40;
    for (int i = 0; i < 8; i++) head[16 + i] = (unsigned char)(total >> (8 * i));
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s", td_path("stream.fifo"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        FILE *w = fopen(fifo, "wb");
        if (!w) _exit(1);
        fwrite(head, 1, 28, w);
        static unsigned char zeros[65536];
        for (int i = 0; i < 128; i++)
            if (fwrite(zeros, 1, sizeof zeros, w) != sizeof zeros) break;
        fclose(w);
        _exit(0);
    }
    cr_set_memory_limit((size_t)64 << 20);
    char err[256] = "";
    cr_status st = cr_load(fifo, s.p, NULL, NULL, err, sizeof err);
    cr_set_memory_limit(0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_msg_has(err, "stream.fifo: reading this model file needs 1.0 TiB, above the "
                        "memory limit of 64.0 MiB");
    small_free(&s);
}

/* A CSV table larger than the memory limit: refused as it is read, saying so. */
static void test_csv_beyond_the_memory_limit_is_refused(void **state)
{
    (void)state;
    size_t n = (size_t)3 << 20, k = 0;
    char *t = malloc(n);
    assert_non_null(t);
    while (k + 8 < n) k += (size_t)snprintf(t + k, n - k, "%zu,%zu,%zu\n", k % 9, k % 7, k % 2);
    td_write(td_path("big.csv"), t, k);
    cr_set_memory_limit((size_t)1 << 20);
    cr_dataset *d = NULL;
    char msg[512] = "";
    cr_status st = cr_csv_load(&d, td_path("big.csv"), NULL, msg, sizeof msg);
    cr_set_memory_limit(0);
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_null(d);
    assert_msg_has(msg, "big.csv needs 3.0 MiB, above the memory limit of 1.0 MiB");
    free(t);
}

static void test_file_info_counts_the_parameter_values_without_a_model(void **state)
{
    (void)state;
    small s;
    small_new(&s);
    const char *path = td_path("info.crm");
    assert_int_equal(cr_save(path, s.p, s.o, NULL, NULL, 0), CR_OK);
    void *img = NULL;
    size_t n = 0;
    char err[256] = "";
    assert_int_equal(cr_load_file_image(path, &img, &n, err, sizeof err), CR_OK);
    cr_file_info info;
    assert_int_equal(cr_file_info_buffer(img, n, path, &info, err, sizeof err), CR_OK);
    assert_int_equal(info.n_params, 1);
    assert_int_equal(info.param_values, 6);
    assert_int_equal(info.has_optim, 1);
    assert_int_equal(info.real_size, (int)sizeof(cr_real));
    ((unsigned char *)img)[n / 2] ^= 1;                 /* validated like a load */
    assert_int_equal(cr_file_info_buffer(img, n, path, &info, err, sizeof err), CR_ERR_FORMAT);
    cr_free(img);
    small_free(&s);
}

/* ------------------------------------------------------------- item 7: saves */

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return pid;                      /* reaped: kill(pid, 0) now fails with ESRCH */
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* td_path of a short name (copied, so that the compiler sees its length) */
static const char *short_path(const char *name)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%.60s", name);
    return td_path(nm);
}

static void test_save_removes_temporaries_of_dead_processes_and_nothing_else(void **state)
{
    (void)state;
    small s;
    small_new(&s);
    pid_t dead = dead_pid();
    assert_true(kill(dead, 0) != 0 && errno == ESRCH);
    char name[8][64];
    snprintf(name[0], 64, "m.crm.tmp.%ld", (long)dead);          /* removed */
    snprintf(name[1], 64, "m.crm.tmp.%ld.3", (long)dead);        /* removed */
    snprintf(name[2], 64, "m.crm.tmp.%ld", (long)getppid());     /* alive: kept */
    snprintf(name[3], 64, "other.crm.tmp.%ld", (long)dead);      /* another target */
    snprintf(name[4], 64, "m.crm.tmp.%ldx", (long)dead);         /* not the pattern */
    snprintf(name[5], 64, "m.crm.tmp.0%ld", (long)dead);         /* not a pid */
    snprintf(name[6], 64, "xm.crm.tmp.%ld", (long)dead);         /* another target */
    snprintf(name[7], 64, "m.crm.tmp.%ld.", (long)dead);         /* not the pattern */
    for (int i = 0; i < 8; i++) td_write(short_path(name[i]), "x", 1);
    char err[256] = "";
    assert_int_equal(cr_save(td_path("m.crm"), s.p, NULL, NULL, err, sizeof err), CR_OK);
    for (int i = 0; i < 8; i++) {
        int want = i >= 2;
        if (exists(short_path(name[i])) != want) print_error("%s\n", name[i]);
        assert_int_equal(exists(short_path(name[i])), want);
    }
    small_free(&s);
}

/* --out through a symbolic link: the link stays, its target gets the model (as
 * cp writes through a link), also through a chain of two relative links. */
static void test_save_writes_through_a_symlink(void **state)
{
    (void)state;
    small s;
    small_new(&s);
    td_write(td_path("real.crm"), "old", 3);
    assert_int_equal(symlink("real.crm", td_path("link1.crm")), 0);
    assert_int_equal(symlink("link1.crm", td_path("link2.crm")), 0);
    char err[256] = "";
    assert_int_equal(cr_save(td_path("link2.crm"), s.p, NULL, NULL, err, sizeof err), CR_OK);
    struct stat st;
    assert_int_equal(lstat(td_path("link2.crm"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(td_path("link1.crm"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(td_path("real.crm"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    for (int i = 0; i < 6; i++) s.w->data[i] = 0;
    assert_int_equal(cr_load(td_path("real.crm"), s.p, NULL, NULL, err, sizeof err), CR_OK);
    assert_close(s.w->data[5], 6, 0, 0);
    small_free(&s);
}

/* ---------------------------------------------------------------- item 9: CSV */

static void test_csv_utf8_bom_is_not_a_header(void **state)
{
    (void)state;
    static const char t[] = "\xef\xbb\xbf" "1,2,0\n3,4,1\n5,6,0\n";
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_csv_load_mem(&d, t, sizeof t - 1, "bom.csv", NULL, msg, sizeof msg),
                     CR_OK);
    assert_int_equal(d->n, 3);                    /* row 1 was taken for a header */
    assert_close(d->values[0], 1, 0, 0);
    cr_dataset_free(d);
}

static void test_csv_bare_cr_line_endings_are_lines(void **state)
{
    (void)state;
    static const char t[] = "a,b,label\r1,2,0\r3,4,1\r\r5,6,1";
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_csv_load_mem(&d, t, sizeof t - 1, "cr.csv", NULL, msg, sizeof msg),
                     CR_OK);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->labels[2], 1);
    assert_close(d->values[5], 6, 0, 0);
    cr_dataset_free(d);
    /* CRLF still one line ending, and line numbers count lines */
    static const char u[] = "1,2,0\r\n3,x,1\r\n";
    assert_int_equal(cr_csv_load_mem(&d, u, sizeof u - 1, "crlf.csv", NULL, msg, sizeof msg),
                     CR_ERR_FORMAT);
    assert_msg_has(msg, "crlf.csv:2:2: 'x' is not a number");
}

/* ------------------------------------------------------- item 10: messages */

static int all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

static void test_bytes_from_files_are_escaped_in_messages(void **state)
{
    (void)state;
    static const char t[] = "1,2,0\n3,4,\xc3\xa9\n";
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_csv_load_mem(&d, t, sizeof t - 1, "e.csv", NULL, msg, sizeof msg),
                     CR_ERR_FORMAT);
    assert_msg_has(msg, "'\\xc3\\xa9'");
    assert_true(all_ascii(msg));
    /* a model file's tensor name with bytes >= 0x80 */
    cr_params *p = cr_params_new();
    cr_tensor *w = cr_param_new(1, (int[]){ 2 });
    assert_int_equal(cr_params_add_owned(p, w, "w\xff\xfe", NULL, 0), CR_OK);
    assert_int_equal(cr_save(td_path("name.crm"), p, NULL, NULL, msg, sizeof msg), CR_OK);
    small s;
    small_new(&s);
    assert_int_equal(cr_load(td_path("name.crm"), s.p, NULL, NULL, msg, sizeof msg),
                     CR_ERR_SHAPE);
    assert_msg_has(msg, "parameter w\\xff\\xfe is in the file but not in the model");
    assert_true(all_ascii(msg));
    small_free(&s);
    cr_params_free(p);
}

/* A library user calling cr_mlp_new directly gets the same up-front refusal as the
 * trainer: 2-100000000-3 needs (2*1e8 + 1e8 + 1e8*3 + 3) values, twice (gradients),
 * about 4.5 GB in float, checked against a 1 GiB limit before anything is allocated. */
static void test_mlp_beyond_the_memory_limit_is_refused_before_allocating(void **state)
{
    (void)state;
    cr_set_memory_limit((size_t)1 << 30);
    int sizes[] = { 2, 100000000, 3 };
    cr_rng rng, before;
    cr_rng_seed(&rng, 1);
    before = rng;
    char err[256] = "";
    cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, &rng, err, sizeof err);
    cr_set_memory_limit(0);
    assert_null(m);
    assert_non_null(strstr(err, "mlp: the parameters needs"));
    assert_non_null(strstr(err, "above the memory limit of 1.0 GiB"));
    assert_memory_equal(&rng, &before, sizeof rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_count_is_bounded_and_a_step_at_the_bound_is_refused),
        cmocka_unit_test(test_loader_refuses_a_step_count_above_the_bound),
        cmocka_unit_test(test_memory_limit_is_set_restored_and_checked),
        cmocka_unit_test(test_idx_headers_beyond_the_memory_limit_are_refused_before_reading),
        cmocka_unit_test(test_gzip_inflation_stops_at_the_headers_promise),
        cmocka_unit_test(test_model_stream_declaring_more_than_the_limit_is_refused_at_once),
        cmocka_unit_test(test_csv_beyond_the_memory_limit_is_refused),
        cmocka_unit_test(test_file_info_counts_the_parameter_values_without_a_model),
        cmocka_unit_test(test_save_removes_temporaries_of_dead_processes_and_nothing_else),
        cmocka_unit_test(test_save_writes_through_a_symlink),
        cmocka_unit_test(test_csv_utf8_bom_is_not_a_header),
        cmocka_unit_test(test_csv_bare_cr_line_endings_are_lines),
        cmocka_unit_test(test_bytes_from_files_are_escaped_in_messages),
        cmocka_unit_test(test_mlp_beyond_the_memory_limit_is_refused_before_allocating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
