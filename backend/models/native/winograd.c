/* Programs of 3x3 convolutions (stride 1, zero padding 1) with a per-channel PReLU / LeakyReLU,
 * as Winograd F(6x6, 3x3) on AVX-512, plus the residual sums between them: the body of
 * SRVGGNetCompact (realesr-animevideov3) and the RRDB trunk of ESRGAN (x4plus) on the CPU.
 *
 * Built by backend/models/winograd.py with the system C compiler and loaded with ctypes.
 * Everything AVX-512 is behind KERNEL (a target attribute), so the library loads on any x86-64
 * CPU and `winograd_supported()` tells the caller whether the kernels may run.
 *
 * Activation layout: buffers of [blocks][Hp][Wp][16] floats (16 channels interleaved per pixel),
 * the image at (1, 1), zeros around it; Hp = 6*ceil(H/6) + 2 and Wp likewise, so every 8x8
 * input tile is in the buffer. A convolution reads and writes a run of whole blocks, and only
 * writes the H x W interior, so the zero border stays zero and is the next one's padding.
 *
 * One convolution: tiles are split between threads, and each thread takes its tiles a chunk at
 * a time: input transform (V[64][chunk][Cin]), 64 GEMMs (M[p] = V[p] U[p], U = the kernels in
 * the Winograd domain, [64][Cin][Cout], transformed at load or, for big models, just before the
 * convolution), output transform + bias + activation. A barrier separates operations, because
 * a tile reads its neighbours' outputs of the one before.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIDE_PAD 16  /* floats added to V/M strides, so the 64 positions do not alias in L1 */

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define KERNEL __attribute__((target("avx512f,fma")))

int winograd_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#include "winograd_transforms.h"

/* M[t][:] = sum_k V[k/16][t][k%16] U[k][:] for T tiles (a multiple of TILES), K input
 * channels and N = VECS*16 output channels; TILES x VECS accumulators (24 of 32 registers).
 * V holds 16 channels of each tile together, so the input transform writes it sequentially. */
#define GEMM(VECS, TILES)                                                                          \
    KERNEL static void gemm_##VECS(const float* V, const float* U, float* M, int T, int K) {      \
        const int N = VECS * 16;                                                                   \
        for (int t0 = 0; t0 < T; t0 += TILES) {                                                    \
            __m512 acc[TILES][VECS];                                                               \
            _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++)                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) acc[i][v] = _mm512_setzero_ps(); \
            for (int k0 = 0; k0 < K; k0 += 16) {                                                   \
                const float* rows = V + (long)k0 * T + (long)t0 * 16;                              \
                const float* u_rows = U + (long)k0 * N;                                            \
                for (int c = 0; c < 16; c++) {                                                     \
                    __m512 u[VECS];                                                                \
                    _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) u[v] = _mm512_loadu_ps(u_rows + c * N + 16 * v); \
                    _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++) {                     \
                        __m512 b = _mm512_set1_ps(rows[i * 16 + c]);                               \
                        _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++)                     \
                            acc[i][v] = _mm512_fmadd_ps(b, u[v], acc[i][v]);                       \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++)                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++)                             \
                    _mm512_storeu_ps(M + (long)(t0 + i) * N + 16 * v, acc[i][v]);                 \
        }                                                                                          \
    }
GEMM(1, 12)
GEMM(2, 12)
GEMM(3, 8)
GEMM(4, 6)

static int gemm_tiles(int vecs) { return vecs == 4 ? 6 : vecs == 3 ? 8 : 12; }

/* A barrier from a mutex and a condition variable (macOS has no pthread_barrier_t). */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t turn;
    int waiting, parties, round;
} Barrier;

static void barrier_wait(Barrier* b) {
    pthread_mutex_lock(&b->lock);
    const int round = b->round;
    if (++b->waiting == b->parties) {
        b->waiting = 0;
        b->round++;
        pthread_cond_broadcast(&b->turn);
    } else {
        while (round == b->round) pthread_cond_wait(&b->turn, &b->lock);
    }
    pthread_mutex_unlock(&b->lock);
}

typedef struct {
    int kind;                     /* OP_CONV or OP_AXPBY */
    int src, src_block;           /* buffer index and first 16-channel block read */
    int dst, dst_block;           /* buffer index and first 16-channel block written */
    int cin, cout;                /* channels, multiples of 16 (AXPBY: cout channels) */
    const float* kernels;         /* CONV: transformed [64][cin][cout], or NULL: transform `weights` now */
    const float* weights;         /* CONV without kernels: [cin][3][3][cout] */
    const float* bias;            /* CONV: [cout] */
    const float* slope;           /* CONV: [cout] negative slopes, or NULL for no activation */
    float alpha, beta;            /* AXPBY: dst = alpha * src + beta * dst */
} Op;

enum { OP_CONV = 0, OP_AXPBY = 1 };

typedef struct {
    float* const* buffers; /* each [blocks][Hp][Wp][16], the same Hp x Wp */
    int H, W, tiles, tw, threads, n_ops;
    long Wp, plane;
    const Op* ops;
    float* kernels; /* shared scratch for kernels transformed on the fly */
    Barrier* barrier;
    int go; /* 0 until every thread exists, then 1 (work) or -1 (a thread failed to start: exit) */
} Program;

