/* GEMM: every micro-kernel this CPU runs (AVX-512, AVX2, portable C) against a naive
 * reference that accumulates in double, on shapes around the tile and block sizes,
 * all four transpose combinations, padded leading dimensions, alpha/beta variants,
 * and 1/2/3 threads giving bit-identical results.
 *
 * Error bound (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1): a
 * sum of K products accumulated in working precision u is off by at most
 * gamma_K * sum|a*b| with gamma_K ~ K*u; alpha, beta and the update add a few more
 * roundings, so each element must be within (K + 4) * u * (|alpha| sum|a*b| +
 * |beta * C|) of the reference. */
#include "helpers.h"
#include "../kernel/kernel.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_ROUNDOFF (CR_TEST_DOUBLE ? DBL_EPSILON / 2 : FLT_EPSILON / 2)
#define C_SENTINEL 12345.0 /* in C's padding columns: must survive every call */

typedef struct problem {
    int ta, tb, M, N, K, lda, ldb, ldc;
    double alpha, beta;
    cr_real *A, *B, *C0; /* operands; C0 is C before the call */
    double *ref, *bound; /* expected C and the allowed error, per element */
} problem;

static cr_rng rng;

static int setup(void **state)
{
    (void)state;
    cr_rng_seed(&rng, 20240606);
    return 0;
}

/* Archs this CPU runs, best first; only the one CR_GEMM_KERNEL names when it is set
 * (tests/matrix.sh runs each kernel in turn that way). */
static int archs(const cr__gemm_arch **out)
{
    int n = 0;
    if (cr__config_get()->gemm_from_env) {
        out[n++] = cr__config_get()->gemm;
        return n;
    }
    if (cr__gemm_arch_avx512()) out[n++] = cr__gemm_arch_avx512();
    if (cr__gemm_arch_avx2()) out[n++] = cr__gemm_arch_avx2();
    out[n++] = cr__gemm_arch_generic();
    return n;
}

/* The smallest K that puts an M x N product on arch's packed path (M*K + K*N above
 * the direct-path limit, which comes from the L2 size), at least k. */
static int packed_k(const cr__gemm_arch *arch, int M, int N, int k)
{
    cr__gemm_blocks b = cr__gemm_blocking(arch);
    int least = (int)(b.direct_max / (M + N)) + 1;
    return k > least ? k : least;
}

static int takes_direct_path(const cr__gemm_arch *arch, int M, int N, int K)
{
    return (ptrdiff_t)M * K + (ptrdiff_t)K * N <= cr__gemm_blocking(arch).direct_max;
}

static double uniform(void) { return 2 * cr_rng_uniform(&rng) - 1; }

/* Random operands with leading dimensions padded by pad (padding holds NaN, so
 * reading it shows up in the result), C0 random or NaN, and the reference. */
static problem make(int ta, int tb, int M, int N, int K, double alpha, double beta, int pad,
                    int c_nan)
{
    problem p = { ta,
                  tb,
                  M,
                  N,
                  K,
                  (ta ? M : K) + pad,
                  (tb ? K : N) + pad,
                  N + pad,
                  alpha,
                  beta,
                  NULL,
                  NULL,
                  NULL,
                  NULL,
                  NULL };
    size_t na = (size_t)(ta ? K : M) * (size_t)p.lda, nb = (size_t)(tb ? N : K) * (size_t)p.ldb;
    size_t nc = (size_t)M * (size_t)p.ldc;
    p.A = malloc((na + 1) * sizeof *p.A);
    p.B = malloc((nb + 1) * sizeof *p.B);
    p.C0 = malloc((nc + 1) * sizeof *p.C0);
    p.ref = malloc(((size_t)M * (size_t)N + 1) * sizeof *p.ref);
    p.bound = malloc(((size_t)M * (size_t)N + 1) * sizeof *p.bound);
    assert_non_null(p.A);
    assert_non_null(p.B);
    assert_non_null(p.C0);
    assert_non_null(p.ref);
    assert_non_null(p.bound);
    for (size_t i = 0; i < na; i++)
        p.A[i] = (cr_real)((int)(i % (size_t)p.lda) < (ta ? M : K) ? uniform() : NAN);
    for (size_t i = 0; i < nb; i++)
        p.B[i] = (cr_real)((int)(i % (size_t)p.ldb) < (tb ? K : N) ? uniform() : NAN);
    for (size_t i = 0; i < nc; i++)
        p.C0[i] =
            (cr_real)((int)(i % (size_t)p.ldc) < N ? (c_nan ? NAN : uniform()) : C_SENTINEL);

    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? p.A[(size_t)k * p.lda + i] : p.A[(size_t)i * p.lda + k];
                double b = tb ? p.B[(size_t)j * p.ldb + k] : p.B[(size_t)k * p.ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double c = beta == 0 ? 0 : beta * p.C0[(size_t)i * p.ldc + j];
            p.ref[(size_t)i * N + j] = alpha * s + c;
            p.bound[(size_t)i * N + j] =
                (K + 4) * UNIT_ROUNDOFF * (fabs(alpha) * mag + fabs(c));
        }
    return p;
}

