/* SPDX-License-Identifier: MIT */
/*
 * os_linux.c - the Linux implementation of os.h: thin wrappers over system
 * calls. Each returns a result >= 0 or -errno and retries EINTR, so no other
 * file in libjuggle looks at errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os/os.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13, include/uapi/asm-generic/mman-common.h */
#endif

int64_t jg__os_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec to_timespec(int64_t ns) {
    struct timespec ts = {.tv_sec = ns / 1000000000,
                          .tv_nsec = ns % 1000000000};
    return ts;
}

void jg__os_sleep_until(int64_t deadline) {
    struct timespec ts = to_timespec(deadline);
    /* clock_nanosleep returns the error instead of setting errno. */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
    }
}

void jg__os_yield(void) {
    sched_yield();
}

void jg__os_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                       int64_t deadline) {
    struct timespec ts, *tsp = NULL;
    int op = FUTEX_WAIT_PRIVATE;
    if (deadline >= 0) {
        /* FUTEX_WAIT_BITSET takes an absolute time; FUTEX_WAIT a relative. */
        ts = to_timespec(deadline);
        tsp = &ts;
        op = FUTEX_WAIT_BITSET_PRIVATE;
    }
    /* EAGAIN (value changed), EINTR and ETIMEDOUT all mean "look again". */
    syscall(SYS_futex, word, op, expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
}

void jg__os_futex_wake(_Atomic uint32_t *word, int n) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

size_t jg__os_page_size(void) {
    static size_t page;
    if (page == 0) {
        page = (size_t)sysconf(_SC_PAGESIZE);
    }
    return page;
}

int jg__os_ncpus(void) {
    /* The CPUs this process may run on (cgroup cpuset, taskset). The
     * kernel wants a mask at least as big as its possible CPUs: grow it
     * past 1024 (cpu_set_t) while it says EINVAL, rather than fall back
     * to every online CPU of a big host. */
    for (int max = CPU_SETSIZE; max <= (1 << 20); max *= 2) {
        cpu_set_t *set = CPU_ALLOC(max);
        if (set == NULL) {
            break;
        }
        size_t size = CPU_ALLOC_SIZE(max);
        CPU_ZERO_S(size, set);
        int rc = sched_getaffinity(0, size, set);
        int err = errno;
        int n = rc == 0 ? CPU_COUNT_S(size, set) : 0;
        CPU_FREE(set);
        if (n > 0) {
            return n;
        }
        if (rc == 0 || err != EINVAL) {
            break;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

long jg__os_max_map_count(void) {
    /* Read once: a sysctl that changes under a running program may be
     * seen late, which only moves where guard pages stop. */
    static _Atomic long known;
    long value = atomic_load_explicit(&known, memory_order_relaxed);
    if (value > 0) {
        return value;
    }
    value = 65530; /* The kernel's default, DEFAULT_MAX_MAP_COUNT. */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f != NULL) {
        if (fscanf(f, "%ld", &value) != 1 || value <= 0) {
            value = 65530;
        }
        fclose(f);
    }
    atomic_store_explicit(&known, value, memory_order_relaxed);
    return value;
}

int jg__os_map(void **out, size_t len) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    *out = p;
    return 0;
}

void jg__os_unmap(void *p, size_t len) {
    munmap(p, len);
}

int jg__os_map_huge(void **out, size_t len, bool advise) {
    const size_t huge = (size_t)2 << 20;
    /* Map one huge page more and trim, to start on a huge-page boundary. */
    char *p = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    char *start = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (start > p) {
        munmap(p, (size_t)(start - p));
    }
    size_t tail = (size_t)(p + len + huge - (start + len));
    if (tail > 0) {
        munmap(start + len, tail);
    }
    if (advise) {
        /* Best effort: without transparent huge pages, a plain mapping. */
        (void)madvise(start, len, MADV_HUGEPAGE);
    }
    *out = start;
    return 0;
}

int jg__os_guard(void *p, size_t len, int allow_mprotect) {
    if (madvise(p, len, MADV_GUARD_INSTALL) == 0) {
        return 1;
    }
    if (!allow_mprotect) {
        return -errno;
    }
    if (mprotect(p, len, PROT_NONE) == 0) {
        return 2;
    }
    return -errno;
}

/* What a thread started by jg__os_thread_start() needs before fn. */
struct start {
    void *(*fn)(void *);
    void *arg;
    struct jg__place place;
    char name[16]; /* The kernel's TASK_COMM_LEN; "" for none. */
};

static void *thread_entry(void *x) {
    /* Before the copy: the creator still writes `placed` into *x. */
    jg__os_place_release(&((struct start *)x)->place);
    struct start st = *(struct start *)x;
    free(x);
    if (st.name[0] != '\0') {
        /* Named by the thread itself: one prctl. From the creator,
         * pthread_setname_np opens and writes /proc/self/task/N/comm,
         * which cost a fifth of an empty two-worker jg_run. */
        prctl(PR_SET_NAME, st.name, 0, 0, 0);
    }
    return st.fn(st.arg);
}

int jg__os_thread_start(pthread_t *out, void *(*fn)(void *), void *arg,
                        const char *name) {
    struct start *st = malloc(sizeof(*st));
    if (st == NULL) {
        return -ENOMEM;
    }
    st->fn = fn;
    st->arg = arg;
    snprintf(st->name, sizeof(st->name), "%s", name != NULL ? name : "");
    jg__os_place_pick(&st->place);
    int rc = jg__os_place_create(out, NULL, &st->place, thread_entry, st);
    if (rc != 0) {
        free(st);
        return -rc;
    }
    return 0;
}

void jg__os_thread_join(pthread_t t) {
    pthread_join(t, NULL);
}

void jg__os_thread_stack(void **lo, size_t *size) {
    /* A thread's stack never moves, and finding the main thread's makes
     * glibc read /proc/self/maps: once per thread is enough. */
    static __thread void *known_lo;
    static __thread size_t known_size;
    if (known_size == 0) {
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &known_lo, &known_size);
            pthread_attr_destroy(&attr);
        }
    }
    *lo = known_lo;
    *size = known_size;
}

void jg__os_write_all(int fd, const void *buf, size_t len) {
    (void)jg__os_write_full(fd, buf, len);
}

int jg__os_file_create(const char *path) {
    int fd;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int jg__os_write_full(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            return -EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int jg__os_close(int fd) {
    if (fd < 0) {
        return -EBADF;
    }
    if (close(fd) == 0 || errno == EINTR) {
        return 0;
    }
    return -errno;
}

int jg__os_getpid(void) {
    return (int)getpid();
}

int jg__os_altstack_push(void *mem, size_t size, stack_t *old) {
    stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, old) != 0) {
        return -errno;
    }
    return 0;
}

void jg__os_altstack_pop(const stack_t *old) {
    stack_t ss = *old;
    if (ss.ss_flags & SS_ONSTACK) {
        return;
    }
    if (ss.ss_sp == NULL) {
        ss.ss_flags = SS_DISABLE;
    }
    sigaltstack(&ss, NULL);
}
