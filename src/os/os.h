/* SPDX-License-Identifier: MIT */
/*
 * os.h - the operating-system layer: clocks, futexes, memory mappings,
 * threads and signals. Every function returns a result >= 0 or -errno and
 * retries EINTR, so no other file in libjuggle reads errno.
 */
#ifndef JG_OS_H
#define JG_OS_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic clock in nanoseconds. */
int64_t jg__os_now(void);

/* Block the thread until the monotonic clock reaches deadline (ns). */
void jg__os_sleep_until(int64_t deadline);

/* Give the CPU to another thread. */
void jg__os_yield(void);

/*
 * Wait while *word == expected, until deadline (absolute ns of the monotonic
 * clock, or -1 for none). Spurious returns are possible; callers loop.
 */
void jg__os_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                       int64_t deadline);

/* Wake up to n threads waiting on word. */
void jg__os_futex_wake(_Atomic uint32_t *word, int n);

/* Size of a memory page in bytes. */
size_t jg__os_page_size(void);

/* CPUs this process may run on (at least 1). */
int jg__os_ncpus(void);

/* vm.max_map_count, or 65530 when it cannot be read. */
long jg__os_max_map_count(void);

/*
 * Reserve len bytes of read-write memory that the kernel commits page by
 * page as it is touched (MAP_NORESERVE). Returns 0 and *out, or -errno.
 */
int jg__os_map(void **out, size_t len);

/* Undo jg__os_map() or jg__os_map_huge(). */
void jg__os_unmap(void *p, size_t len);

/*
 * Like jg__os_map(), aligned to 2 MiB and, with advise, advised to use
 * transparent huge pages where the kernel allows it: memory that is
 * touched through at a high rate (a million task handles) then costs one
 * fault per 2 MiB instead of one per 4 KiB page. len: a multiple of 2 MiB.
 */
int jg__os_map_huge(void **out, size_t len, bool advise);

/*
 * Make [p, p+len) a guard region: any access faults. Prefers
 * MADV_GUARD_INSTALL (no new mapping); with allow_mprotect, falls back to
 * mprotect(PROT_NONE), which splits the mapping. Returns 1 when guarded by
 * madvise, 2 when by mprotect, or -errno.
 */
int jg__os_guard(void *p, size_t len, int allow_mprotect);

/*
 * Placement of new threads and processes: "spread start".
 *
 * Linux often queues a new thread or child process on its creator's CPU,
 * where it waits behind the creator until load balancing moves it, a
 * scheduler tick or more later (1-2 ms measured on the project's 2-vCPU
 * machines, against 0.15 ms to wake the idle vCPU). So juggle picks the
 * CPU itself, for the first creations of a burst by one thread (each
 * within 0.5 ms of the last): on n allowed CPUs, the first 2n go round-
 * robin over them, starting with the one after the creator's own; the
 * rest (a flood of short threads) are left to the kernel, which keeps
 * them near the creator without a cross-CPU wake-up each. A placed
 * thread starts pinned to its CPU and widens its affinity back to the
 * creator's whole set as soon as it runs (jg__os_place_release), so from
 * then on the kernel balances it as usual. JG_SPREAD=0 in the environment turns the
 * placement off (the kernel alone places then).
 */
struct jg__place {
    int cpu;           /* The CPU to start on; -1: no placement. */
    cpu_set_t allowed; /* The creator's affinity, restored by the new one. */
    _Atomic int placed; /* Set by the creator once it pinned the new one. */
};

/* Pick the CPU for the next new thread or process (cpu -1 when off, when
 * the caller may use only one CPU, or when its affinity is unknown). */
void jg__os_place_pick(struct jg__place *pl);

/* Move process pid (just forked) to pl's CPU. The child must not widen
 * its affinity before this returned (process.c and pool_proc.c tell it so
 * their own way). */
void jg__os_place_pid(pid_t pid, struct jg__place *pl);

/* In a placed child process, once its parent pinned it: widen its
 * affinity back to pl->allowed. */
void jg__os_place_widen(const struct jg__place *pl);

/* In a thread started by jg__os_place_create(): wait until the creator
 * has pinned it (pl->placed), then widen its affinity back to
 * pl->allowed. pl must stay valid until this returns. */
void jg__os_place_release(struct jg__place *pl);

/* pthread_create with placement: start fn(arg), then pin the thread to
 * pl's CPU (best effort) and set pl->placed. fn must call
 * jg__os_place_release() before anything else. attr may be NULL. Returns
 * pthread_create's result (0 or a positive errno). */
int jg__os_place_create(pthread_t *out, pthread_attr_t *attr,
                        struct jg__place *pl, void *(*fn)(void *), void *arg);

/* Start a thread running fn(arg). Returns 0 and *out, or -errno. */
int jg__os_thread_start(pthread_t *out, void *(*fn)(void *), void *arg,
                        const char *name);

/* Wait for a thread started by jg__os_thread_start(). */
void jg__os_thread_join(pthread_t t);

/* Bounds of the calling thread's own stack. */
void jg__os_thread_stack(void **lo, size_t *size);

/* Write all of buf to fd, ignoring errors (for fatal messages). */
void jg__os_write_all(int fd, const void *buf, size_t len);

/* Create or truncate a file for writing (mode 0644, close-on-exec).
 * Returns the fd or -errno. */
int jg__os_file_create(const char *path);

/* Write all of buf to fd. Returns 0 or -errno (-EIO for a zero write). */
int jg__os_write_full(int fd, const void *buf, size_t len);

/* close(2). Returns 0 or -errno; EINTR counts as closed (Linux always
 * releases the fd); a negative fd is -EBADF without a system call. */
int jg__os_close(int fd);

/* The process id. */
int jg__os_getpid(void);

/* Install an alternate signal stack; the previous one goes to *old. */
int jg__os_altstack_push(void *mem, size_t size, stack_t *old);

/* Restore the alternate signal stack saved by jg__os_altstack_push(). */
void jg__os_altstack_pop(const stack_t *old);

#endif /* JG_OS_H */
