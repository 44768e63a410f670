/* kernel/ internals: the thread pool's job interface, CPU facts, and the GEMM
 * micro-kernels of each instruction set. Not part of the public API. */
#ifndef CR_KERNEL_H
#define CR_KERNEL_H

#include "chainrule.h"

/* ================================================================ thread pool */

/* One task of a job: `task` in 0..ntasks-1, run on thread `thread` in
 * 0..cr_pool_threads-1 (0 is the calling thread). */
typedef void (*cr__pool_fn)(void *ctx, int task, int thread);

/* Run fn(ctx, task, thread) for every task in 0..ntasks-1 and return when all are
 * done. The caller and the workers claim tasks first come, first served (the
 * caller never waits for a worker that has not claimed one), so a task must not
 * depend on which thread runs it except through per-thread scratch. pool NULL, one
 * thread or one task: runs inline. Not reentrant: a task must not use the same
 * pool, and a pool serves one calling thread at a time. */
void cr__pool_run(cr_pool *pool, cr__pool_fn fn, void *ctx, int ntasks);

/* Make every thread's scratch buffer at least `bytes` long (64-byte aligned), keeping
 * buffers that are already big enough: no allocation in steady state. Call it from
 * the pool's calling thread, outside cr__pool_run. 0 on success, -1 when out of
 * memory (buffers that were grown stay valid). */
int cr__pool_reserve(cr_pool *pool, size_t bytes);
/* Thread `thread`'s scratch buffer (valid after cr__pool_reserve, owned by the
 * pool, freed by cr_pool_free). */
void *cr__pool_scratch(cr_pool *pool, int thread);

/* ================================================================= CPU facts */

/* Data cache sizes in bytes of the first CPU (l3 0: no L3). */
typedef struct cr__caches {
    size_t l1, l2, l3;
} cr__caches;
/* Read them from sysfs (/sys/devices/system/cpu/cpu0/cache), with defaults 32 KiB /
 * 512 KiB / 8 MiB for what is unreadable. No caching: cr__cpu_caches is the one to
 * use. */
void cr__cpu_detect_caches(cr__caches *out);
/* The caches GEMM blocks for: the system's, or CR_CPU_CACHES (kernel/config.c). */
const cr__caches *cr__cpu_caches(void);

/* Instruction-set extensions this CPU runs and the OS saves the registers of
 * (kernel/cpu.c, the one place that asks the CPU): bits of cr__cpu_features(),
 * read once. Each user tests the set it needs: GEMM's AVX-512 kernels need
 * AVX512F only, the activations' (ops/sigmoid.c) AVX512F+DQ+VL+BW. */
#define CR__CPU_AVX2     0x01u
#define CR__CPU_FMA      0x02u
#define CR__CPU_AVX512F  0x04u
#define CR__CPU_AVX512DQ 0x08u
#define CR__CPU_AVX512VL 0x10u
#define CR__CPU_AVX512BW 0x20u
unsigned cr__cpu_features(void);
/* 1 when every bit of `need` is in cr__cpu_features(). */
static inline int cr__cpu_has(unsigned need) { return (cr__cpu_features() & need) == need; }

/* ============================================================ GEMM kernels */

/* A micro-kernel computes one tile of C, m x n with 1 <= m <= mr, 1 <= n <= nr:
 *   C[i][j] = alpha * sum_{p<k} a[i*rsa + p*csa] * b[p*rsb + j] + beta * C[i][j]
 * (beta == 0: C is only written). The sum runs over p in order with one
 * accumulator per element, and the update is the same formula for every m and n,
 * so an element's value does not depend on the tile it falls in. a is read with
 * any strides (packed panel: rsa = 1, csa = mr; a row-major matrix: rsa = lda,
 * csa = 1); b's rows are contiguous and the kernel reads exactly n of each row.
 * k >= 1. */
typedef void (*cr__ukr_s)(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t rsa,
                          ptrdiff_t csa, const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc,
                          float alpha, float beta);
typedef void (*cr__ukr_d)(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t rsa,
                          ptrdiff_t csa, const double *b, ptrdiff_t rsb, double *c,
                          ptrdiff_t ldc, double alpha, double beta);