static void drop(problem *p)
{
    free(p->A);
    free(p->B);
    free(p->C0);
    free(p->ref);
    free(p->bound);
}

/* Run on arch (or the public cr_gemm when arch is NULL) and check every element and
 * C's padding. Returns the result (caller frees). */
static cr_real *run_check(const problem *p, const cr__gemm_arch *arch, cr_pool *pool)
{
    size_t nc = (size_t)p->M * (size_t)p->ldc;
    cr_real *C = malloc((nc + 1) * sizeof *C);
    assert_non_null(C);
    memcpy(C, p->C0, nc * sizeof *C);
    if (arch)
        cr__gemm_with(arch, pool, p->ta, p->tb, p->M, p->N, p->K, (cr_real)p->alpha, p->A,
                      p->lda, p->B, p->ldb, (cr_real)p->beta, C, p->ldc);
    else
        cr_gemm(pool, p->ta, p->tb, p->M, p->N, p->K, (cr_real)p->alpha, p->A, p->lda, p->B,
                p->ldb, (cr_real)p->beta, C, p->ldc);
    for (int i = 0; i < p->M; i++)
        for (int j = 0; j < p->ldc; j++) {
            double got = C[(size_t)i * p->ldc + j];
            if (j >= p->N) {
                if (got != C_SENTINEL) {
                    print_error("%s %dx%dx%d ta=%d tb=%d: C padding (%d,%d) overwritten: %g\n",
                                arch ? arch->name : "cr_gemm", p->M, p->N, p->K, p->ta, p->tb,
                                i, j, got);
                    fail();
                }
                continue;
            }
            double want = p->ref[(size_t)i * p->N + j], tol = p->bound[(size_t)i * p->N + j];
            if (!(fabs(got - want) <= tol)) {
                print_error("%s %dx%dx%d ta=%d tb=%d alpha=%g beta=%g: C(%d,%d) = %.9g, "
                            "expected %.9g (tol %.3g)\n",
                            arch ? arch->name : "cr_gemm", p->M, p->N, p->K, p->ta, p->tb,
                            p->alpha, p->beta, i, j, got, want, tol);
                fail();
            }
        }
    return C;
}

/* Shapes around a kernel's tiles (mr x nr) and blocks (kc, mc, nc), plus the fixed
 * awkward ones; those marked packed have K raised past the direct-path limit. */
static int shapes_for(const cr__gemm_arch *arch, int (*s)[3])
{
    cr__gemm_blocks b = cr__gemm_blocking(arch);
    int mr = (int)b.mr, nr = (int)b.nr, kc = (int)b.kc, mc = (int)b.mc, nc = (int)b.nc;
    int n = 0;
#define ADD(m, nn, k) (s[n][0] = (m), s[n][1] = (nn), s[n][2] = (k), n++)
#define PACKED_K(m, nn, k)                                                                     \
    ((k) > (int)(b.direct_max / ((m) + (nn))) ? (k) : (int)(b.direct_max / ((m) + (nn))) + 1)
    ADD(1, 1, 1);
    ADD(17, 33, 5);
    ADD(1000, 3, 1000);
    ADD(5, 1000, 7);
    ADD(mr - 1, nr - 1, 3);
    ADD(mr, nr, 1);
    ADD(mr + 1, nr + 1, 2);
    ADD(2 * mr + 1, 2 * nr - 1, 9);
    ADD(3, nr / 2 + 1, kc + 1);
    ADD(mr + 3, 2 * nr + 5, PACKED_K(mr + 3, 2 * nr + 5, kc - 1));
    ADD(mr + 3, nr + 7, PACKED_K(mr + 3, nr + 7, 2 * kc + 1));
    ADD(mc + 1, nr + 1, PACKED_K(mc + 1, nr + 1, kc + 3));
    ADD(mr - 1, nc + 1, PACKED_K(mr - 1, nc + 1, 20));
#undef ADD
#undef PACKED_K
    return n;
}

