/* GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, for cr_real.
 *
 * GotoBLAS/BLIS structure. The micro-kernel (kernel/gemm_<isa>.c) updates an
 * mr x nr tile of C from a panel of op(A) (mr rows) and a panel of op(B) (nr
 * columns), accumulating in registers. Around it, the packed path:
 *
 *   for jc in N step nc          B block kc x nc packed in nr-wide slivers (L3)
 *     for pc in K step kc
 *       for ic in M step mc      A block mc x kc packed in mr-tall panels (L2)
 *         for jr in nc step nr   one B sliver stays in L1 ...
 *           for ir in mc step mr ... while the A panels stream past it
 *
 * Transposes cost nothing extra: packing reads op(A) and op(B) from either layout
 * (SIMD transposes in the ISA files). Products whose A and B fit in L2 take the
 * direct path: no blocking along K and no packing of A, whose elements the kernel
 * broadcasts in place; B is packed only when transposed. Among those, C with few
 * columns and A transposed in memory goes to the narrow kernels, which vectorise
 * down C's columns instead of along its rows.
 *
 * Threads: C is cut into column (or row) ranges of whole tiles, one range per task,
 * and the pool's threads claim tasks as they come; each task packs what it reads
 * into its thread's scratch. No task shares a reduction, the path depends on the
 * shape only, and the blocking along K starts at 0 whatever the range, so each
 * element goes through the same operations in the same order for any thread count:
 * results are bit-identical. */
#include "kernel.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef CR_USE_OPENBLAS
#include <cblas.h>
#endif

/* The kernels and tile sizes of an arch for this build's cr_real. */
#ifdef CR_REAL_DOUBLE
typedef cr__ukr_d ukr_fn;
typedef cr__ukrc_d ukrc_fn;
typedef cr__pack_d pack_fn;
#define ARCH_UKR(a) ((a)->ukr_d)
#define ARCH_MR(a) ((a)->mr_d)
#define ARCH_NR(a) ((a)->nr_d)
#define ARCH_UKRC(a) ((a)->ukrc_d)
#define ARCH_MRC(a) ((a)->mrc_d)
#define ARCH_NRC(a) ((a)->nrc_d)
#define ARCH_PACK(a) ((a)->pack_d)
#define ARCH_COPY(a) ((a)->copy_d)
#else
typedef cr__ukr_s ukr_fn;
typedef cr__ukrc_s ukrc_fn;
typedef cr__pack_s pack_fn;
#define ARCH_UKR(a) ((a)->ukr_s)
#define ARCH_MR(a) ((a)->mr_s)
#define ARCH_NR(a) ((a)->nr_s)
#define ARCH_UKRC(a) ((a)->ukrc_s)
#define ARCH_MRC(a) ((a)->mrc_s)
#define ARCH_NRC(a) ((a)->nrc_s)
#define ARCH_PACK(a) ((a)->pack_s)
#define ARCH_COPY(a) ((a)->copy_s)
#endif

typedef ptrdiff_t idx;

/* Below this many flops (2*M*N*K) per extra thread, waking a worker costs more
 * than it saves. */
#define MIN_FLOPS_PER_THREAD 1.5e6
#define TASKS_PER_THREAD_DIRECT 4
/* At most this many mr-row panels in a block of A (compute_blocks). */
#define MC_PANELS 48

typedef struct gemm {
    ukr_fn ukr;
    pack_fn pack_t; /* transposing pack, or NULL */
    pack_fn copy;   /* copying pack, or NULL */
    ukrc_fn ukrc;   /* narrow kernel, or NULL */
    int ta, tb;
    idx M, N, K;
    cr_real alpha, beta;
    const cr_real *A, *B;
    cr_real *C;
    idx lda, ldb, ldc;
    idx mr, nr, kc, mc, nc; /* tile and block sizes */
    int direct;             /* A read in place, one pass over K */
    int narrow;             /* direct, with the narrow kernel (few columns) */
    int split_n;            /* tasks own column ranges (else row ranges) */
    idx units;              /* tiles along the split dimension */
    int ntasks;
    size_t a_elems; /* scratch: packed A block, then packed B */
    cr_pool *pool;
    cr_real *own; /* scratch when there is no pool */
} gemm;

static idx min_idx(idx a, idx b) { return a < b ? a : b; }
static idx round_up(idx a, idx b) { return (a + b - 1) / b * b; }

/* ------------------------------------------------------------------ packing */

