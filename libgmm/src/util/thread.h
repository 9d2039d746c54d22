/* thread.h: the few threading primitives libgmm's pool needs, over POSIX
 * threads or (on Windows) the Win32 API. Everything else in libgmm is
 * portable C11 (<stdatomic.h>, _Thread_local). */
#ifndef GMM_UTIL_THREAD_H
#define GMM_UTIL_THREAD_H

#include "util/internal.h"

#if defined(_WIN32)
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
typedef HANDLE gmm_thread;
typedef SRWLOCK gmm_mutex;
typedef CONDITION_VARIABLE gmm_cond;
#else
#  include <pthread.h>
typedef pthread_t gmm_thread;
typedef pthread_mutex_t gmm_mutex;
typedef pthread_cond_t gmm_cond;
#endif

typedef void (*gmm_thread_fn)(void *arg);

/* Starts fn(arg) on a new, detached thread with a small stack. Returns 0,
 * or nonzero if the thread could not be created (the caller then does with
 * fewer threads). */
GMM_HIDDEN int gmm_thread_start(gmm_thread_fn fn, void *arg);

GMM_HIDDEN void gmm_mutex_init(gmm_mutex *m);
GMM_HIDDEN void gmm_mutex_lock(gmm_mutex *m);
GMM_HIDDEN void gmm_mutex_unlock(gmm_mutex *m);
GMM_HIDDEN void gmm_cond_init(gmm_cond *c);
/* Waits (with m locked) until signalled; may wake spuriously. */
GMM_HIDDEN void gmm_cond_wait(gmm_cond *c, gmm_mutex *m);
GMM_HIDDEN void gmm_cond_broadcast(gmm_cond *c);

/* A hint inside spin loops (x86 PAUSE). */
GMM_HIDDEN void gmm_cpu_relax(void);

/* Offers the processor to another runnable thread (sched_yield / SwitchToThread). */
GMM_HIDDEN void gmm_thread_yield(void);

/* The processor the calling thread runs on, or -1 where that is not known. */
GMM_HIDDEN int gmm_current_cpu(void);

/* Moves the calling thread off processor `cpu` to another one it may run on
 * (its allowed set is restored at once, so only the move remains); nothing
 * where that is not supported or `cpu` is its only processor. Another
 * thread that reads this thread's allowed set in that instant sees it
 * narrowed, and one that sets it then has its change undone. */
GMM_HIDDEN void gmm_thread_leave_cpu(int cpu);

/* Processors this process may run on (at least 1). */
GMM_HIDDEN int gmm_cpu_count(void);

/* Registers fork handlers (POSIX; a no-op on Windows): before, in the parent
 * after, and in the child after a fork(). */
GMM_HIDDEN void gmm_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Test hook: the next n thread creations fail (0 disables; not thread-safe). */
GMM_HIDDEN void gmm_thread_fail_next(int n);

#endif /* GMM_UTIL_THREAD_H */
