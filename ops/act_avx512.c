/* The float build's sigmoid and tanh array kernels compiled for AVX-512 (this file
 * alone gets the ISA flags, see the Makefile; ops/sigmoid.c checks the CPU before
 * using them). The same bits as the generic kernels: ops/act_float.h. */
#include "act_float.h"

#if !defined(CR_REAL_DOUBLE) && defined(__AVX512F__)
CR__ACT_KERNELS(avx512)
const cr__act_arch cr__act_avx512_kernels = { "avx512", cr__act_sigmoid_avx512, cr__act_tanh_avx512 };
#else /* the double build, or a compiler that cannot target AVX-512: no kernels */
const cr__act_arch cr__act_avx512_kernels = { "avx512", NULL, NULL };
#endif
