/* Programs of 3x3 convolutions (stride 1, zero padding 1) with a per-channel PReLU / LeakyReLU,
 * as Winograd F(6x6, 3x3) on AVX-512 or AVX2, plus the residual sums between them: the body of
 * SRVGGNetCompact (realesr-animevideov3) and the trunk and head of ESRGAN (x4plus) on the CPU.
 *
 * Built by backend/models/winograd.py with the system C compiler and loaded with ctypes. The
 * kernels (winograd_kernels.h) are compiled twice, with AVX-512 and with AVX2 + FMA target
 * attributes, so the library loads on any x86-64 CPU; `winograd_supported()` tells the caller
 * which set this CPU runs, and `winograd_run` uses it.
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

enum { ISA_NONE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/* The best instruction set this CPU (and OS) runs: ISA_AVX512, ISA_AVX2 (with FMA) or ISA_NONE. */
int winograd_supported(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("fma")) return ISA_NONE;
    if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
    return __builtin_cpu_supports("avx2") ? ISA_AVX2 : ISA_NONE;
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
    int isa;        /* ISA_AVX512 or ISA_AVX2: which kernels run */
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


/* ---- AVX-512: a v16 is one register ---------------------------------------------------------- */
#define NAME(f) f##_avx512
#define KERNEL __attribute__((target("avx512f,fma")))
#define v16 __m512
#define V_LOAD _mm512_loadu_ps
#define V_STORE _mm512_storeu_ps
#define V_SET1 _mm512_set1_ps
#define V_ZERO _mm512_setzero_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_FMA _mm512_fmadd_ps /* a * b + c */
#define V_PRELU(x, slope) _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), x, slope)
#define GEMM_VECS 4
#include "winograd_kernels.h"
#undef NAME
#undef KERNEL
#undef v16
#undef V_LOAD
#undef V_STORE
#undef V_SET1
#undef V_ZERO
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_FMA
#undef V_PRELU
#undef GEMM_VECS

/* ---- AVX2 + FMA: a v16 is two registers ------------------------------------------------------ */
#define KERNEL __attribute__((target("avx2,fma")))
typedef struct {
    __m256 lo, hi;
} v16x2;
KERNEL static inline v16x2 x2_load(const float* p) { return (v16x2){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
KERNEL static inline void x2_store(float* p, v16x2 a) { _mm256_storeu_ps(p, a.lo), _mm256_storeu_ps(p + 8, a.hi); }
KERNEL static inline v16x2 x2_set1(float a) { return (v16x2){_mm256_set1_ps(a), _mm256_set1_ps(a)}; }
KERNEL static inline v16x2 x2_zero(void) { return (v16x2){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
KERNEL static inline v16x2 x2_add(v16x2 a, v16x2 b) { return (v16x2){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
KERNEL static inline v16x2 x2_sub(v16x2 a, v16x2 b) { return (v16x2){_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
KERNEL static inline v16x2 x2_mul(v16x2 a, v16x2 b) { return (v16x2){_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
KERNEL static inline v16x2 x2_fma(v16x2 a, v16x2 b, v16x2 c) {
    return (v16x2){_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
/* x < 0 ? x * slope : x; blendv picks by the sign bit of x itself. */
KERNEL static inline v16x2 x2_prelu(v16x2 x, v16x2 s) {
    return (v16x2){_mm256_blendv_ps(x.lo, _mm256_mul_ps(x.lo, s.lo), x.lo),
                   _mm256_blendv_ps(x.hi, _mm256_mul_ps(x.hi, s.hi), x.hi)};
}
#define NAME(f) f##_avx2
#define v16 v16x2
#define V_LOAD x2_load
#define V_STORE x2_store
#define V_SET1 x2_set1
#define V_ZERO x2_zero
#define V_ADD x2_add
#define V_SUB x2_sub
#define V_MUL x2_mul
#define V_FMA x2_fma
#define V_PRELU x2_prelu
#define GEMM_VECS 1
#include "winograd_kernels.h"
#undef KERNEL

static void share(long total, long grain, int threads, int index, long* first, long* last) {
    const long units = (total + grain - 1) / grain, per = (units + threads - 1) / threads;
    *first = index * per * grain;
    *last = (index + 1) * per * grain;
    if (*last > total) *last = total;
    if (*first > total) *first = total;
}

static void* run_worker(void* arg) {
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
            (P->isa == ISA_AVX512 ? axpby_avx512 : axpby_avx2)(P, op, first, last);
        } else {
            const float* U = op->kernels;
            if (!U) {
                share(op->cin, 1, P->threads, w->index, &first, &last);
                (P->isa == ISA_AVX512 ? transform_weights_avx512 : transform_weights_avx2)(op, P->kernels, (int)first,
                                                                                          (int)last);
                if (P->threads > 1) barrier_wait(P->barrier);
                U = P->kernels;
            }
            share(P->tiles, 1, P->threads, w->index, &first, &last);
            if (first < last)
                (P->isa == ISA_AVX512 ? conv_tiles_avx512 : conv_tiles_avx2)(P, op, U, (int)first, (int)last, w->V, w->M);
        }
        if (P->threads > 1) barrier_wait(P->barrier);
    }
    return NULL;
}

/* Runs `ops` in order on buffers of the H x W image (layout above; `blocks` gives each
 * buffer's depth), with up to `threads` threads and the kernels of `isa` (ISA_NONE: the best
 * this CPU runs). 0 on success. */
int winograd_run(float* const* buffers, const int* blocks, int n_buffers, int H, int W, const Op* ops, int n_ops,
                 int threads, int isa) {
    const int best = winograd_supported();
    if (isa == ISA_NONE) isa = best;
    if (isa < ISA_AVX2 || isa > best || H < 1 || W < 1 || n_ops < 0 || threads < 1) return -1;
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
    Program program = {.buffers = buffers,
                       .H = H,
                       .W = W,
                       .tiles = tiles,
                       .tw = tw,
                       .threads = threads,
                       .n_ops = n_ops,
                       .Wp = Wp,
                       .plane = plane,
                       .ops = ops,
                       .kernels = memory + (v_size + m_size) * threads,
                       .isa = isa,
                       .barrier = &barrier,
                       .go = 0};
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
                 int threads, int isa) {
    return -1;
}

#endif
