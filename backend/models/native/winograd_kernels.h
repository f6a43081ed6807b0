/* The kernels of native/winograd.c for one instruction set, included once per set with:
 *   NAME(f)   the function's name for this set (f##_avx512, f##_avx2)
 *   KERNEL    its target attribute
 *   v16       16 floats (one AVX-512 register, or two AVX2 ones) and the V_* operations on it
 *   GEMM_VECS how many v16 accumulators per tile fit beside the tiles (4 for AVX-512, 1 for AVX2)
 * Program, Op, STRIDE_PAD and chunk_for come from winograd.c. */

#include "winograd_transforms.h"

/* M[t][col..col+VECS*16) = sum_k V[k/16][t][k%16] U[k][col..] for T tiles (a multiple of TILES),
 * K input channels, rows of U and M `ld` floats long; TILES x VECS accumulators. V holds 16
 * channels of each tile together, so the input transform writes it sequentially. */
#define GEMM(VECS, TILES)                                                                          \
    KERNEL static void NAME(gemm_##VECS)(const float* V, long block_stride, const float* U, float* M, long ld, \
                                         int T, int K) {                                          \
        for (int t0 = 0; t0 < T; t0 += TILES) {                                                    \
            v16 acc[TILES][VECS];                                                                  \
            _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++)                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) acc[i][v] = V_ZERO();      \
            for (int k0 = 0; k0 < K; k0 += 16) {                                                   \
                const float* rows = V + (k0 / 16) * block_stride + (long)t0 * 16;                  \
                const float* u_rows = U + (long)k0 * ld;                                           \
                for (int c = 0; c < 16; c++) {                                                     \
                    v16 u[VECS];                                                                   \
                    _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) u[v] = V_LOAD(u_rows + c * ld + 16 * v); \
                    _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++) {                     \
                        const v16 b = V_SET1(rows[i * 16 + c]);                                    \
                        _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++)                     \
                            acc[i][v] = V_FMA(b, u[v], acc[i][v]);                                 \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++)                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++)                             \
                    V_STORE(M + (long)(t0 + i) * ld + 16 * v, acc[i][v]);                         \
        }                                                                                          \
    }

#if GEMM_VECS == 4
GEMM(1, 12)
GEMM(2, 12)
GEMM(3, 8)
GEMM(4, 6)
/* Tiles per GEMM call for `blocks` output blocks: the padding unit of a chunk. */
static int NAME(gemm_tiles)(int blocks) { return blocks == 4 ? 6 : blocks == 3 ? 8 : 12; }
KERNEL static void NAME(gemm)(const float* V, long block_stride, const float* U, float* M, int blocks, int T, int K) {
    const long ld = blocks * 16;
    switch (blocks) {
        case 1: NAME(gemm_1)(V, block_stride, U, M, ld, T, K); break;
        case 2: NAME(gemm_2)(V, block_stride, U, M, ld, T, K); break;
        case 3: NAME(gemm_3)(V, block_stride, U, M, ld, T, K); break;
        default: NAME(gemm_4)(V, block_stride, U, M, ld, T, K); break;
    }
}
#else /* 16 registers: 6 tiles x one v16 (12 registers) per 16 output channels at a time */
GEMM(1, 6)
static int NAME(gemm_tiles)(int blocks) { return (void)blocks, 6; }
KERNEL static void NAME(gemm)(const float* V, long block_stride, const float* U, float* M, int blocks, int T, int K) {
    for (int b = 0; b < blocks; b++) NAME(gemm_1)(V, block_stride, U + 16 * b, M + 16 * b, blocks * 16, T, K);
}
#endif
#undef GEMM

/* Tiles [first, last) of one convolution, a chunk at a time, with this thread's V and M. */
KERNEL static void NAME(conv_tiles)(const Program* P, const Op* op, const float* U, int first, int last,
                                    float* V, float* M) {
    const float* in = P->buffers[op->src] + op->src_block * P->plane;
    float* out = P->buffers[op->dst] + op->dst_block * P->plane;
    const long Wp = P->Wp, plane = P->plane;
    const int tw = P->tw, H = P->H, W = P->W;
    const int in_blocks = op->cin / 16, out_blocks = op->cout / 16;
    /* Equal chunks of at most chunk_for(cin): 121 tiles run as 41+40+40, not 48+48+25. */
    const int chunks = (last - first + chunk_for(op->cin) - 1) / chunk_for(op->cin);
    const int step = (last - first + chunks - 1) / chunks;
    for (int c0 = first; c0 < last; c0 += step) {
        const int n = last - c0 < step ? last - c0 : step;
        const int group = NAME(gemm_tiles)(out_blocks);
        const int padded = (n + group - 1) / group * group; /* rows past n are computed, never read */
        const long ps_v = (long)padded * op->cin + STRIDE_PAD, ps_m = (long)padded * op->cout + STRIDE_PAD;
        for (int b = 0; b < in_blocks; b++) /* V[p][b][tile][16]: one plane at a time, written in order */
            for (int i = 0; i < n; i++) {
                const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
                NAME(input_transform)(in + b * plane + (ty * 6 * Wp + tx * 6) * 16, Wp * 16,
                                      V + ((long)b * padded + i) * 16, ps_v);
            }
        for (int p = 0; p < 64; p++)
            NAME(gemm)(V + p * ps_v, (long)padded * 16, U + (long)p * op->cin * op->cout, M + p * ps_m, out_blocks,
                       padded, op->cin);
        for (int i = 0; i < n; i++) {
            const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
            const int rows = H - ty * 6 < 6 ? H - ty * 6 : 6, cols = W - tx * 6 < 6 ? W - tx * 6 : 6;
            for (int b = 0; b < out_blocks; b++) {
                v16 y[36];
                NAME(output_transform)(M + (long)i * op->cout + b * 16, ps_m, y);
                const v16 bias = V_LOAD(op->bias + b * 16);
                const v16 slope = op->slope ? V_LOAD(op->slope + b * 16) : V_SET1(1.0f);
                float* dst = out + b * plane + ((ty * 6 + 1) * Wp + tx * 6 + 1) * 16;
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        V_STORE(dst + (r * Wp + c) * 16, V_PRELU(V_ADD(y[r * 6 + c], bias), slope));
            }
        }
    }
}

/* Input channels [first, last) of `weights` ([cin][3][3][cout]) -> U[64][cin][cout]. */
KERNEL static void NAME(transform_weights)(const Op* op, float* U, int first, int last) {
    const long ps = (long)op->cin * op->cout;
    for (int ci = first; ci < last; ci++)
        for (int o = 0; o < op->cout; o += 16) {
            v16 g[9];
            for (int k = 0; k < 9; k++) g[k] = V_LOAD(op->weights + ((long)ci * 9 + k) * op->cout + o);
            NAME(kernel_transform)(g, U + (long)ci * op->cout + o, ps);
        }
}

/* dst = alpha * src + beta * dst over whole planes (the zero borders stay zero), floats [first, last). */
KERNEL static void NAME(axpby)(const Program* P, const Op* op, long first, long last) {
    const float* src = P->buffers[op->src] + op->src_block * P->plane;
    float* dst = P->buffers[op->dst] + op->dst_block * P->plane;
    const v16 a = V_SET1(op->alpha), b = V_SET1(op->beta);
    for (long i = first; i < last; i += 16) V_STORE(dst + i, V_FMA(a, V_LOAD(src + i), V_MUL(b, V_LOAD(dst + i))));
}