static void test_every_remainder_shape_and_transpose_matches_reference(void **state)
{
    (void)state;
    const cr__gemm_arch *a[3];
    int na = archs(a);
    for (int ai = 0; ai < na; ai++) {
        int s[16][3];
        int ns = shapes_for(a[ai], s);
        for (int si = 0; si < ns; si++)
            for (int t = 0; t < 4; t++) {
                problem p =
                    make(t >> 1, t & 1, s[si][0], s[si][1], s[si][2], 1.25, -0.75, 3, 0);
                free(run_check(&p, a[ai], NULL));
                drop(&p);
            }
    }
}

/* Few columns with A transposed in memory (the narrow kernels' case, e.g. H^T * G
 * of a 10-class layer): every column count around 8 and 12 and row counts around
 * one and two vectors. */
static void test_narrow_shapes_match_reference(void **state)
{
    (void)state;
    const int rows[] = { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100 };
    const cr__gemm_arch *a[3];
    int na = archs(a);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int n = 1; n <= 13; n++)
            for (int tb = 0; tb < 2; tb++) {
                problem p =
                    make(1, tb, rows[r], n, 1 + (rows[r] * n) % 23, 0.5, n % 2 ? 0 : 2, 2, 0);
                for (int ai = 0; ai < na; ai++) free(run_check(&p, a[ai], NULL));
                drop(&p);
            }
}

static void test_alpha_beta_variants(void **state)
{
    (void)state;
    const double ab[][2] = { { 1, 0 },    { 1, 1 },   { -0.5, 0 },
                             { 2, -1.5 }, { 0.5, 1 }, { -1, 0.25 } };
    const cr__gemm_arch *a[3];
    int na = archs(a);
    for (size_t v = 0; v < sizeof ab / sizeof ab[0]; v++)
        for (int t = 0; t < 4; t++) {
            problem p = make(t >> 1, t & 1, 37, 45, 29, ab[v][0], ab[v][1], 1, 0);
            for (int ai = 0; ai < na; ai++) free(run_check(&p, a[ai], NULL));
            drop(&p);
        }
}

/* beta == 0 means C's old contents are not read: NaN there must not come out. */
static void test_beta_zero_ignores_nan_in_c(void **state)
{
    (void)state;
    const cr__gemm_arch *a[3];
    int na = archs(a);
    for (int t = 0; t < 4; t++) {
        problem p = make(t >> 1, t & 1, 21, 40, 13, 0.5, 0, 2, 1);
        for (int ai = 0; ai < na; ai++) free(run_check(&p, a[ai], NULL));
        free(run_check(&p, NULL, NULL));
        drop(&p);
    }
    for (int ai = 0; ai < na; ai++) { /* packed path */
        problem p = make(0, 0, 70, 60, packed_k(a[ai], 70, 60, 300), 1, 0, 0, 1);
        assert_false(takes_direct_path(a[ai], p.M, p.N, p.K));
        free(run_check(&p, a[ai], NULL));
        drop(&p);
    }
}

/* alpha == 0 or K == 0: C = beta * C and A, B are not read (they hold NaN here). */
static void test_alpha_zero_or_empty_k_only_scales_c(void **state)
{
    (void)state;
    cr_real A[6], B[6], C[4] = { 1, -2, 3, NAN };
    for (int i = 0; i < 6; i++) A[i] = B[i] = NAN;
    cr_gemm(NULL, 0, 0, 2, 2, 3, 0, A, 3, B, 2, 2, C, 2);
    assert_close(C[0], 2, 0, 0);
    assert_close(C[1], -4, 0, 0);
    assert_close(C[2], 6, 0, 0);
    cr_gemm(NULL, 1, 1, 2, 2, 0, 1, A, 2, B, 1, 0, C, 2); /* K == 0, beta == 0: zeros */
    for (int i = 0; i < 4; i++) assert_true(C[i] == 0);
    cr_real D[2] = { 7, 8 };
    cr_gemm(NULL, 0, 0, 0, 2, 3, 1, A, 3, B, 2, 0, D, 2); /* M == 0: nothing written */
    cr_gemm(NULL, 0, 0, 1, 0, 3, 1, A, 3, B, 2, 0, D, 2); /* N == 0 */
    assert_true(D[0] == 7 && D[1] == 8);
}

