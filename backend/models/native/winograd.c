/* Chains of 3x3 convolutions (stride 1, zero padding 1) with a per-channel PReLU, as Winograd
 * F(6x6, 3x3) on AVX-512: the body of SRVGGNetCompact (realesr-animevideov3) on the CPU.
 *
 * Built by backend/models/winograd.py with the system C compiler and loaded with ctypes.
 * Everything AVX-512 is behind KERNEL (a target attribute), so the library loads on any x86-64
 * CPU and `winograd_supported()` tells the caller whether the kernels may run.
 *
 * Activation layout: [C/16][Hp][Wp][16] floats (16 channels interleaved per pixel), the image
 * at (1, 1), zeros around it; Hp = 6*ceil(H/6) + 2 and Wp likewise, so every 8x8 input tile is
 * in the buffer. A layer only writes the H x W interior, so the zero border stays zero and the
 * output is the next layer's padded input.
 *
 * One layer: tiles are split between threads, and each thread takes its tiles a chunk at a
 * time: input transform (V[64][chunk][Cin]), 64 GEMMs (M[p] = V[p] U[p], U = the kernels
 * transformed once at load, [64][Cin][Cout]), output transform + bias + PReLU. A barrier
 * separates layers, because a tile reads its neighbours' outputs of the previous layer.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_TILES 48 /* tiles per chunk: V and M of a chunk (~0.8 MB each) stay near L2 */
#define STRIDE_PAD 16  /* floats added to V/M strides, so the 64 positions do not alias in L1 */

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define KERNEL __attribute__((target("avx512f,fma")))

int winograd_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#include "winograd_transforms.h"

/* M[t][:] = sum_k V[t][k] U[k][:] for T tiles (a multiple of TILES), K input channels and
 * N = VECS*16 output channels; TILES x VECS accumulators (24 of the 32 registers). */