typedef struct {
    Program* program;
    int index;
    float *V, *M;
} Worker;

static int chunk_for(int cin) { /* V of a chunk ~0.75 MB: 48 tiles at 64 channels, 24 at 128 or 192 */
    int tiles = (int)(196608 / (64L * cin)) / 24 * 24;
    return tiles < 24 ? 24 : tiles > 48 ? 48 : tiles;
}

/* Tiles [first, last) of one convolution, a chunk at a time, with this thread's V and M. */
KERNEL static void conv_tiles(const Program* P, const Op* op, const float* U, int first, int last, float* V,
                              float* M) {
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
        const int group = gemm_tiles(out_blocks);
        const int padded = (n + group - 1) / group * group; /* rows past n are computed, never read */
        const long ps_v = (long)padded * op->cin + STRIDE_PAD, ps_m = (long)padded * op->cout + STRIDE_PAD;
        for (int b = 0; b < in_blocks; b++) /* V[p][b][tile][16]: one plane at a time, written in order */
            for (int i = 0; i < n; i++) {
                const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
                input_transform(in + b * plane + (ty * 6 * Wp + tx * 6) * 16, Wp * 16, V + ((long)b * padded + i) * 16,
                                ps_v);
            }
        for (int p = 0; p < 64; p++) {
            const float* Up = U + (long)p * op->cin * op->cout;
            switch (out_blocks) {
                case 1: gemm_1(V + p * ps_v, Up, M + p * ps_m, padded, op->cin); break;
                case 2: gemm_2(V + p * ps_v, Up, M + p * ps_m, padded, op->cin); break;
                case 3: gemm_3(V + p * ps_v, Up, M + p * ps_m, padded, op->cin); break;
                default: gemm_4(V + p * ps_v, Up, M + p * ps_m, padded, op->cin); break;
            }
        }
        for (int i = 0; i < n; i++) {
            const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
            const int rows = H - ty * 6 < 6 ? H - ty * 6 : 6, cols = W - tx * 6 < 6 ? W - tx * 6 : 6;
            for (int b = 0; b < out_blocks; b++) {
                __m512 y[36];
                output_transform(M + (long)i * op->cout + b * 16, ps_m, y);
                const __m512 bias = _mm512_loadu_ps(op->bias + b * 16);
                const __m512 slope = op->slope ? _mm512_loadu_ps(op->slope + b * 16) : _mm512_set1_ps(1.0f);
                float* dst = out + b * plane + ((ty * 6 + 1) * Wp + tx * 6 + 1) * 16;
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) {
                        __m512 x = _mm512_add_ps(y[r * 6 + c], bias);
                        __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
                        _mm512_storeu_ps(dst + (r * Wp + c) * 16, _mm512_mask_mul_ps(x, negative, x, slope));
                    }
            }
        }
    }
}

/* Input channels [first, last) of `weights` ([cin][3][3][cout]) -> U[64][cin][cout]. */
KERNEL static void transform_weights(const Op* op, float* U, int first, int last) {
    const long ps = (long)op->cin * op->cout;
    for (int ci = first; ci < last; ci++)
        for (int o = 0; o < op->cout; o += 16) {
            __m512 g[9];
            for (int k = 0; k < 9; k++) g[k] = _mm512_loadu_ps(op->weights + ((long)ci * 9 + k) * op->cout + o);
            kernel_transform(g, U + (long)ci * op->cout + o, ps);
        }
}

/* dst = alpha * src + beta * dst over whole planes (the zero borders stay zero), floats [first, last). */
KERNEL static void axpby(const Program* P, const Op* op, long first, long last) {
    const float* src = P->buffers[op->src] + op->src_block * P->plane;
    float* dst = P->buffers[op->dst] + op->dst_block * P->plane;
    const __m512 a = _mm512_set1_ps(op->alpha), b = _mm512_set1_ps(op->beta);
    for (long i = first; i < last; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_fmadd_ps(a, _mm512_loadu_ps(src + i), _mm512_mul_ps(b, _mm512_loadu_ps(dst + i))));
}

static void share(long total, long grain, int threads, int index, long* first, long* last) {
    const long units = (total + grain - 1) / grain, per = (units + threads - 1) / threads;
    *first = index * per * grain;
    *last = (index + 1) * per * grain;
    if (*last > total) *last = total;
    if (*first > total) *first = total;
}