/* 1, 2 and 3 threads give the same bits for p on arch. */
static void check_thread_counts(const problem *p, const cr__gemm_arch *arch, cr_pool **pools)
{
    size_t bytes = (size_t)p->M * (size_t)p->ldc * sizeof(cr_real);
    cr_real *one = run_check(p, arch, pools[0]);
    for (int ti = 1; ti < 3; ti++) {
        cr_real *many = run_check(p, arch, pools[ti]);
        if (memcmp(one, many, bytes) != 0) {
            print_error("%s %dx%dx%d: %d threads differ from 1\n", arch->name, p->M, p->N,
                        p->K, ti + 1);
            fail();
        }
        free(many);
    }
    free(one);
}

/* Splitting C among threads never changes a result bit, on direct and packed paths
 * and for row and column splits. */
static void test_one_two_three_threads_bit_identical(void **state)
{
    (void)state;
    const int s[][5] = {
        { 0, 0, 300, 200, 100 }, { 1, 1, 200, 300, 100 }, { 0, 1, 1000, 3, 1000 },
        { 1, 0, 64, 784, 128 },  { 0, 0, 700, 70, 300 },  { 1, 1, 90, 900, 250 },
        { 1, 0, 600, 10, 100 },  { 1, 1, 1000, 12, 50 },
    };
    cr_pool *pools[3] = { cr_pool_new(1), cr_pool_new(2), cr_pool_new(3) };
    for (int i = 0; i < 3; i++) assert_non_null(pools[i]);
    const cr__gemm_arch *a[3];
    int na = archs(a);
    for (size_t si = 0; si < sizeof s / sizeof s[0]; si++) {
        problem p = make(s[si][0], s[si][1], s[si][2], s[si][3], s[si][4], 0.75, 0.5, 1, 0);
        for (int ai = 0; ai < na; ai++) check_thread_counts(&p, a[ai], pools);
        drop(&p);
    }
    /* a row split and a column split on each arch's packed path, whatever the caches */
    for (int ai = 0; ai < na; ai++)
        for (int rows = 0; rows < 2; rows++) {
            int M = rows ? 300 : 40, N = rows ? 40 : 300;
            problem p = make(rows, 0, M, N, packed_k(a[ai], M, N, 64), 0.75, 0.5, 1, 0);
            assert_false(takes_direct_path(a[ai], M, N, p.K));
            check_thread_counts(&p, a[ai], pools);
            drop(&p);
        }
    for (int i = 0; i < 3; i++) cr_pool_free(pools[i]);
}

/* cr_gemm runs the best kernel this CPU has, or the one CR_GEMM_KERNEL names. */
static void test_public_gemm_runs_the_configured_kernel(void **state)
{
    (void)state;
    cr_cpu_info info;
    cr_cpu_info_get(&info);
#ifdef CR_USE_OPENBLAS
    assert_string_equal(cr_gemm_kernel_name(), "openblas");
#else
    const char *env = getenv("CR_GEMM_KERNEL");
    assert_string_equal(cr_gemm_kernel_name(), env ? env : cr__gemm_arch_best()->name);
    assert_int_equal(info.gemm_from_env, env != NULL);
#endif
    assert_string_equal(info.gemm_kernel, cr_gemm_kernel_name());
    assert_non_null(strstr(info.gemm_supported, "generic"));
    const char *name = cr_gemm_kernel_name();
    assert_true(!strcmp(name, "avx512") || !strcmp(name, "avx2") || !strcmp(name, "generic") ||
                !strcmp(name, "openblas"));
    cr_pool *pool = cr_pool_new(2);
    assert_non_null(pool);
    for (int t = 0; t < 4; t++) {
        problem p = make(t >> 1, t & 1, 130, 70, 260, 1, 0.5, 2, 0);
        free(run_check(&p, NULL, pool));
        free(run_check(&p, NULL, NULL));
        drop(&p);
    }
    cr_pool_free(pool);
}