/* Narrow micro-kernel, for C with few columns and op(A) stored column-contiguous:
 * one tile is m <= mrc rows by n <= nrc columns, vectorised down the columns,
 *   C[i][j] = alpha * sum_{p<k} a[i + p*csa] * b[p*rsb + j*csb] + beta * C[i][j]
 * with the same per-element operation order and update formula as cr__ukr_s. */
typedef void (*cr__ukrc_s)(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t csa,
                           const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c,
                           ptrdiff_t ldc, float alpha, float beta);
typedef void (*cr__ukrc_d)(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t csa,
                           const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c,
                           ptrdiff_t ldc, double alpha, double beta);
/* The AVX-512 narrow kernels (kernel/gemm_narrow_avx512.c; mrc = 32 float, 16
 * double, nrc = 12), referenced by the AVX-512 table. */
void cr__ukrc_avx512_s(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t csa, const float *b,
                       ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc, float alpha,
                       float beta);
void cr__ukrc_avx512_d(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t csa,
                       const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c, ptrdiff_t ldc,
                       double alpha, double beta);

/* Transposing pack: dst[p*w + i] = src[i*lds + p] for i < h <= w, p < k. May write
 * lanes h..w-1 of each dst row (the panel's padding). */
typedef void (*cr__pack_s)(float *dst, ptrdiff_t w, const float *src, ptrdiff_t lds, int h,
                           ptrdiff_t k);
typedef void (*cr__pack_d)(double *dst, ptrdiff_t w, const double *src, ptrdiff_t lds, int h,
                           ptrdiff_t k);

/* Copying pack (same signature): dst[p*w + i] = src[p*lds + i] for i < h, p < k,
 * reading exactly h elements of each source row. h may exceed w (then w is a
 * multiple of 8): columns w..2w-1 go to the next panel at dst + w*k, and so on,
 * so one call packs all the panels of a block. */

/* Small-output kernel, for products whose output is a few rows by a few columns
 * and whose K is long (a conv layer's weight gradient: 8 x 9 over 50,176 columns),
 * where one GEMM tile would waste most of its lanes:
 *   out[i*N + j] = sum_{p<k} a[i*lda + p] * b[j*ldb + p]    i < M, j < N, k >= 1
 * (rows of a and b read along p). Vectorised along p: lane l of an accumulator sums
 * p = l, l + VL, ... in order, the lanes are added in a fixed order, then the last
 * k % VL products one by one. The result depends on the kernel (VL, FMA), never
 * on the caller's threads. */
typedef void (*cr__dot_s)(int M, int N, ptrdiff_t k, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, float *out);
typedef void (*cr__dot_d)(int M, int N, ptrdiff_t k, const double *a, ptrdiff_t lda,
                          const double *b, ptrdiff_t ldb, double *out);
/* The AVX-512 and AVX2 small-output kernels (kernel/gemm_dot_avx512.c, gemm_dot_avx2.c
 * built from kernel/gemm_dot.h), referenced by their tables. */
void cr__dot_avx512_s(int M, int N, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                      ptrdiff_t ldb, float *out);
void cr__dot_avx512_d(int M, int N, ptrdiff_t k, const double *a, ptrdiff_t lda,
                      const double *b, ptrdiff_t ldb, double *out);
void cr__dot_avx2_s(int M, int N, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                    ptrdiff_t ldb, float *out);
void cr__dot_avx2_d(int M, int N, ptrdiff_t k, const double *a, ptrdiff_t lda,
                    const double *b, ptrdiff_t ldb, double *out);

/* The micro-kernels of one instruction set, their tile sizes, and their packing
 * routines (NULL: the driver's plain loops). */
typedef struct cr__gemm_arch {
    const char *name; /* "avx512", "avx2", "generic" */
    int mr_s, nr_s;   /* float tile */
    int mr_d, nr_d;   /* double tile */
    cr__ukr_s ukr_s;
    cr__ukr_d ukr_d;
    cr__pack_s pack_s; /* transposing */
    cr__pack_d pack_d;
    cr__pack_s copy_s; /* copying */
    cr__pack_d copy_d;
    int mrc_s, nrc_s; /* narrow tile (0: no narrow kernels) */
    int mrc_d, nrc_d;
    cr__ukrc_s ukrc_s;
    cr__ukrc_d ukrc_d;
    cr__dot_s dot_s;  /* small-output kernels (NULL: the portable ones) */
    cr__dot_d dot_d;
    int kc_whole_l1;  /* 1: kc sized for a B sliver to fill L1, 0: half of it */
} cr__gemm_arch;

