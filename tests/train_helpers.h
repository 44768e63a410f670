/* Running the training program from a test, as a user would (a separate process,
 * output into the scratch directory of data_helpers.h): shared by the trainer's
 * test files. train_bin is set by each file's main (cr_test_train_bin). */
#ifndef CR_TRAIN_HELPERS_H
#define CR_TRAIN_HELPERS_H

#include "data_helpers.h"

#include <sys/wait.h>

static char train_bin[1024];

/* Run the trainer with args (a shell fragment); stdout and stderr go to files in
 * the scratch dir. Returns the exit status. */
static inline int run(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --no-progress %s > '%s' 2> '%s'", train_bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Whole file into a static buffer. */
static inline const char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The "test: accuracy X% (...)" line of the last run, as a fraction. */
static inline double test_accuracy(char *line, size_t size)
{
    const char *out = slurp(td_path("stdout"));
    assert_non_null(out);
    const char *p = strstr(out, "test: accuracy ");
    if (!p) print_error("no accuracy line in:\n%s\n", out);
    assert_non_null(p);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (line) snprintf(line, size, "%.*s", (int)n, p);
    return atof(p + strlen("test: accuracy ")) / 100;
}

static inline void expect_usage_error(const char *args, const char *needle)
{
    int rc = run(args);
    const char *err = slurp(td_path("stderr"));
    assert_non_null(err);
    if (rc != 2 || !strstr(err, needle))
        print_error("args %s: exit %d, stderr: %s\n", args, rc, err ? err : "(none)");
    assert_int_equal(rc, 2);
    assert_true(strncmp(err, "train: ", 7) == 0);
    assert_msg_has(err, needle);
    assert_true(strchr(err, '\n') == err + strlen(err) - 1);   /* exactly one line */
}

/* IDX files under their distributed names: 4 classes of 6x6 images, class c has a
 * bright 3x3 quadrant c on noise (chance 1/4). */
static inline void write_idx_set(const char *dir, const char *prefix, uint32_t n, uint64_t seed)
{
    size_t pix = 36;
    unsigned char *img = malloc(16 + n * pix), *lbl = malloc(8 + n);
    assert_non_null(img);
    assert_non_null(lbl);
    td_be32(img, 0x803);
    td_be32(img + 4, n);
    td_be32(img + 8, 6);
    td_be32(img + 12, 6);
    td_be32(lbl, 0x801);
    td_be32(lbl + 4, n);
    cr_rng r;
    cr_rng_seed(&r, seed);
    for (uint32_t i = 0; i < n; i++) {
        int c = (int)cr_rng_below(&r, 4);
        lbl[8 + i] = (unsigned char)c;
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                int inside = (y / 3) * 2 + x / 3 == c;
                img[16 + i * pix + (size_t)y * 6 + (size_t)x] =
                    (unsigned char)(cr_rng_below(&r, 120) + (inside ? 100 : 0));
            }
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, prefix);
    td_write(p, img, 16 + n * pix);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, prefix);
    td_write(p, lbl, 8 + n);
    free(img);
    free(lbl);
}

/* The scratch dir's "idx": a training set of n_train samples (seed 1) and a test
 * set of 200 (seed 2) from write_idx_set, written on the first call. */
static inline const char *idx_scratch_dir(uint32_t n_train)
{
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", td_path("idx"));
        assert_int_equal(mkdir(dir, 0700), 0);
        write_idx_set(dir, "train", n_train, 1);
        write_idx_set(dir, "t10k", 200, 2);
    }
    return dir;
}

#endif
