/* thread.c: the threading shim of thread.h (POSIX threads, or Win32). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <stdlib.h>

#include "util/thread.h"

#if defined(_WIN32)
#  include <fenv.h>
#else
#  include <sched.h>
#  include <unistd.h>
#endif

/* Stack of a worker: the items use little stack (a few KB of block
 * buffers); 1 MB keeps the address space small when many threads start. */
#define GMM_THREAD_STACK ((size_t)1 << 20)

static atomic_int g_fail_next = 0;

void gmm_thread_fail_next(int n) { atomic_store(&g_fail_next, n); }

/* The test hook: nonzero if this creation is to fail. */
static int injected_failure(void)
{
  return atomic_load(&g_fail_next) > 0 && atomic_fetch_sub(&g_fail_next, 1) > 0;
}

typedef struct start_arg {
  gmm_thread_fn fn;
  void *arg;
#if defined(_WIN32)
  fenv_t fenv; /* the creating thread's floating-point environment */
#endif
} start_arg;

#if defined(_WIN32)

/* A POSIX thread starts with its creator's floating-point environment; a
 * Win32 thread starts with Windows' default one, whose x87 precision is 53
 * bits where mingw-w64's startup code sets 64. mingw-w64's exp and log use
 * x87 instructions, so a worker would round some results differently from
 * the calling thread, and results would depend on the number of threads.
 * Workers therefore take their creator's environment, as on POSIX. */
static DWORD WINAPI trampoline(LPVOID p)
{
  start_arg a = *(start_arg *)p;
  free(p);
  fesetenv(&a.fenv);
  a.fn(a.arg);
  return 0;
}

int gmm_thread_start(gmm_thread_fn fn, void *arg)
{
  start_arg *a;
  HANDLE h;
  if (injected_failure() || !(a = malloc(sizeof *a))) return 1;
  a->fn = fn;
  a->arg = arg;
  fegetenv(&a->fenv);
  h = CreateThread(NULL, GMM_THREAD_STACK, trampoline, a, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
  if (!h) {
    free(a);
    return 1;
  }
  CloseHandle(h);
  return 0;
}

void gmm_mutex_init(gmm_mutex *m) { InitializeSRWLock(m); }
void gmm_mutex_lock(gmm_mutex *m) { AcquireSRWLockExclusive(m); }
void gmm_mutex_unlock(gmm_mutex *m) { ReleaseSRWLockExclusive(m); }
void gmm_cond_init(gmm_cond *c) { InitializeConditionVariable(c); }
void gmm_cond_wait(gmm_cond *c, gmm_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
void gmm_cond_broadcast(gmm_cond *c) { WakeAllConditionVariable(c); }
void gmm_cpu_relax(void) { YieldProcessor(); }
void gmm_thread_yield(void) { SwitchToThread(); }
int gmm_current_cpu(void) { return -1; }
void gmm_thread_leave_cpu(int cpu) { (void)cpu; }

int gmm_cpu_count(void)
{
  DWORD_PTR proc = 0, sys = 0;
  int n = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &proc, &sys))
    for (; proc; proc &= proc - 1) ++n;
  if (n < 1) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    n = (int)si.dwNumberOfProcessors;
  }
  return n < 1 ? 1 : n;
}

void gmm_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
  (void)prepare;
  (void)parent;
  (void)child; /* no fork() on Windows */
}

#else

static void *trampoline(void *p)
{
  start_arg a = *(start_arg *)p;
  free(p);
  a.fn(a.arg);
  return NULL;
}

int gmm_thread_start(gmm_thread_fn fn, void *arg)
{
  pthread_attr_t attr;
  pthread_t t;
  start_arg *a;
  int err;
  if (injected_failure() || !(a = malloc(sizeof *a))) return 1;
  a->fn = fn;
  a->arg = arg;
  if (pthread_attr_init(&attr)) {
    free(a);
    return 1;
  }
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, GMM_THREAD_STACK);
  err = pthread_create(&t, &attr, trampoline, a);
  pthread_attr_destroy(&attr);
  if (err) free(a);
  return err != 0;
}

void gmm_mutex_init(gmm_mutex *m) { pthread_mutex_init(m, NULL); }
void gmm_mutex_lock(gmm_mutex *m) { pthread_mutex_lock(m); }
void gmm_mutex_unlock(gmm_mutex *m) { pthread_mutex_unlock(m); }
void gmm_cond_init(gmm_cond *c) { pthread_cond_init(c, NULL); }
void gmm_cond_wait(gmm_cond *c, gmm_mutex *m) { pthread_cond_wait(c, m); }
void gmm_cond_broadcast(gmm_cond *c) { pthread_cond_broadcast(c); }

void gmm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void gmm_thread_yield(void) { sched_yield(); }

int gmm_current_cpu(void)
{
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

void gmm_thread_leave_cpu(int cpu)
{
#if defined(__linux__)
  cpu_set_t set, other;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof set, &set) != 0 ||
      !CPU_ISSET(cpu, &set) || CPU_COUNT(&set) < 2)
    return;
  other = set;
  CPU_CLR(cpu, &other);
  if (sched_setaffinity(0, sizeof other, &other) == 0) sched_setaffinity(0, sizeof set, &set);
#else
  (void)cpu;
#endif
}

int gmm_cpu_count(void)
{
  long n = 0;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (int)n;
}

void gmm_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
  pthread_atfork(prepare, parent, child);
}

#endif