/* A pool's packing buffers, once sized by a round of calls, are reused: the same
 * calls again allocate nothing. The products are built on both sides of the
 * direct-path limit of the kernel cr_gemm runs, so that the packed path (A and B
 * blocks) and the direct one (a packed sliver of a transposed B) are both covered
 * whatever the caches; the pool has CR_NUM_THREADS threads. */
static void test_gemm_with_pool_allocates_nothing_in_steady_state(void **state)
{
    (void)state;
#ifndef CR_USE_OPENBLAS
    const cr__gemm_arch *arch = cr__config_get()->gemm;
    cr_pool *pool = cr_pool_new(0);
    assert_non_null(pool);
    problem ps[3] = {
        make(1, 0, 200, 150, packed_k(arch, 200, 150, 64), 1, 0, 0, 0),
        make(0, 1, 40, 50, packed_k(arch, 40, 50, 60), 1, 1, 0, 0),
        make(0, 1, 40, 50, 60, 1, 1, 0, 0),
    };
    assert_false(takes_direct_path(arch, ps[0].M, ps[0].N, ps[0].K));
    assert_false(takes_direct_path(arch, ps[1].M, ps[1].N, ps[1].K));
    assert_true(takes_direct_path(arch, ps[2].M, ps[2].N, ps[2].K));
    cr_test_alloc counter = { 0 };
    cr_test_alloc_install(&counter);
    for (int i = 0; i < 3; i++) free(run_check(&ps[i], NULL, pool));
    size_t warm = counter.mallocs + counter.reallocs;
    for (int r = 0; r < 3; r++)
        for (int i = 2; i >= 0; i--) free(run_check(&ps[i], NULL, pool));
    size_t steady = counter.mallocs + counter.reallocs;
    cr_test_alloc_remove();
    assert_true(warm > 0); /* the first round did size the buffers */
    assert_int_equal(steady, warm);
    for (int i = 0; i < 3; i++) drop(&ps[i]);
    cr_pool_free(pool);
#endif
}

/* Out of memory for packing buffers: still the right answer (own buffer, or the
 * plain loop when even that fails). */
static void test_gemm_out_of_memory_still_correct(void **state)
{
    (void)state;
    problem p = make(0, 1, 300, 300, 300, 1, 0.5, 1, 0);
    for (int fail_at = 1; fail_at <= 2; fail_at++) {
        cr_pool *pool = cr_pool_new(2);
        assert_non_null(pool);
        cr_test_alloc counter = { 0 };
        counter.fail_at = fail_at;
        cr_test_alloc_install(&counter);
        free(run_check(&p, NULL, pool)); /* fail_at 1: the pool cannot grow */
        free(run_check(&p, NULL, NULL)); /* fail_at 2 after 1 success: no own buffer */
        cr_test_alloc_remove();
        cr_pool_free(pool);
    }
    cr_test_alloc counter = { 0 };
    counter.fail_at = 1;
    cr_test_alloc_install(&counter);
    free(run_check(&p, NULL, NULL)); /* no pool and no memory at all */
    cr_test_alloc_remove();
    drop(&p);
}

/* C += A B^T for small outputs (cr__gemm_nt_small: conv2d's weight gradient) on every
 * kernel this CPU runs, against sums in double: K below a vector, K with tails of
 * every length, chunked K, outputs not a multiple of the register block, padded rows
 * (the padding holds NaN: reading it would show). Bound: (K + 8) u sum|a*b| + u |C|,
 * as above; the chunks add at most K/512 more roundings, far inside it. */