/* rows i0..i0+m of op(A), columns p0..p0+k, as panels of mr rows: element (i, p) of
 * panel r at dst[r*mr*k + p*mr + i]. Rows past m in the last panel are left as
 * they are: the micro-kernel never reads them. */
static void pack_a(cr_real *dst, const gemm *g, idx i0, idx m, idx p0, idx k)
{
    const idx mr = g->mr;
    if (g->ta && g->copy && mr % 8 == 0) { /* whole rows of A at once, into all panels */
        g->copy(dst, mr, g->A + (p0 * g->lda + i0), g->lda, (int)m, k);
        return;
    }
    for (idx r = 0; r < m; r += mr, dst += mr * k) {
        idx h = min_idx(mr, m - r);
        if (g->ta) { /* op(A)(i, p) = A[p*lda + i]: rows of A are contiguous in i */
            const cr_real *src = g->A + (p0 * g->lda + i0 + r);
            if (g->copy)
                g->copy(dst, mr, src, g->lda, (int)h, k);
            else
                for (idx p = 0; p < k; p++, src += g->lda)
                    memcpy(dst + p * mr, src, (size_t)h * sizeof *src);
        } else if (g->pack_t) { /* op(A)(i, p) = A[i*lda + p]: transpose h rows */
            g->pack_t(dst, mr, g->A + ((i0 + r) * g->lda + p0), g->lda, (int)h, k);
        } else {
            for (idx i = 0; i < h; i++) {
                const cr_real *src = g->A + ((i0 + r + i) * g->lda + p0);
                cr_real *d = dst + i;
                for (idx p = 0; p < k; p++) d[p * mr] = src[p];
            }
        }
    }
}

/* rows p0..p0+k of op(B), columns j0..j0+n, as slivers of nr columns: element
 * (p, j) of sliver s at dst[s*nr*k + p*nr + j]. Columns past n in the last sliver
 * are left as they are: the micro-kernel never reads them. */
static void pack_b(cr_real *dst, const gemm *g, idx p0, idx k, idx j0, idx n)
{
    const idx nr = g->nr;
    if (!g->tb && g->copy && nr % 8 == 0) { /* whole rows at once, into all slivers */
        g->copy(dst, nr, g->B + (p0 * g->ldb + j0), g->ldb, (int)n, k);
        return;
    }
    for (idx s = 0; s < n; s += nr, dst += nr * k) {
        idx w = min_idx(nr, n - s);
        if (!g->tb) { /* op(B)(p, j) = B[p*ldb + j]: copy row pieces */
            const cr_real *src = g->B + (p0 * g->ldb + j0 + s);
            for (idx p = 0; p < k; p++, src += g->ldb)
                memcpy(dst + p * nr, src, (size_t)w * sizeof *src);
        } else if (g->pack_t) { /* op(B)(p, j) = B[j*ldb + p]: transpose w rows of B */
            g->pack_t(dst, nr, g->B + ((j0 + s) * g->ldb + p0), g->ldb, (int)w, k);
        } else {
            for (idx j = 0; j < w; j++) {
                const cr_real *src = g->B + ((j0 + s + j) * g->ldb + p0);
                cr_real *d = dst + j;
                for (idx p = 0; p < k; p++) d[p * nr] = src[p];
            }
        }
    }
}

/* ------------------------------------------------------------------- paths */

static void run_direct(const gemm *g, cr_real *bp, idx r0, idx r1, idx c0, idx c1)
{
    const idx rsa = g->ta ? 1 : g->lda, csa = g->ta ? g->lda : 1;
    for (idx j = c0; j < c1; j += g->nr) {
        idx n = min_idx(g->nr, c1 - j);
        const cr_real *b = g->B + j;
        idx rsb = g->ldb;
        if (g->tb) {
            pack_b(bp, g, 0, g->K, j, n);
            b = bp;
            rsb = g->nr;
        }
        for (idx i = r0; i < r1; i += g->mr)
            g->ukr((int)min_idx(g->mr, r1 - i), (int)n, g->K, g->A + i * rsa, rsa, csa, b, rsb,
                   g->C + (i * g->ldc + j), g->ldc, g->alpha, g->beta);
    }
}

/* Few columns and A^T in memory: the narrow kernel, tiles of mr rows by all N. */
static void run_narrow(const gemm *g, idx r0, idx r1)
{
    const idx rsb = g->tb ? 1 : g->ldb, csb = g->tb ? g->ldb : 1;
    for (idx i = r0; i < r1; i += g->mr)
        g->ukrc((int)min_idx(g->mr, r1 - i), (int)g->N, g->K, g->A + i, g->lda, g->B, rsb, csb,
                g->C + i * g->ldc, g->ldc, g->alpha, g->beta);
}

