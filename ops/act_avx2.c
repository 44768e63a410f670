/* The float build's sigmoid and tanh array kernels compiled for AVX2 (this file
 * alone gets the ISA flags, see the Makefile; ops/sigmoid.c checks the CPU before
 * using them). The same bits as the generic kernels: ops/act_float.h. */
#include "act_float.h"

#if !defined(CR_REAL_DOUBLE) && defined(__AVX2__)
CR__ACT_KERNELS(avx2)
const cr__act_arch cr__act_avx2_kernels = { "avx2", cr__act_sigmoid_avx2, cr__act_tanh_avx2 };
#else /* the double build, or a compiler that cannot target AVX2: no kernels */
const cr__act_arch cr__act_avx2_kernels = { "avx2", NULL, NULL };
#endif
