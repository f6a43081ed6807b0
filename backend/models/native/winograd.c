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
 *
 * Threads: a pool of worker threads and their scratch memory live from one run to the next, and
 * the barrier yields a little before it sleeps. Creating threads and zeroing scratch on every call
 * cost ~0.8-1.5 ms, more than the whole work of a 32x32 image. A run that finds the pool in use
 * (another caller's run) starts threads of its own, as every run did before.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* A waiting thread first yields this many times (each returns at once when no other thread wants
 * the core) before it sleeps. Yielding, not spinning on pause: on a busy box (the event loop,
 * other requests) a spinning thread took the core from them and cost the service throughput. */
#define SPIN_ROUNDS 200

/* A barrier that yields, then sleeps on a condition variable (macOS has no pthread_barrier_t). */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t turn;
    atomic_int waiting;
    atomic_uint round; /* unsigned: wraps around, defined, in a service that runs for months */
    int parties;
} Barrier;

static void barrier_wait(Barrier* b) {
    const unsigned round = atomic_load_explicit(&b->round, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->waiting, 1, memory_order_acq_rel) + 1 == b->parties) {
        atomic_store_explicit(&b->waiting, 0, memory_order_relaxed); /* before anyone can pass */
        pthread_mutex_lock(&b->lock);
        atomic_store_explicit(&b->round, round + 1, memory_order_release);
        pthread_cond_broadcast(&b->turn);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&b->round, memory_order_acquire) != round) return;
        sched_yield();
    }
    pthread_mutex_lock(&b->lock);
    while (atomic_load_explicit(&b->round, memory_order_acquire) == round) pthread_cond_wait(&b->turn, &b->lock);
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
    long v_floats;  /* a thread's scratch: V, then M at this offset */
    int isa;        /* ISA_AVX512 or ISA_AVX2: which kernels run */
    Barrier* barrier;
    int go; /* private threads: 0 until every thread exists, then 1 (work) or -1 (a thread failed to start: exit) */
} Program;

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

/* One thread's part of the program: every operation, with a barrier after each. Touches nothing
 * of the program after its last barrier (the caller's stack frame may be gone by then). */
static void work(Program* P, int index, float* V, float* M) {
    const int n_ops = P->n_ops, threads = P->threads;
    long first, last;
    for (int i = 0; i < n_ops; i++) {
        const Op* op = &P->ops[i];
        if (op->kind == OP_AXPBY) {
            share((long)op->cout / 16 * P->plane, 16 * 64, threads, index, &first, &last);
            (P->isa == ISA_AVX512 ? axpby_avx512 : axpby_avx2)(P, op, first, last);
        } else {
            const float* U = op->kernels;
            if (!U) {
                share(op->cin, 1, threads, index, &first, &last);
                (P->isa == ISA_AVX512 ? transform_weights_avx512 : transform_weights_avx2)(op, P->kernels, (int)first,
                                                                                          (int)last);
                if (threads > 1) barrier_wait(P->barrier);
                U = P->kernels;
            }
            share(P->tiles, 1, threads, index, &first, &last);
            if (first < last)
                (P->isa == ISA_AVX512 ? conv_tiles_avx512 : conv_tiles_avx2)(P, op, U, (int)first, (int)last, V, M);
        }
        if (threads > 1) barrier_wait(P->barrier);
    }
}

/* Scratch sizes of a run, in floats: per thread (a chunk's V, then M at the program's v_floats)
 * and shared (kernels transformed on the fly). */
typedef struct {
    size_t per_thread, shared;
} Sizes;

/* Zeroed, 64-byte aligned (no vector load or store straddles two cache lines); NULL if none. */
static float* zeroed(size_t floats) {
    float* memory = NULL;
    if (posix_memalign((void**)&memory, 64, floats * sizeof(float) + 64) != 0) return NULL;
    memset(memory, 0, floats * sizeof(float) + 64);
    return memory;
}

/* ---- private threads: for a run that finds the pool busy ------------------------------------ */

typedef struct {
    Program* program;
    int index;
    float *V, *M;
} Worker;

static void* private_worker(void* arg) {
    const Worker* w = arg;
    Program* P = w->program;
    pthread_mutex_lock(&P->barrier->lock); /* wait until all threads exist, or were told to leave */
    while (P->go == 0) pthread_cond_wait(&P->barrier->turn, &P->barrier->lock);
    const int go = P->go;
    pthread_mutex_unlock(&P->barrier->lock);
    if (go > 0) work(P, w->index, w->V, w->M);
    return NULL;
}

static int run_private(Program* P, Sizes sizes) {
    const int threads = P->threads;
    Worker* workers = calloc(threads, sizeof(Worker));
    pthread_t* ids = calloc(threads, sizeof(pthread_t));
    float* memory = zeroed(sizes.per_thread * threads + sizes.shared);
    if (!workers || !ids || !memory) {
        free(workers), free(ids), free(memory);
        return -2;
    }
    Barrier barrier = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, threads};
    P->barrier = &barrier;
    P->kernels = memory + sizes.per_thread * threads;
    int started = 0;
    for (int i = 0; i < threads; i++) {
        float* mine = memory + sizes.per_thread * i;
        workers[i] = (Worker){P, i, mine, mine + P->v_floats};
        if (i > 0) {
            if (pthread_create(&ids[i], NULL, private_worker, &workers[i]) != 0) break;
            started++;
        }
    }
    pthread_mutex_lock(&barrier.lock);
    P->go = started == threads - 1 ? 1 : -1;
    pthread_cond_broadcast(&barrier.turn);
    pthread_mutex_unlock(&barrier.lock);
    if (P->go < 0) { /* no thread for every share: those that started leave, this one does it all */
        for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
        started = 0;
        P->threads = 1;
    }
    work(P, 0, workers[0].V, workers[0].M);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
    free(memory), free(ids), free(workers);
    return 0;
}

