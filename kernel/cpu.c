/* What the CPU offers: cache sizes (for GEMM blocking) and which micro-kernels it
 * can run. Compiled without ISA flags, so it is safe to run anywhere. */
#include "kernel.h"

#include <pthread.h>
#include <stdio.h>

/* "48K", "1024K", "32M" -> bytes; 0 when unreadable. */
static size_t read_cache_size(int index, int *level, int *data)
{
    char path[96], buf[32];
    size_t v = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (fgets(buf, sizeof buf, f)) {
        char *p = buf;
        while (*p >= '0' && *p <= '9') v = v * 10 + (size_t)(*p++ - '0');
        if (*p == 'K')
            v <<= 10;
        else if (*p == 'M')
            v <<= 20;
    }
    fclose(f);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
    f = fopen(path, "r");
    *level = 0;
    if (f) {
        if (fscanf(f, "%d", level) != 1) *level = 0;
        fclose(f);
    }
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
    f = fopen(path, "r");
    *data = 0;
    if (f) {
        if (fgets(buf, sizeof buf, f))
            *data = buf[0] == 'D' || buf[0] == 'U'; /* Data, Unified */
        fclose(f);
    }
    return v;
}

void cr__cpu_detect_caches(cr__caches *caches)
{
    caches->l1 = 32u << 10;
    caches->l2 = 512u << 10;
    caches->l3 = 8u << 20;
    for (int i = 0; i < 8; i++) {
        int level, data;
        size_t v = read_cache_size(i, &level, &data);
        if (!v || !data) continue;
        /* Ignore absurd values rather than derive absurd block sizes from them. */
        if (level == 1 && v >= (4u << 10) && v <= (4u << 20)) caches->l1 = v;
        if (level == 2 && v >= (64u << 10) && v <= (64u << 20)) caches->l2 = v;
        if (level == 3 && v >= (256u << 10)) caches->l3 = v;
    }
}

/* ------------------------------------------------------------ ISA features */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CR_X86 1
#endif

static unsigned features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static void find_features(void)
{
#ifdef CR_X86
    __builtin_cpu_init(); /* also checks that the OS saves the ymm and zmm state */
    features = (__builtin_cpu_supports("avx2") ? CR__CPU_AVX2 : 0u) |
               (__builtin_cpu_supports("fma") ? CR__CPU_FMA : 0u) |
               (__builtin_cpu_supports("avx512f") ? CR__CPU_AVX512F : 0u) |
               (__builtin_cpu_supports("avx512dq") ? CR__CPU_AVX512DQ : 0u) |
               (__builtin_cpu_supports("avx512vl") ? CR__CPU_AVX512VL : 0u) |
               (__builtin_cpu_supports("avx512bw") ? CR__CPU_AVX512BW : 0u);
#endif
}

unsigned cr__cpu_features(void)
{
    pthread_once(&features_once, find_features);
    return features;
}

/* ---------------------------------------------------------------- GEMM arch */

const cr__gemm_arch *cr__gemm_arch_avx512(void)
{
    const cr__gemm_arch *a = &cr__gemm_avx512_kernels;
    return a->ukr_s && a->ukr_d && cr__cpu_has(CR__CPU_AVX512F) ? a : NULL;
}

const cr__gemm_arch *cr__gemm_arch_avx2(void)
{
    const cr__gemm_arch *a = &cr__gemm_avx2_kernels;
    return a->ukr_s && a->ukr_d && cr__cpu_has(CR__CPU_AVX2 | CR__CPU_FMA) ? a : NULL;
}

static const cr__gemm_arch *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void find_best(void)
{
    best = cr__gemm_arch_avx512();
    if (!best) best = cr__gemm_arch_avx2();
    if (!best) best = cr__gemm_arch_generic();
}

const cr__gemm_arch *cr__gemm_arch_best(void)
{
    pthread_once(&best_once, find_best);
    return best;
}