static void run_packed(const gemm *g, cr_real *buf, idx r0, idx r1, idx c0, idx c1)
{
    cr_real *ap = buf, *bp = buf + g->a_elems;
    /* The rows in blocks of equal height (whole tiles, at most mc): 512 rows with mc
     * 336 go as 256 + 256, not 336 + 176. Which rows share a block does not change
     * any element's sum. */
    idx blocks_m = (r1 - r0 + g->mc - 1) / g->mc;
    idx mc_even = round_up((r1 - r0 + blocks_m - 1) / blocks_m, g->mr);
    for (idx jc = c0; jc < c1; jc += g->nc) {
        idx nc = min_idx(g->nc, c1 - jc);
        for (idx pc = 0; pc < g->K; pc += g->kc) {
            idx kc = min_idx(g->kc, g->K - pc);
            cr_real beta = pc == 0 ? g->beta : 1;
            pack_b(bp, g, pc, kc, jc, nc);
            for (idx ic = r0; ic < r1; ic += mc_even) {
                idx mc = min_idx(mc_even, r1 - ic);
                pack_a(ap, g, ic, mc, pc, kc);
                for (idx jr = 0; jr < nc; jr += g->nr)
                    for (idx ir = 0; ir < mc; ir += g->mr)
                        g->ukr((int)min_idx(g->mr, mc - ir), (int)min_idx(g->nr, nc - jr), kc,
                               ap + ir * kc, 1, g->mr, bp + jr * kc, g->nr,
                               g->C + ((ic + ir) * g->ldc + jc + jr), g->ldc, g->alpha, beta);
            }
        }
    }
}

static void gemm_task(void *ctx, int task, int thread)
{
    const gemm *g = ctx;
    idx lo = g->units * task / g->ntasks, hi = g->units * (task + 1) / g->ntasks;
    idx r0 = 0, r1 = g->M, c0 = 0, c1 = g->N;
    if (g->split_n) {
        c0 = lo * g->nr;
        c1 = min_idx(hi * g->nr, g->N);
    } else {
        r0 = lo * g->mr;
        r1 = min_idx(hi * g->mr, g->M);
    }
    cr_real *buf = g->own ? g->own : cr__pool_scratch(g->pool, thread);
    if (g->narrow)
        run_narrow(g, r0, r1);
    else if (g->direct)
        run_direct(g, buf, r0, r1, c0, c1);
    else
        run_packed(g, buf, r0, r1, c0, c1);
}

/* Scratch bytes per thread for g's task split; sets g->a_elems. Packed: an A block
 * and a B block; direct: one packed B sliver when B is transposed, else none. */
static size_t scratch_bytes(gemm *g)
{
    idx per_task = (g->units + g->ntasks - 1) / g->ntasks;
    idx rows = g->split_n ? g->M : per_task * g->mr;
    idx cols = g->split_n ? per_task * g->nr : g->N;
    g->a_elems = 0;
    if (g->narrow) return 0;
    if (g->direct) return g->tb ? (size_t)(g->K * g->nr) * sizeof(cr_real) : 0;
    idx kc = min_idx(g->kc, g->K);
    g->a_elems = (size_t)(round_up(min_idx(g->mc, rows), g->mr) * kc);
    return (g->a_elems + (size_t)(round_up(min_idx(g->nc, cols), g->nr) * kc)) *
        sizeof(cr_real);
}

/* C = beta * C (alpha == 0 or K == 0: A and B are not read). */
static void scale_c(idx M, idx N, cr_real beta, cr_real *C, idx ldc)
{
    for (idx i = 0; i < M; i++) {
        cr_real *c = C + i * ldc;
        if (beta == 0)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1)
            for (idx j = 0; j < N; j++) c[j] *= beta;
    }
}

/* Without packing memory: a plain loop, slow but correct. */
static void gemm_slow(const gemm *g)
{
    for (idx i = 0; i < g->M; i++)
        for (idx j = 0; j < g->N; j++) {
            cr_real s = 0;
            for (idx p = 0; p < g->K; p++)
                s += (g->ta ? g->A[p * g->lda + i] : g->A[i * g->lda + p]) *
                    (g->tb ? g->B[j * g->ldb + p] : g->B[p * g->ldb + j]);
            cr_real *c = g->C + (i * g->ldc + j);
            *c = g->beta == 0 ? g->alpha * s : g->alpha * s + g->beta * *c;
        }
}