/* Each returns its kernels, or NULL when this build or this CPU cannot run them. */
const cr__gemm_arch *cr__gemm_arch_avx512(void);
const cr__gemm_arch *cr__gemm_arch_avx2(void);
const cr__gemm_arch *cr__gemm_arch_generic(void);
/* The tables inside the ISA files, compiled with that ISA's flags; their kernels
 * are NULL when the compiler lacks the ISA. No CPU check: use the functions above
 * (kernel/cpu.c, compiled without ISA flags). */
extern const cr__gemm_arch cr__gemm_avx512_kernels;
extern const cr__gemm_arch cr__gemm_avx2_kernels;
/* The best arch this CPU runs (never NULL). cr_gemm runs cr__config_get()->gemm,
 * which is this one unless CR_GEMM_KERNEL picked another. */
const cr__gemm_arch *cr__gemm_arch_best(void);

/* ============================================================ configuration */

/* Everything chainrule takes from the environment (kernel/config.c, README's
 * "Environment variables"), with the CPU facts it overrides. */
typedef struct cr__config {
    int num_threads;            /* CR_NUM_THREADS (1..256), else 1 */
    int ascii;                  /* CR_ASCII set, and not "" or "0" */
    cr__caches caches;          /* the system's, or CR_CPU_CACHES */
    int caches_from_env;        /* CR_CPU_CACHES was used */
    const cr__gemm_arch *gemm;  /* CR_GEMM_KERNEL, else the best the CPU runs */
    int gemm_from_env;          /* CR_GEMM_KERNEL was used */
    char gemm_supported[32];    /* "avx512,avx2,generic": what this build and CPU run */
    long tune_direct_max, tune_kc, tune_mc, tune_nc; /* CR_GEMM_TUNE builds; 0: unset */
    long tune_direct_rows, tune_direct_cols;        /* likewise */
    char error[512];            /* refused variables, "" when none */
} cr__config;
/* The process's configuration, read once (pthread_once) on first use. */
const cr__config *cr__config_get(void);
/* Fill *c from the variables that get(name, ctx) returns (NULL: unset) and the CPU:
 * the reader itself, without the process-wide copy (tests feed it values). */
void cr__config_parse(cr__config *c, const char *(*get)(const char *name, void *ctx),
                      void *ctx);

/* The tile and block sizes cr_gemm uses with `arch` for cr_real on this CPU, and the
 * sizes below which it skips packing A (direct path: when (M*K + K*N) elements fit
 * in direct_max and, unless B is transposed or C is narrow, M <= direct_rows or
 * N <= direct_cols). Tests build shapes around them. */
typedef struct cr__gemm_blocks {
    ptrdiff_t mr, nr, kc, mc, nc;
    ptrdiff_t direct_max, direct_rows, direct_cols;
} cr__gemm_blocks;
cr__gemm_blocks cr__gemm_blocking(const cr__gemm_arch *arch);

/* cr_gemm on a given arch (tests compare every arch the CPU has). Same contract as
 * cr_gemm; with BLAS=openblas this still runs our kernels. */
void cr__gemm_with(const cr__gemm_arch *arch, cr_pool *pool, int ta, int tb, int M, int N,
                   int K, cr_real alpha, const cr_real *A, int lda, const cr_real *B, int ldb,
                   cr_real beta, cr_real *C, int ldc);

/* C (M x N, row stride ldc) += A (M x K) B^T with B N x K, both read along K (row
 * strides lda, ldb), for outputs of at most CR__NT_SMALL_OUT values: K is cut into
 * cr__gemm_nt_chunks(M, N, K) chunks that depend on the shape only, each chunk's
 * M x N product goes by arch's small-output kernel into its slot of `work`
 * (chunks x M x N values, the caller's: nothing is allocated), one pool task per
 * chunk, and the slots are added into C in chunk order: the same bits for any
 * thread count. The caller checks the shape: M*N <= CR__NT_SMALL_OUT, M, N, K >= 1. */
#define CR__NT_SMALL_OUT 256
int cr__gemm_nt_chunks(int M, int N, int K);
void cr__gemm_nt_small(const cr__gemm_arch *arch, cr_pool *pool, int M, int N, int K,
                       const cr_real *A, int lda, const cr_real *B, int ldb, cr_real *C,
                       int ldc, cr_real *work);

#endif
