/* The C text the exporter writes around numbers: inline blocks for dense and conv
 * nodes (printf formats: sizes as constants, so that loops vectorise) and the
 * helper kernels of the other ops, written once each when used. Declared in
 * export_internal.h, used by emit.c. */
#include "export_internal.h"

/* A dense (linear) node, written inline with its sizes as constants so that the
 * inner loop vectorises at -O2: yv (N x O) = xv (N x I) W (I x O) + b, or with int8
 * weights (xv q) * sc + b. Arguments: y, x, N, I, O, then the weight, bias
 * (and scale) expressions and the last statement. */
const char cr__x_dense_text[] =
    "    {\n"
    "        float *restrict yv = %s;\n"
    "        const float *restrict xv = %s;\n"
    "        for (int n = 0; n < %d; n++) {\n"
    "            const int I = %d, O = %d;\n"
    "            for (int o = 0; o < O; o++) yv[n * O + o] = 0;\n"
    "            int i = 0;\n"
    "            for (; i + 4 <= I; i += 4) {   /* four rows of weights per pass over y */\n"
    "                const float x0 = xv[n * I + i], x1 = xv[n * I + i + 1];\n"
    "                const float x2 = xv[n * I + i + 2], x3 = xv[n * I + i + 3];\n"
    "                for (int o = 0; o < O; o++)   /* the same sums, in the same order, as one row at a time */\n"
    "                    yv[n * O + o] = (((yv[n * O + o] + x0 * (float)%s[i * O + o]) +\n"
    "                                      x1 * (float)%s[(i + 1) * O + o]) +\n"
    "                                     x2 * (float)%s[(i + 2) * O + o]) +\n"
    "                                    x3 * (float)%s[(i + 3) * O + o];\n"
    "            }\n"
    "            for (; i < I; i++) {\n"
    "                const float xi = xv[n * I + i];\n"
    "                for (int o = 0; o < O; o++) yv[n * O + o] += xi * (float)%s[i * O + o];\n"
    "            }\n"
    "            for (int o = 0; o < O; o++) yv[n * O + o] = %s;\n"
    "        }\n"
    "    }\n";

/* A conv2d node, inline with constant sizes: cross-correlation of xv (N x C x H x W)
 * with W (O x C/G x KH x KW). Arguments: y, x, the 16 sizes, the weight array and the
 * last statement (bias, or scale and bias). */
const char cr__x_conv_text[] =
    "    {\n"
    "        float *restrict yv = %s;\n"
    "        const float *restrict xv = %s;\n"
    "        const int N = %d, C = %d, H = %d, W = %d, O = %d, KH = %d, KW = %d, OH = %d;\n"
    "        const int OW = %d, SH = %d, SW = %d, PH = %d, PW = %d, DH = %d, DW = %d, G = %d;\n"
    "        const int Cg = C / G, Og = O / G;\n"
    "        for (int n = 0; n < N; n++)\n"
    "            for (int o = 0; o < O; o++) {\n"
    "                float *restrict yp = yv + ((size_t)n * O + o) * OH * OW;\n"
    "                const int g = o / Og;\n"
    "                for (int k = 0; k < OH * OW; k++) yp[k] = 0;\n"
    "                for (int c = 0; c < Cg; c++) {\n"
    "                    const float *xp = xv + ((size_t)n * C + (size_t)g * Cg + c) * H * W;\n"
    "                    for (int i = 0; i < KH; i++)\n"
    "                        for (int j = 0; j < KW; j++) {\n"
    "                            const float wt = (float)%s[((o * Cg + c) * KH + i) * KW + j];\n"
    "                            const int off = j * DW - PW;\n"
    "                            int q0 = 0, q1 = OW;   /* columns whose tap is inside */\n"
    "                            while (q0 < OW && q0 * SW + off < 0) q0++;\n"
    "                            while (q1 > q0 && (q1 - 1) * SW + off >= W) q1--;\n"
    "                            for (int p = 0; p < OH; p++) {\n"
    "                                const int h = p * SH - PH + i * DH;\n"
    "                                if (h < 0 || h >= H) continue;\n"
    "                                const float *xr = xp + (size_t)h * W;\n"
    "                                float *yr = yp + (size_t)p * OW;\n"
    "                                for (int q = q0; q < q1; q++) yr[q] += wt * xr[q * SW + off];\n"
    "                            }\n"
    "                        }\n"
    "                }\n"
    "                for (int k = 0; k < OH * OW; k++) yp[k] = %s;\n"
    "            }\n"
    "    }\n";