static void test_small_output_nt_product_matches_reference(void **state)
{
    (void)state;
    static const int shapes[][3] = { { 1, 1, 1 }, { 3, 5, 17 }, { 4, 3, 64 }, { 8, 9, 6272 },
                                     { 5, 7, 1999 }, { 16, 16, 700 }, { 2, 1, 4097 },
                                     { 7, 2, 513 } };
    const cr__gemm_arch *as[3];
    int na = archs(as);
    for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ld = K + 3;
        cr_real *A = malloc(sizeof(cr_real) * (size_t)M * ld);
        cr_real *B = malloc(sizeof(cr_real) * (size_t)N * ld);
        cr_real *C = malloc(sizeof(cr_real) * (size_t)M * N);
        cr_real *work = malloc(sizeof(cr_real) * (size_t)cr__gemm_nt_chunks(M, N, K) * M * N);
        assert_true(A && B && C && work);
        for (int i = 0; i < M * ld; i++) A[i] = i % ld < K ? (cr_real)(2 * cr_rng_uniform(&rng) - 1) : NAN;
        for (int i = 0; i < N * ld; i++) B[i] = i % ld < K ? (cr_real)(2 * cr_rng_uniform(&rng) - 1) : NAN;
        for (int a = 0; a < na; a++) {
            for (int i = 0; i < M * N; i++) C[i] = (cr_real)(0.25 * (i % 5) - 0.5);
            cr__gemm_nt_small(as[a], NULL, M, N, K, A, ld, B, ld, C, N, work);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double c0 = 0.25 * ((i * N + j) % 5) - 0.5, ref = c0, mag = 0;
                    for (int p = 0; p < K; p++) {
                        double t = (double)A[i * ld + p] * (double)B[j * ld + p];
                        ref += t;
                        mag += fabs(t);
                    }
                    double bound = (K + 8) * UNIT_ROUNDOFF * mag + UNIT_ROUNDOFF * fabs(c0);
                    if (!(fabs((double)C[i * N + j] - ref) <= bound))
                        print_error("%s %dx%dx%d: C[%d][%d] = %.17g, expected %.17g +- %g\n",
                                    as[a]->name, M, N, K, i, j, (double)C[i * N + j], ref, bound);
                    assert_true(fabs((double)C[i * N + j] - ref) <= bound);
                }
        }
        free(A);
        free(B);
        free(C);
        free(work);
    }
}

/* The same product on pools of 1, 2 and 3 threads gives the same bits: its chunks
 * come from the shape, each is one task, and they are added in order. */
static void test_small_output_nt_product_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    const int M = 8, N = 9, K = 20000;
    assert_true(cr__gemm_nt_chunks(M, N, K) > 3);          /* more tasks than threads */
    cr_real *A = malloc(sizeof(cr_real) * M * K), *B = malloc(sizeof(cr_real) * N * K);
    cr_real *C[3], *work = malloc(sizeof(cr_real) * (size_t)cr__gemm_nt_chunks(M, N, K) * M * N);
    assert_true(A && B && work);
    for (int i = 0; i < M * K; i++) A[i] = (cr_real)(2 * cr_rng_uniform(&rng) - 1);
    for (int i = 0; i < N * K; i++) B[i] = (cr_real)(2 * cr_rng_uniform(&rng) - 1);
    for (int th = 1; th <= 3; th++) {
        cr_pool *pool = cr_pool_new(th);
        C[th - 1] = calloc((size_t)M * N, sizeof(cr_real));
        assert_true(pool && C[th - 1]);
        cr__gemm_nt_small(cr__config_get()->gemm, pool, M, N, K, A, K, B, K, C[th - 1], N, work);
        cr_pool_free(pool);
    }
    assert_memory_equal(C[0], C[1], sizeof(cr_real) * M * N);
    assert_memory_equal(C[0], C[2], sizeof(cr_real) * M * N);
    for (int i = 0; i < 3; i++) free(C[i]);
    free(A);
    free(B);
    free(work);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_test_config_accepted),
        cmocka_unit_test(test_every_remainder_shape_and_transpose_matches_reference),
        cmocka_unit_test(test_narrow_shapes_match_reference),
        cmocka_unit_test(test_alpha_beta_variants),
        cmocka_unit_test(test_beta_zero_ignores_nan_in_c),
        cmocka_unit_test(test_alpha_zero_or_empty_k_only_scales_c),
        cmocka_unit_test(test_one_two_three_threads_bit_identical),
        cmocka_unit_test(test_public_gemm_runs_the_configured_kernel),
        cmocka_unit_test(test_gemm_with_pool_allocates_nothing_in_steady_state),
        cmocka_unit_test(test_gemm_out_of_memory_still_correct),
        cmocka_unit_test(test_small_output_nt_product_matches_reference),
        cmocka_unit_test(test_small_output_nt_product_same_bits_for_1_2_3_threads),
    };
    return CR_TEST_RUN(tests, setup, NULL, argc, argv);
}