static cr__gemm_blocks compute_blocks(const cr__gemm_arch *arch)
{
    /* A kc x nr sliver of B fills half of L1 (all of it for the AVX2 kernel: see
     * below), an mc x kc block of A half of L2 but at most MC_PANELS panels (mr rows
     * each), a kc x nc block of B a quarter of L3. The
     * cap: past a few dozen panels the B sliver, brought to L1 once per A block, is
     * reused enough (by 48 tiles), while each more row of A adds a row of C to
     * the column of tiles every sliver walks down (a page each when a row of C is 4
     * KB) and keeps the B block from staying in L2 for the next A block. The rows are
     * cut into blocks of equal height (run_packed). Measured on a Xeon (48K L1, 2 MB
     * L2: mc 1360 -> 384), our/OpenBLAS at Cooperlake, medians of 3-4 interleaved
     * runs: square 1024 0.93-0.96 -> 0.99-1.01, 512 and 256 equal; mc from 96 to 512
     * measured alike at 1024, 768 and up 5-10% slower. Where L2 is small the cap does
     * not bite. The AVX2 kernel's sliver fills all of L1: measured on an AMD EPYC
     * (Zen 3, 32K/512K/32M), our/OpenBLAS at its best core (Zen), medians of 6
     * interleaved runs, with the C prefetch in the tile: float kc 256 mc 252 ->
     * kc 512 mc 126: square 512 0.93 -> 1.04, 1024 0.85 -> 0.97; double kc 256 mc 124
     * -> 512 60: 0.87 -> 1.02, 0.84 -> 0.95; 256 and the MLP shapes equal (the
     * prefetch alone: 1024 0.92). A longer kc halves the passes over C, whose tiles
     * at 1024 are far away (each row a page apart, C 8x L2); without the prefetch kc
     * 384-768 with mc 48-144 measured alike (0.87-0.94 at 1024). Zen 4
     * (AVX-512 8x32, 32K/1M) gets kc 128 mc 384, Zen 5 (48K/1M) kc 192 mc 384 (not
     * measured); see bench/RESULTS.md.
     *
     * A and B go unpacked ("direct") when together they fit in three quarters of L2,
     * except when B is read in place (not transposed, C not narrow) and both A has more
     * than 16 panels and B more than 4 slivers: the direct path reads each K x nr sliver
     * of B again, from rows of B a row apart, for every panel of A, and there packing B
     * once pays. Measured on a Xeon (48K L1, 2 MB L2), our/OpenBLAS, direct -> packed:
     * square 256 0.85-0.89 -> 1.00-1.06, square 128 equal. Not narrower: the 784-128-10
     * training epoch (64x784.784x128, 784x64^T.64x128: one of M, N is small) is 5-15%
     * slower with those two packed, operands fresh from the previous op favouring the
     * direct path, although in isolation they measure equal or slightly faster packed. */
    const cr__caches *cc = cr__cpu_caches();
    const idx es = (idx)sizeof(cr_real);
    cr__gemm_blocks b;
    b.mr = ARCH_MR(arch);
    b.nr = ARCH_NR(arch);
    b.kc = (idx)cc->l1 / (arch->kc_whole_l1 ? 1 : 2) / (b.nr * es) / 8 * 8;
    if (b.kc < 64) b.kc = 64;
    if (b.kc > 1024) b.kc = 1024;
    b.mc = (idx)cc->l2 / 2 / (b.kc * es) / b.mr * b.mr;
    if (b.mc > MC_PANELS * b.mr) b.mc = MC_PANELS * b.mr;
    if (b.mc < b.mr) b.mc = b.mr;
    const size_t l3 = cc->l3 ? cc->l3 : cc->l2; /* no L3: B's block shares L2 */
    b.nc = (idx)l3 / 4 / (b.kc * es) / b.nr * b.nr;
    if (b.nc < b.nr) b.nc = b.nr;
    if (b.nc > 4096) b.nc = 4096 / b.nr * b.nr;
    b.direct_max = (idx)(cc->l2 / 4 * 3) / es;
    b.direct_rows = 16 * b.mr;
    b.direct_cols = 4 * b.nr;
#ifdef CR_GEMM_TUNE /* tuning builds only: block sizes from the environment */
    const cr__config *cf = cr__config_get();
    if (cf->tune_direct_max) b.direct_max = cf->tune_direct_max;
    if (cf->tune_kc) b.kc = cf->tune_kc;
    if (cf->tune_mc) b.mc = cf->tune_mc;
    if (cf->tune_nc) b.nc = cf->tune_nc;
    if (cf->tune_direct_rows) b.direct_rows = cf->tune_direct_rows;
    if (cf->tune_direct_cols) b.direct_cols = cf->tune_direct_cols;
#endif
    return b;
}