#define GEMM(VECS, TILES)                                                                          \
    KERNEL static void gemm_##VECS(const float* V, const float* U, float* M, int T, int K) {      \
        const int N = VECS * 16;                                                                   \
        for (int t0 = 0; t0 < T; t0 += TILES) {                                                    \
            __m512 acc[TILES][VECS];                                                               \
            _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++)                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) acc[i][v] = _mm512_setzero_ps(); \
            const float* rows = V + (long)t0 * K;                                                  \
            for (int k = 0; k < K; k++) {                                                          \
                __m512 u[VECS];                                                                    \
                _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++) u[v] = _mm512_loadu_ps(U + (long)k * N + 16 * v); \
                _Pragma("GCC unroll 16") for (int i = 0; i < TILES; i++) {                         \
                    __m512 b = _mm512_set1_ps(rows[(long)i * K + k]);                              \
                    _Pragma("GCC unroll 4") for (int v = 0; v < VECS; v++)                         \
                        acc[i][v] = _mm512_fmadd_ps(b, u[v], acc[i][v]);                           \
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

typedef struct {
    int cin, cout;        /* multiples of 16, at most 64 */
    const float* kernels; /* [64][cin][cout], transformed */
    const float* bias;    /* [cout] */
    const float* slope;   /* [cout] PReLU slopes, or NULL for no activation */
} Layer;

/* Tiles [first, last) of one layer, a chunk at a time, with this thread's scratch V and M. */
KERNEL static void run_tiles(const Layer* L, const float* in, float* out, int H, int W, int first, int last,
                             float* V, float* M) {
    const int tw = (W + 5) / 6;
    const long Wp = tw * 6 + 2, plane = (long)((H + 5) / 6 * 6 + 2) * Wp * 16;
    const int in_blocks = L->cin / 16, out_blocks = L->cout / 16, group = gemm_tiles(out_blocks);
    /* Equal chunks of at most CHUNK_TILES: 121 tiles run as 41+40+40, not 48+48+25. */
    const int chunks = (last - first + CHUNK_TILES - 1) / CHUNK_TILES;
    const int step = (last - first + chunks - 1) / chunks;
    for (int c0 = first; c0 < last; c0 += step) {
        const int n = last - c0 < step ? last - c0 : step;
        const int padded = (n + group - 1) / group * group; /* rows past n are computed, never read */
        const long ps_v = (long)padded * L->cin + STRIDE_PAD, ps_m = (long)padded * L->cout + STRIDE_PAD;
        for (int i = 0; i < n; i++) {
            const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
            for (int b = 0; b < in_blocks; b++)
                input_transform(in + b * plane + (ty * 6 * Wp + tx * 6) * 16, Wp * 16, V + (long)i * L->cin + b * 16,
                                ps_v);
        }
        for (int p = 0; p < 64; p++) {
            const float* U = L->kernels + (long)p * L->cin * L->cout;
            switch (out_blocks) {
                case 1: gemm_1(V + p * ps_v, U, M + p * ps_m, padded, L->cin); break;
                case 2: gemm_2(V + p * ps_v, U, M + p * ps_m, padded, L->cin); break;
                case 3: gemm_3(V + p * ps_v, U, M + p * ps_m, padded, L->cin); break;
                default: gemm_4(V + p * ps_v, U, M + p * ps_m, padded, L->cin); break;
            }
        }
        for (int i = 0; i < n; i++) {
            const int ty = (c0 + i) / tw, tx = (c0 + i) % tw;
            const int rows = H - ty * 6 < 6 ? H - ty * 6 : 6, cols = W - tx * 6 < 6 ? W - tx * 6 : 6;
            for (int b = 0; b < out_blocks; b++) {
                __m512 y[36];
                output_transform(M + (long)i * L->cout + b * 16, ps_m, y);
                const __m512 bias = _mm512_loadu_ps(L->bias + b * 16);
                const __m512 slope = L->slope ? _mm512_loadu_ps(L->slope + b * 16) : _mm512_set1_ps(1.0f);
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
    const Layer* layers;
    int n_layers, H, W, threads;
    const float* input;
    float* buffers[2];
    Barrier* barrier;
    int go; /* 0 until every thread exists, then 1 (work) or -1 (a thread failed to start: exit) */
} Chain;

typedef struct {
    Chain* chain;
    int index;
    float *V, *M;
} Worker;

KERNEL static void* run_worker(void* arg) {
    const Worker* w = arg;
    Chain* c = w->chain;
    if (w->index > 0) { /* wait until all threads exist, or were told to leave */
        pthread_mutex_lock(&c->barrier->lock);
        while (c->go == 0) pthread_cond_wait(&c->barrier->turn, &c->barrier->lock);
        const int go = c->go;
        pthread_mutex_unlock(&c->barrier->lock);
        if (go < 0) return NULL;
    }
    const int tiles = ((c->H + 5) / 6) * ((c->W + 5) / 6);
    const int share = (tiles + c->threads - 1) / c->threads;
    const int first = w->index * share, last = first + share < tiles ? first + share : tiles;
    for (int l = 0; l < c->n_layers; l++) {
        const float* in = l == 0 ? c->input : c->buffers[(l - 1) % 2];
        if (first < last) run_tiles(&c->layers[l], in, c->buffers[l % 2], c->H, c->W, first, last, w->V, w->M);
        if (c->threads > 1) barrier_wait(c->barrier);
    }
    return NULL;
}

/* Runs the layers in order on `input`, ping-ponging between buffers[0] and [1] (zeroed, each
 * sized for the widest layer); the result is in buffers[(n_layers - 1) % 2]. 0 on success. */
int winograd_chain(const float* input, float* buffer_a, float* buffer_b, int H, int W, int n_layers,
                   const int* cin, const int* cout, const float* const* kernels, const float* const* bias,
                   const float* const* slope, int threads) {
    if (!winograd_supported() || H < 1 || W < 1 || n_layers < 1 || threads < 1) return -1;
    for (int l = 0; l < n_layers; l++)
        if (cin[l] % 16 || cout[l] % 16 || cin[l] < 16 || cin[l] > 64 || cout[l] < 16 || cout[l] > 64) return -1;
    const int tiles = ((H + 5) / 6) * ((W + 5) / 6);
    if (threads > tiles) threads = tiles;
    /* Scratch per thread: a chunk's V and M for 64 channels, plus the stride padding. */
    const size_t scratch = 64 * ((size_t)CHUNK_TILES * 64 + STRIDE_PAD);
    Layer* layers = calloc(n_layers, sizeof(Layer));
    Worker* workers = calloc(threads, sizeof(Worker));
    pthread_t* ids = calloc(threads, sizeof(pthread_t));
    float* memory = calloc(2 * scratch * threads, sizeof(float));
    if (!layers || !workers || !ids || !memory) {
        free(layers), free(workers), free(ids), free(memory);
        return -2;
    }
    for (int l = 0; l < n_layers; l++) layers[l] = (Layer){cin[l], cout[l], kernels[l], bias[l], slope[l]};
    Barrier barrier = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, threads, 0};
    Chain chain = {layers, n_layers, H, W, threads, input, {buffer_a, buffer_b}, &barrier, 0};
    int started = 0;
    for (int i = 0; i < threads; i++) {
        workers[i] = (Worker){&chain, i, memory + 2 * scratch * i, memory + 2 * scratch * i + scratch};
        if (i > 0) {
            if (pthread_create(&ids[i], NULL, run_worker, &workers[i]) != 0) break;
            started++;
        }
    }
    pthread_mutex_lock(&barrier.lock);
    chain.go = started == threads - 1 ? 1 : -1;
    pthread_cond_broadcast(&barrier.turn);
    pthread_mutex_unlock(&barrier.lock);
    if (chain.go < 0) { /* no thread for every share: those that started leave, this one does it all */
        for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
        started = 0;
        chain.threads = 1;
    }
    run_worker(&workers[0]);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    free(memory), free(ids), free(workers), free(layers);
    return 0;
}

#else /* not x86-64: the library builds, and says it cannot run */

int winograd_supported(void) { return 0; }

int winograd_chain(const float* input, float* buffer_a, float* buffer_b, int H, int W, int n_layers,
                   const int* cin, const int* cout, const float* const* kernels, const float* const* bias,
                   const float* const* slope, int threads) {
    return -1;
}

#endif
