/* The thread pool: n-1 pthreads workers plus the calling thread. A job is a count of
 * tasks handed out through an atomic counter. Between jobs a worker spins for a
 * short while (SPIN_ROUNDS pauses, some tens of microseconds: the next GEMM of a
 * training step usually comes sooner) and then sleeps on a condition variable; the
 * caller waits for the last worker the same way. Each thread owns a scratch buffer
 * (GEMM packing) that grows to the largest size asked for and is then reused.
 *
 * Sleeping without lost wake-ups: a sleeper announces itself (sleepers, or
 * caller_asleep) under the mutex and re-checks the condition before waiting; the
 * waker changes the condition and then checks the announcement, both sequentially
 * consistent atomics, so at least one of the two sees the other; the waker signals
 * under the same mutex, so the sleeper is already waiting. */
#include "kernel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_THREADS 256
#define SPIN_ROUNDS 4000

typedef struct scratch {
    void *raw;     /* what cr_malloc returned */
    void *aligned; /* raw rounded up to 64 bytes */
    size_t cap;    /* usable bytes from aligned */
} scratch;

typedef struct worker {
    cr_pool *pool;
    int id; /* 1..n-1 */
} worker;

struct cr_pool {
    int n;              /* threads in total, the caller included */
    int started;        /* workers running */
    pthread_t *threads; /* n-1 */
    worker *workers;    /* n-1 */
    scratch *scratch;   /* n, index = thread id */

    pthread_mutex_t mu;
    pthread_cond_t wake; /* caller -> workers: a new job or stop */
    pthread_cond_t done; /* last worker -> caller: job finished */
    atomic_uint gen;     /* job number, bumped per job */
    atomic_int stop;
    atomic_int sleepers; /* workers asleep (or about to be) on wake */
    atomic_int pending;  /* workers still in the current job */
    atomic_int caller_asleep;

    /* The current job: written by the caller before gen is bumped. */
    cr__pool_fn fn;
    void *ctx;
    int ntasks;
    int wanted;      /* threads taking part (caller included) */
    atomic_int next; /* next task to hand out */
};

static void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

static void run_tasks(cr_pool *p, int thread)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->ntasks) break;
        p->fn(p->ctx, t, thread);
    }
}

/* Wait until a job newer than `seen` (or stop) is posted; returns its number. */
static unsigned wait_for_job(cr_pool *p, unsigned seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        unsigned g = atomic_load(&p->gen);
        if (g != seen || atomic_load(&p->stop)) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return atomic_load(&p->gen);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    cr_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        if (w->id >= p->wanted) continue; /* this job needs fewer threads */
        run_tasks(p, w->id);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_asleep)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void stop_workers(cr_pool *p)
{
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    p->started = 0;
}

cr_pool *cr_pool_new(int n)
{
    if (n <= 0) {
        const char *env = getenv("CR_NUM_THREADS");
        n = env ? atoi(env) : 1;
        if (n < 1) n = 1;
        if (n > MAX_THREADS) n = MAX_THREADS;
    }
    if (n > MAX_THREADS) return NULL;
    cr_pool *p = cr_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    p->scratch = cr_calloc((size_t)n, sizeof *p->scratch);
    if (!p->scratch) {
        cr_free(p);
        return NULL;
    }
    if (n == 1) return p; /* no workers, no locks needed */

    p->threads = cr_calloc((size_t)n - 1, sizeof *p->threads);
    p->workers = cr_calloc((size_t)n - 1, sizeof *p->workers);
    int ok = p->threads && p->workers;
    if (ok && pthread_mutex_init(&p->mu, NULL) != 0) ok = 0;
    if (ok && pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        ok = 0;
    }
    if (!ok) {
        cr_free(p->threads);
        cr_free(p->workers);
        cr_free(p->scratch);
        cr_free(p);
        return NULL;
    }
    for (int i = 0; i < n - 1; i++) {
        p->workers[i].pool = p;
        p->workers[i].id = i + 1;
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
            n = 0;
            break;
        }
        p->started++;
    }
    if (n == 0) { /* a thread could not be created: undo everything */
        cr_pool_free(p);
        return NULL;
    }
    return p;
}

void cr_pool_free(cr_pool *p)
{
    if (!p) return;
    if (p->n > 1) {
        stop_workers(p);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
    }
    for (int i = 0; i < p->n; i++) cr_free(p->scratch[i].raw);
    cr_free(p->scratch);
    cr_free(p->threads);
    cr_free(p->workers);
    cr_free(p);
}

int cr_pool_threads(const cr_pool *p) { return p ? p->n : 1; }

void cr__pool_run(cr_pool *p, cr__pool_fn fn, void *ctx, int ntasks)
{
    if (ntasks <= 0) return;
    int use = p ? p->n : 1;
    if (use > ntasks) use = ntasks;
    if (use <= 1) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    p->wanted = use;
    atomic_store(&p->next, 0);
    atomic_store(&p->pending, use - 1);
    atomic_fetch_add(&p->gen, 1); /* publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }

    run_tasks(p, 0);

    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&p->pending) > 0; i++) cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_asleep, 1);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->caller_asleep, 0);
        pthread_mutex_unlock(&p->mu);
    }
}

int cr__pool_reserve(cr_pool *p, size_t bytes)
{
    if (!p) return -1;
    for (int i = 0; i < p->n; i++) {
        scratch *s = &p->scratch[i];
        if (s->cap >= bytes) continue;
        if (bytes > SIZE_MAX - 64) return -1;
        void *raw = cr_malloc(bytes + 64);
        if (!raw) return -1;
        cr_free(s->raw);
        s->raw = raw;
        s->aligned = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
        s->cap = bytes;
    }
    return 0;
}

void *cr__pool_scratch(cr_pool *p, int thread) { return p ? p->scratch[thread].aligned : NULL; }