/* Block sizes of the three built-in archs, computed once per process. */
static const cr__gemm_arch *known[3];
static cr__gemm_blocks known_blocks[3];
static pthread_once_t known_once = PTHREAD_ONCE_INIT;

static void compute_known(void)
{
    known[0] = &cr__gemm_avx512_kernels;
    known[1] = &cr__gemm_avx2_kernels;
    known[2] = cr__gemm_arch_generic();
    for (int i = 0; i < 3; i++)
        if (ARCH_MR(known[i]) > 0) known_blocks[i] = compute_blocks(known[i]);
}

cr__gemm_blocks cr__gemm_blocking(const cr__gemm_arch *arch)
{
#ifndef CR_GEMM_TUNE
    pthread_once(&known_once, compute_known);
    for (int i = 0; i < 3; i++)
        if (arch == known[i]) return known_blocks[i];
#endif
    return compute_blocks(arch);
}

void cr__gemm_with(const cr__gemm_arch *arch, cr_pool *pool, int ta, int tb, int M, int N,
                   int K, cr_real alpha, const cr_real *A, int lda, const cr_real *B, int ldb,
                   cr_real beta, cr_real *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    gemm g = { 0 };
    g.ukr = ARCH_UKR(arch);
    g.pack_t = ARCH_PACK(arch);
    g.copy = ARCH_COPY(arch);
    g.ta = ta != 0;
    g.tb = tb != 0;
    g.M = M;
    g.N = N;
    g.K = K;
    g.alpha = alpha;
    g.beta = beta;
    g.A = A;
    g.B = B;
    g.C = C;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;
    cr__gemm_blocks bl = cr__gemm_blocking(arch);
    g.mr = bl.mr;
    g.nr = bl.nr;
    g.kc = bl.kc;
    g.mc = bl.mc;
    g.nc = bl.nc;
    /* A function of the shape only, never of the thread count. */
    g.ukrc = ARCH_UKRC(arch);
    int narrow = g.ukrc && g.ta && g.N <= ARCH_NRC(arch);
    g.direct = g.M * g.K + g.K * g.N <= bl.direct_max &&
        (g.tb || narrow || g.M <= bl.direct_rows || g.N <= bl.direct_cols);
    g.narrow = g.direct && narrow;
    if (g.narrow) { /* tiles are mrc rows by all N columns */
        g.mr = ARCH_MRC(arch);
        g.nr = g.N;
    }

    /* Threads: enough work for each, and whole tiles along the split dimension. */
    idx tiles_m = (g.M + g.mr - 1) / g.mr, tiles_n = (g.N + g.nr - 1) / g.nr;
    int threads = cr_pool_threads(pool);
    double flops = 2.0 * (double)g.M * (double)g.N * (double)g.K;
    if (flops < threads * MIN_FLOPS_PER_THREAD) threads = (int)(flops / MIN_FLOPS_PER_THREAD);
    if (threads < 1) threads = 1;
    g.split_n = g.N >= g.M; /* cut the longer side: less packing done twice */
    if (g.split_n && tiles_n < threads && tiles_m > tiles_n) g.split_n = 0;
    if (!g.split_n && tiles_m < threads && tiles_n > tiles_m) g.split_n = 1;
    g.units = g.split_n ? tiles_n : tiles_m;
    if (threads > g.units) threads = (int)g.units;
    /* Direct path: a few tasks per thread, handed out first come first served, so
     * a thread slowed down by a busy machine just takes fewer. Packed path: one
     * per thread, as each task packs its own copy of the operand it shares. */
    g.ntasks = threads == 1 || !g.direct ? threads : threads * TASKS_PER_THREAD_DIRECT;
    if (g.ntasks > g.units) g.ntasks = (int)g.units;

    size_t need = scratch_bytes(&g);
    g.pool = pool;
    void *raw = NULL;
    if (need && (!pool || cr__pool_reserve(pool, need) != 0)) {
        /* No pool (or it could not grow): one thread with a buffer of its own. */
        g.ntasks = 1;
        need = scratch_bytes(&g);
        raw = cr_malloc(need + 64);
        if (!raw) {
            gemm_slow(&g);
            return;
        }
        g.own = (cr_real *)(void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    }
    cr__pool_run(pool, gemm_task, &g, g.ntasks);
    cr_free(raw);
}

/* The NULL rule of cr_gemm: C NULL (with M, N > 0), or A or B NULL when they
 * would be read (K > 0, alpha != 0), is a no-op that leaves C as it was. */
static int gemm_null_args(int M, int N, int K, cr_real alpha, const cr_real *A,
                          const cr_real *B, const cr_real *C)
{
    if (M <= 0 || N <= 0) return 0;
    return !C || (K > 0 && alpha != 0 && (!A || !B));
}

#ifdef CR_USE_OPENBLAS
void cr_gemm(cr_pool *pool, int ta, int tb, int M, int N, int K, cr_real alpha,
             const cr_real *A, int lda, const cr_real *B, int ldb, cr_real beta, cr_real *C,
             int ldc)
{
    (void)pool; /* OpenBLAS runs its own threads (OPENBLAS_NUM_THREADS) */
    if (M <= 0 || N <= 0 || gemm_null_args(M, N, K, alpha, A, B, C)) return;
    if (K <= 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
#ifdef CR_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char *cr_gemm_kernel_name(void) { return "openblas"; }
#else
void cr_gemm(cr_pool *pool, int ta, int tb, int M, int N, int K, cr_real alpha,
             const cr_real *A, int lda, const cr_real *B, int ldb, cr_real beta, cr_real *C,
             int ldc)
{
    if (gemm_null_args(M, N, K, alpha, A, B, C)) return;
    cr__gemm_with(cr__config_get()->gemm, pool, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta,
                  C, ldc);
}

const char *cr_gemm_kernel_name(void) { return cr__config_get()->gemm->name; }
#endif

/* ------------------------------------------------------- small outputs (NT) */

#ifdef CR_REAL_DOUBLE
#define ARCH_DOT(a) ((a)->dot_d ? (a)->dot_d : cr__gemm_arch_generic()->dot_d)
#else
#define ARCH_DOT(a) ((a)->dot_s ? (a)->dot_s : cr__gemm_arch_generic()->dot_s)
#endif

/* K is cut into chunks of at least NT_CHUNK_MIN columns (for a few rows of A and B
 * a chunk stays in L1 while every block of the kernel walks it), at most NT_CHUNKS
 * of them, with at most NT_WORK_MAX slot values in all. Chunks start on multiples
 * of 64 columns. */
#define NT_CHUNK_MIN 512
#define NT_CHUNKS 128
#define NT_WORK_MAX (1L << 20)

static int nt_plan(int M, int N, int K, idx *cols)
{
    long c = K / NT_CHUNK_MIN;
    if (c > NT_CHUNKS) c = NT_CHUNKS;
    if (c * M * N > NT_WORK_MAX) c = NT_WORK_MAX / ((long)M * N);
    if (c < 1) c = 1;
    *cols = round_up((K + c - 1) / c, 64);
    return (int)((K + *cols - 1) / *cols);
}

int cr__gemm_nt_chunks(int M, int N, int K)
{
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    idx cols;
    return nt_plan(M, N, K, &cols);
}

typedef struct nt_job {
    int M, N, K;
    const cr_real *A, *B;
    idx lda, ldb, cols;
    cr_real *work;
    const cr__gemm_arch *arch;
} nt_job;

static void nt_task(void *ctx, int c, int thread)
{
    (void)thread;
    const nt_job *j = ctx;
    idx k0 = (idx)c * j->cols, k = min_idx(j->cols, j->K - k0);
    ARCH_DOT(j->arch)(j->M, j->N, k, j->A + k0, j->lda, j->B + k0, j->ldb,
                      j->work + (idx)c * j->M * j->N);
}

void cr__gemm_nt_small(const cr__gemm_arch *arch, cr_pool *pool, int M, int N, int K,
                       const cr_real *A, int lda, const cr_real *B, int ldb, cr_real *C,
                       int ldc, cr_real *work)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    idx cols;
    int chunks = nt_plan(M, N, K, &cols);
    nt_job j = { M, N, K, A, B, lda, ldb, cols, work, arch };
    cr__pool_run(pool, nt_task, &j, chunks);
    const idx n = (idx)M * N;
    for (idx i = 0; i < M; i++)
        for (idx q = 0; q < N; q++) {
            cr_real s = work[i * N + q];
            for (idx c = 1; c < chunks; c++) s += work[c * n + i * N + q];
            C[i * ldc + q] += s;
        }
}