/* ---- the pool: threads and scratch kept between runs ----------------------------------------- */

#define POOL_THREADS 256 /* most threads a pooled run uses */

static struct {
    pthread_mutex_t busy;  /* held by the run that uses the pool */
    pthread_mutex_t lock;  /* guards generation, program and active; with `wake` */
    pthread_cond_t wake;
    atomic_uint generation; /* one more for each run handed to the workers */
    Program* program;      /* that run's */
    int active;            /* threads in that run: workers with a smaller index take part */
    int started;           /* worker threads alive: indices 1..started */
    unsigned born[POOL_THREADS]; /* the generation when each worker was created */
    float* scratch[POOL_THREADS];
    size_t scratch_floats[POOL_THREADS];
    float* shared;
    size_t shared_floats;
    Barrier barrier;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .barrier = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0}};

static void* pool_worker(void* arg) {
    const int index = (int)(intptr_t)arg;
    unsigned seen = pool.born[index];
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        /* Read together, under the lock: a run cannot end (and the next begin) without its workers. */
        seen = atomic_load(&pool.generation);
        Program* P = index < pool.active ? pool.program : NULL;
        float* scratch = pool.scratch[index];
        pthread_mutex_unlock(&pool.lock);
        if (P) work(P, index, scratch, scratch + P->v_floats);
    }
    return NULL;
}

/* A fork keeps only the forking thread: the child starts with an empty, unlocked pool. Its
 * scratch (copied into the child) is kept. */
static void pool_after_fork(void) {
    pool.busy = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pool.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pool.wake = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
    pool.barrier.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pool.barrier.turn = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
    atomic_store(&pool.barrier.waiting, 0);
    pool.started = 0;
    pool.active = 0;
}

static void pool_register_fork(void) { pthread_atfork(NULL, NULL, pool_after_fork); }

/* Workers 1..wanted-1 alive (with every signal blocked: Python handles signals on its main
 * thread); returns how many threads a run can use, at least 1. Pool held. */
static int pool_grow(int wanted) {
    if (wanted > POOL_THREADS) wanted = POOL_THREADS;
    if (pool.started + 1 >= wanted) return wanted;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (pool.started + 1 < wanted) {
        const int index = pool.started + 1;
        pool.born[index] = atomic_load(&pool.generation);
        pthread_t id;
        if (pthread_create(&id, &attr, pool_worker, (void*)(intptr_t)index) != 0) break;
        pool.started = index;
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.started + 1 < wanted ? pool.started + 1 : wanted;
}

/* Scratch of at least `floats` at *slot, zeroed when (re)allocated; 0 on success. Pool held. */
static int pool_scratch(float** slot, size_t* have, size_t floats) {
    if (*have >= floats) return 0;
    float* memory = zeroed(floats);
    if (!memory) return -1;
    free(*slot);
    *slot = memory;
    *have = floats;
    return 0;
}

/* 0 when run here, 1 when the pool is busy (the caller runs with private threads), -2 without memory. */
static int run_pooled(Program* P, Sizes sizes) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pool_register_fork);
    if (pthread_mutex_trylock(&pool.busy) != 0) return 1;
    const int threads = pool_grow(P->threads);
    int failed = pool_scratch(&pool.shared, &pool.shared_floats, sizes.shared);
    for (int i = 0; i < threads && !failed; i++)
        failed = pool_scratch(&pool.scratch[i], &pool.scratch_floats[i], sizes.per_thread);
    if (failed) {
        pthread_mutex_unlock(&pool.busy);
        return -2;
    }
    P->threads = threads;
    P->kernels = pool.shared;
    P->barrier = &pool.barrier;
    if (threads > 1) {
        pthread_mutex_lock(&pool.lock);
        pool.barrier.parties = threads;
        pool.program = P;
        pool.active = threads;
        atomic_fetch_add(&pool.generation, 1);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    work(P, 0, pool.scratch[0], pool.scratch[0] + P->v_floats);
    pthread_mutex_unlock(&pool.busy); /* every worker passed the last barrier: the run is done */
    return 0;
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
    /* Per thread: a chunk's V and M (rounded up to a whole GEMM group) plus the stride padding;
     * each a multiple of 16 floats, so M starts on a cache line too. */
    const size_t v = 64 * ((size_t)(48 + 12) * max_cin + STRIDE_PAD);
    const size_t m = 64 * ((size_t)(48 + 12) * max_cout + STRIDE_PAD);
    const Sizes sizes = {v + m, 64 * (size_t)max_pairs};
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
                       .v_floats = (long)v,
                       .isa = isa};
    const int pooled = run_pooled(&program, sizes);
    return pooled == 1 ? run_private(&program, sizes) : pooled;
}

#else /* not x86-64: the library builds, and says it cannot run */

int winograd_supported(void) { return 0; }

int winograd_run(float* const* buffers, const int* blocks, int n_buffers, int H, int W, const void* ops, int n_ops,
                 int threads, int isa) {
    return -1;
}

#endif
