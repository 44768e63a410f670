/* The thread pool: n-1 pthreads workers plus the calling thread.
 *
 * A job is a count of tasks. Its number, task count and next unclaimed task share
 * one 64-bit atomic word, so a thread claims a task with one compare-and-swap that
 * also proves the job is still the current one; a job ends when all its tasks are
 * done, whoever ran them. The caller claims tasks too and waits only for claimed
 * tasks to finish, never for a worker to show up: if the workers are slow to wake
 * (or the machine is busy), the caller simply runs the tasks itself.
 *
 * Between jobs a worker spins for a short while (SPIN_NS, 0.3 ms: the next GEMM of
 * a training step comes sooner; it yields the CPU now and then) and then sleeps on
 * a condition variable; the caller waits for the last task the
 * same way. Sleeping without lost wake-ups: a sleeper announces itself (sleepers,
 * caller_asleep) under the mutex and re-checks its condition before waiting; the
 * waker changes the condition and then reads the announcement, both sequentially
 * consistent, so at least one sees the other, and it signals under the mutex.
 *
 * Each thread owns a scratch buffer (GEMM packing) that grows to the largest size
 * asked for and is then reused. */
#include "kernel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 256
#define MAX_TASKS ((1 << 20) - 1)
#define SPIN_NS 300000 /* how long to spin before sleeping: 0.3 ms */

/* The job word: job number (24 bits) | task count (20) | next task (20). */
#define JOB(w) ((w) >> 40)
#define NTASKS(w) ((int)(((w) >> 20) & MAX_TASKS))
#define NEXT(w) ((int)((w)&MAX_TASKS))

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
    pthread_cond_t wake;   /* caller -> workers: a new job or stop */
    pthread_cond_t done;   /* last task -> caller: job finished */
    _Atomic uint64_t job;  /* see JOB, NTASKS, NEXT */
    atomic_int done_tasks; /* tasks of the current job finished */
    atomic_int stop;
    atomic_int sleepers; /* workers asleep (or about to be) on wake */
    atomic_int caller_asleep;

    /* The current job's function: written before the job word is published and
     * left alone until all its tasks are done, so whoever claimed a task of this
     * job reads the right one. */
    cr__pool_fn fn;
    void *ctx;
};

/* Spinning: a few pauses at a time, the clock read between them; every 16th step
 * yields the CPU in case another thread is waiting for it. spin_done() is true
 * once SPIN_NS have passed since spin_start(). */
typedef struct spin {
    struct timespec t0;
    unsigned steps;
} spin;

static void spin_start(spin *s)
{
    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    s->steps = 0;
}

static int spin_done(spin *s)
{
    if (++s->steps % 16 == 0) sched_yield();
    for (int i = 0; i < 8; i++) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_ia32_pause();
#endif
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - s->t0.tv_sec) * 1000000000L + (t.tv_nsec - s->t0.tv_nsec) > SPIN_NS;
}

/* Claim and run tasks of job `job` until it has none left (or a newer job is up). */
static void run_tasks(cr_pool *p, uint64_t job, int thread)
{
    uint64_t w = atomic_load(&p->job);
    while (JOB(w) == job && NEXT(w) < NTASKS(w)) {
        if (!atomic_compare_exchange_weak(&p->job, &w, w + 1)) continue; /* w reloaded */
        p->fn(p->ctx, NEXT(w), thread);
        if (atomic_fetch_add(&p->done_tasks, 1) + 1 == NTASKS(w) && thread != 0 &&
            atomic_load(&p->caller_asleep)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
        w = atomic_load(&p->job);
    }
}

/* Wait until a job other than `seen` is posted (or stop); returns the job word. */
static uint64_t wait_for_job(cr_pool *p, uint64_t seen)
{
    spin sp;
    spin_start(&sp);
    do {
        uint64_t w = atomic_load(&p->job);
        if (JOB(w) != seen || atomic_load(&p->stop)) return w;
    } while (!spin_done(&sp));
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (JOB(atomic_load(&p->job)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return atomic_load(&p->job);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    cr_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t word = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        seen = JOB(word);
        run_tasks(p, seen, w->id);
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
    if (n <= 0) n = cr__config_get()->num_threads; /* CR_NUM_THREADS, else 1 */
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
    if (!p || p->n == 1 || ntasks == 1 || ntasks > MAX_TASKS) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done_tasks, 0);
    uint64_t job = (JOB(atomic_load(&p->job)) + 1) & 0xffffff;
    atomic_store(&p->job, job << 40 | (uint64_t)ntasks << 20); /* publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }

    run_tasks(p, job, 0);

    spin sp;
    spin_start(&sp);
    do {
        if (atomic_load(&p->done_tasks) == ntasks) return;
    } while (!spin_done(&sp));
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_asleep, 1);
    while (atomic_load(&p->done_tasks) != ntasks) pthread_cond_wait(&p->done, &p->mu);
    atomic_store(&p->caller_asleep, 0);
    pthread_mutex_unlock(&p->mu);
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

/* cr_pool_for: the range [0, n) cut into ntasks chunks of `chunk` items (the last
 * one shorter), one pool task each. */
typedef struct range_job {
    void (*fn)(void *ctx, size_t begin, size_t end);
    void *ctx;
    size_t n, chunk;
} range_job;

static void range_task(void *ctx, int task, int thread)
{
    (void)thread;
    const range_job *j = ctx;
    size_t b = (size_t)task * j->chunk;
    size_t e = j->n - b < j->chunk ? j->n : b + j->chunk;
    j->fn(j->ctx, b, e);
}

#define RANGE_ALIGN 16 /* items: a chunk of floats starts on a 64-byte line */
#define RANGE_TASKS 4  /* tasks per thread: a late or busy thread is helped out */

void cr_pool_for(cr_pool *p, size_t n, size_t grain,
                 void (*fn)(void *ctx, size_t begin, size_t end), void *ctx)
{
    if (n == 0) return;
    if (grain == 0) grain = 1;
    int threads = cr_pool_threads(p);
    if (threads == 1 || n / 2 < grain) {
        fn(ctx, 0, n);
        return;
    }
    size_t ntasks = n / grain, most = (size_t)threads * RANGE_TASKS;
    if (ntasks > most) ntasks = most;
    size_t chunk = (n + ntasks - 1) / ntasks;
    chunk = (chunk + RANGE_ALIGN - 1) / RANGE_ALIGN * RANGE_ALIGN;
    range_job j = { fn, ctx, n, chunk };
    cr__pool_run(p, range_task, &j, (int)((n + chunk - 1) / chunk));
}