KERNEL static void* run_worker(void* arg) {
    const Worker* w = arg;
    Program* P = w->program;
    if (w->index > 0) { /* wait until all threads exist, or were told to leave */
        pthread_mutex_lock(&P->barrier->lock);
        while (P->go == 0) pthread_cond_wait(&P->barrier->turn, &P->barrier->lock);
        const int go = P->go;
        pthread_mutex_unlock(&P->barrier->lock);
        if (go < 0) return NULL;
    }
    long first, last;
    for (int i = 0; i < P->n_ops; i++) {
        const Op* op = &P->ops[i];
        if (op->kind == OP_AXPBY) {
            share((long)op->cout / 16 * P->plane, 16 * 64, P->threads, w->index, &first, &last);
            axpby(P, op, first, last);
        } else {
            const float* U = op->kernels;
            if (!U) {
                share(op->cin, 1, P->threads, w->index, &first, &last);
                transform_weights(op, P->kernels, (int)first, (int)last);
                if (P->threads > 1) barrier_wait(P->barrier);
                U = P->kernels;
            }
            share(P->tiles, 1, P->threads, w->index, &first, &last);
            if (first < last) conv_tiles(P, op, U, (int)first, (int)last, w->V, w->M);
        }
        if (P->threads > 1) barrier_wait(P->barrier);
    }
    return NULL;
}

/* Runs `ops` in order on buffers of the H x W image (layout above; `blocks` gives each
 * buffer's depth), with up to `threads` threads. 0 on success. */
int winograd_run(float* const* buffers, const int* blocks, int n_buffers, int H, int W, const Op* ops, int n_ops,
                 int threads) {
    if (!winograd_supported() || H < 1 || W < 1 || n_ops < 0 || threads < 1) return -1;
    long max_cin = 16, max_cout = 16, max_pairs = 0;
    for (int i = 0; i < n_ops; i++) {
        const Op* op = &ops[i];
        if (op->src < 0 || op->src >= n_buffers || op->dst < 0 || op->dst >= n_buffers) return -1;
        if (op->cin % 16 || op->cout % 16 || op->cout < 16) return -1;
        const int src_end = op->src_block + (op->kind == OP_CONV ? op->cin : op->cout) / 16;
        if (op->src_block < 0 || op->dst_block < 0 || src_end > blocks[op->src] ||
            op->dst_block + op->cout / 16 > blocks[op->dst])
            return -1;
        if (op->kind == OP_CONV) {
            if (op->cin < 16 || op->cout > 64 || (!op->kernels && !op->weights) || !op->bias) return -1;
            if (op->src == op->dst && op->dst_block < src_end && op->src_block < op->dst_block + op->cout / 16)
                return -1; /* a convolution cannot write what it reads */
            max_cin = op->cin > max_cin ? op->cin : max_cin;
            max_cout = op->cout > max_cout ? op->cout : max_cout;
            if (!op->kernels && (long)op->cin * op->cout > max_pairs) max_pairs = (long)op->cin * op->cout;
        } else if (op->kind != OP_AXPBY) {
            return -1;
        }
    }
    const int tw = (W + 5) / 6, tiles = ((H + 5) / 6) * tw;
    if (threads > tiles) threads = tiles;
    /* Scratch per thread: a chunk's V and M (rounded up to a whole GEMM group) plus the stride padding. */
    const size_t v_size = 64 * ((size_t)(48 + 12) * max_cin + STRIDE_PAD);
    const size_t m_size = 64 * ((size_t)(48 + 12) * max_cout + STRIDE_PAD);
    Worker* workers = calloc(threads, sizeof(Worker));
    pthread_t* ids = calloc(threads, sizeof(pthread_t));
    /* 64-byte aligned, so that no vector load or store straddles two cache lines. */
    const size_t floats = (v_size + m_size) * threads + 64 * max_pairs + 16;
    float* memory = NULL;
    if (posix_memalign((void**)&memory, 64, floats * sizeof(float)) != 0) memory = NULL;
    if (memory) memset(memory, 0, floats * sizeof(float));
    if (!workers || !ids || !memory) {
        free(workers), free(ids), free(memory);
        return -2;
    }
    Barrier barrier = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, threads, 0};
    const long Wp = tw * 6 + 2, plane = (long)((H + 5) / 6 * 6 + 2) * Wp * 16;
    Program program = {buffers, H, W, tiles, tw, threads, n_ops, Wp, plane, ops,
                       memory + (v_size + m_size) * threads, &barrier, 0};
    int started = 0;
    for (int i = 0; i < threads; i++) {
        float* mine = memory + (v_size + m_size) * i;
        workers[i] = (Worker){&program, i, mine, mine + v_size};
        if (i > 0) {
            if (pthread_create(&ids[i], NULL, run_worker, &workers[i]) != 0) break;
            started++;
        }
    }
    pthread_mutex_lock(&barrier.lock);
    program.go = started == threads - 1 ? 1 : -1;
    pthread_cond_broadcast(&barrier.turn);
    pthread_mutex_unlock(&barrier.lock);
    if (program.go < 0) { /* no thread for every share: those that started leave, this one does it all */
        for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
        started = 0;
        program.threads = 1;
    }
    run_worker(&workers[0]);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    free(memory), free(ids), free(workers);
    return 0;
}

#else /* not x86-64: the library builds, and says it cannot run */

int winograd_supported(void) { return 0; }

int winograd_run(float* const* buffers, const int* blocks, int n_buffers, int H, int W, const void* ops, int n_ops,
                 int threads) {
    return -1;
}

#endif