const char cr__x_pool_head[] =
    "/* d = planes H W OH OW KH KW SH SW PH PW; windows clipped to the image */\n"
    "static void %s(float *restrict y, const float *restrict x, const int *d)\n"
    "{\n"
    "    const int H = d[1], W = d[2], OH = d[3], OW = d[4], KH = d[5], KW = d[6];\n"
    "    const int SH = d[7], SW = d[8], PH = d[9], PW = d[10];\n"
    "    for (int pl = 0; pl < d[0]; pl++) {\n"
    "        const float *xp = x + (size_t)pl * H * W;\n"
    "        float *yp = y + (size_t)pl * OH * OW;\n"
    "        for (int p = 0; p < OH; p++)\n"
    "            for (int q = 0; q < OW; q++) {\n"
    "                int h0 = p * SH - PH, h1 = h0 + KH, v0 = q * SW - PW, v1 = v0 + KW;\n"
    "                if (h0 < 0) h0 = 0;\n"
    "                if (h1 > H) h1 = H;\n"
    "                if (v0 < 0) v0 = 0;\n"
    "                if (v1 > W) v1 = W;\n";

const char cr__x_maxpool_tail[] =
    "                /* the first maximum; padding never wins; a NaN does */\n"
    "                float m = xp[(size_t)h0 * W + v0];\n"
    "                for (int h = h0; h < h1; h++)\n"
    "                    for (int v = v0; v < v1; v++) {\n"
    "                        const float e = xp[(size_t)h * W + v];\n"
    "                        if (e > m || (e != e && m == m)) m = e;\n"
    "                    }\n"
    "                yp[p * OW + q] = m;\n"
    "            }\n"
    "    }\n"
    "}\n\n";

const char cr__x_avgpool_tail[] =
    "                /* mean over KH KW: padding counts as zeros */\n"
    "                float s = 0;\n"
    "                for (int h = h0; h < h1; h++)\n"
    "                    for (int v = v0; v < v1; v++) s += xp[(size_t)h * W + v];\n"
    "                yp[p * OW + q] = s * (1.0f / ((float)KH * (float)KW));\n"
    "            }\n"
    "    }\n"
    "}\n\n";

const char cr__x_gap_text[] =
    "/* y[i] = mean of plane i (n values), summed in double */\n"
    "static void k_gap(float *restrict y, const float *restrict x, int planes, int n)\n"
    "{\n"
    "    for (int i = 0; i < planes; i++) {\n"
    "        double s = 0;\n"
    "        for (int k = 0; k < n; k++) s += x[(size_t)i * n + k];\n"
    "        y[i] = (float)(s / n);\n"
    "    }\n"
    "}\n\n";

const char cr__x_row_head[] =
    "/* %s */\n"
    "static void %s(float *restrict y, const float *restrict x, int rows, int cols)\n"
    "{\n"
    "    for (int r = 0; r < rows; r++) {\n"
    "        const float *xr = x + (size_t)r * cols;\n"
    "        float *yr = y + (size_t)r * cols, m = xr[0];\n"
    "        for (int j = 1; j < cols; j++)\n"
    "            if (xr[j] > m) m = xr[j];\n"
    "        double s = 0;\n";

const char cr__x_softmax_tail[] =
    "        for (int j = 0; j < cols; j++) {\n"
    "            yr[j] = expf(xr[j] - m);\n"
    "            s += yr[j];\n"
    "        }\n"
    "        const float inv = (float)(1.0 / s);\n"
    "        for (int j = 0; j < cols; j++) yr[j] *= inv;\n"
    "    }\n"
    "}\n\n";

const char cr__x_log_softmax_tail[] =
    "        for (int j = 0; j < cols; j++) s += expf(xr[j] - m);\n"
    "        const float lse = (float)log(s);\n"
    "        for (int j = 0; j < cols; j++) yr[j] = (xr[j] - m) - lse;\n"
    "    }\n"
    "}\n\n";

const char cr__x_sigmoid_text[] =
    "/* 1 / (1 + e^-x) from e^-|x|: nothing overflows */\n"
    "static float k_sigmoid(float x)\n"
    "{\n"
    "    const float e = expf(-fabsf(x));\n"
    "    return x >= 0 ? 1 / (1 + e) : e / (1 + e);\n"
    "}\n\n";

const char cr__x_tanh_text[] =
    "/* tanh from one exp in double (an odd series near 0), |x| capped at 20 */\n"
    "static float k_tanh(float x)\n"
    "{\n"
    "    double ax = fabs((double)x);\n"
    "    if (ax < 0x1p-8) {\n"
    "        const double x2 = ax * ax;\n"
    "        return (float)(x * (1 - x2 / 3 * (1 - 0.4 * x2)));\n"
    "    }\n"
    "    if (ax > 20) ax = 20;\n"
    "    return (float)copysign(1 - 2 / (exp(2 * ax) + 1), (double)x);\n"
    "}\n\n";

const char cr__x_log_text[] =
    "/* log with the floor FLT_MIN (log 0 is finite); NaN stays NaN */\n"
    "static float k_log(float x)\n"
    "{\n"
    "    return x != x ? x : logf(x > FLT_MIN ? x : FLT_MIN);\n"
    "}\n\n";
