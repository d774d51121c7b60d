/* SPDX-License-Identifier: MIT */
/*
 * test_io.c - task-aware socket I/O over socket pairs and loopback TCP:
 * the poller in use, echo, partial reads and writes, peer close, refused
 * connections, deadlines, cancellation, jg_close waking a waiter, calls
 * from outside the runtime. Run once per poller (tests/CMakeLists.txt).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "io_helpers.h"

/* ---- the poller ---- */

static void *info_main(void *arg) {
    (void)arg;
    check_poller();
    jg_runtime_info info;
    cr_assert_eq(jg_runtime_info_get(&info), 0);
    cr_assert_eq(info.workers, 2);
    cr_assert_eq(info.blocking_threads, 5);
    cr_assert_eq(jg_runtime_info_get(NULL), -EINVAL);
    return NULL;
}

/* Linux 6.1 or later (io_uring's deferred task work). */
static bool kernel_6_1(void) {
    struct utsname u;
    int major = 0, minor = 0;
    cr_assert_eq(uname(&u), 0);
    sscanf(u.release, "%d.%d", &major, &minor);
    return major > 6 || (major == 6 && minor >= 1);
}

/* Socket requests: io_uring with one worker only, unless turned off. */
static void *sockreq_main(void *arg) {
    int want = *(int *)arg;
    jg_runtime_info info;
    cr_assert_eq(jg_runtime_info_get(&info), 0);
    cr_assert_eq(info.socket_requests, want, "poller %s, %d workers",
                 info.poller, info.workers);
    return NULL;
}

Test(io, socket_requests_run_with_io_uring_and_one_worker_only) {
    const char *p = getenv("JG_POLLER");
    bool uring = p != NULL && strcmp(p, "uring") == 0;
    int want = uring && kernel_6_1();
    run_on(sockreq_main, &want, 1);
    want = 0;
    run_on(sockreq_main, &want, 2);
    cr_assert_eq(setenv("JG_URING_SOCK", "0", 1), 0);
    run_on(sockreq_main, &want, 1);
}

Test(io, runtime_info_names_the_forced_poller) {
    jg_runtime_info info;
    cr_assert_eq(jg_runtime_info_get(&info), -ESRCH);
    run_opts(info_main, NULL,
             (jg_run_opts){.workers = 2, .blocking_threads = 5});
    jg_run_opts bad = {.blocking_threads = -1};
    cr_assert_eq(jg_run(info_main, NULL, &bad, NULL), -EINVAL);
}

/* ---- echo and partial transfers ---- */

struct big {
    int fd;
    size_t len;
    unsigned char *buf;
    int partial; /* Calls that moved fewer bytes than asked. */
};

static void *big_writer(void *arg) {
    struct big *b = arg;
    size_t done = 0;
    while (done < b->len) {
        ssize_t k = jg_write(b->fd, b->buf + done, b->len - done,
                             JG_FOREVER);
        cr_assert_gt(k, 0, "write: %s", jg_strerror((int)k));
        if ((size_t)k < b->len - done) {
            b->partial++;
        }
        done += (size_t)k;
    }
    cr_assert_eq(jg_close(b->fd), 0);
    return NULL;
}

static void *big_reader(void *arg) {
    struct big *b = arg;
    size_t done = 0;
    unsigned char chunk[1000];
    for (;;) {
        ssize_t k = jg_read(b->fd, chunk, sizeof(chunk), JG_FOREVER);
        cr_assert_geq(k, 0, "read: %s", jg_strerror((int)k));
        if (k == 0) {
            break;
        }
        cr_assert_leq(done + (size_t)k, b->len);
        cr_assert_eq(memcmp(chunk, b->buf + done, (size_t)k), 0,
                     "corrupt at %zu", done);
        done += (size_t)k;
    }
    cr_assert_eq(done, b->len);
    jg_close(b->fd);
    return NULL;
}

static void *partial_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    stream_pair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct big w = {.fd = sv[0], .len = 4 << 20}, r;
    w.buf = malloc(w.len);
    for (size_t i = 0; i < w.len; i++) {
        w.buf[i] = (unsigned char)(i * 7 + (i >> 12));
    }
    r = w;
    r.fd = sv[1];
    jg_task *t[2];
    jg_spawn(&t[0], big_writer, &w, NULL);
    jg_spawn(&t[1], big_reader, &r, NULL);
    jg_gather(t, 2, NULL);
    cr_assert_gt(w.partial, 0, "no partial write with a 4 KiB buffer");
    free(w.buf);
    return NULL;
}

Test(io, partial_reads_and_writes_move_every_byte_in_order) {
    run_on(partial_main, NULL, 1);
    run_on(partial_main, NULL, 2);
}

static void *readv_main(void *arg) {
    (void)arg;
    int sv[2];
    stream_pair(sv);
    char a[3] = "abc", b[4] = "defg";
    struct iovec out[2] = {{a, 3}, {b, 4}};
    cr_assert_eq(jg_writev(sv[0], out, 2, JG_FOREVER), 7);
    char x[2], y[10];
    struct iovec in[2] = {{x, 2}, {y, 10}};
    cr_assert_eq(jg_readv(sv[1], in, 2, JG_FOREVER), 7);
    cr_assert_eq(memcmp(x, "ab", 2), 0);
    cr_assert_eq(memcmp(y, "cdefg", 5), 0);
    cr_assert_eq(jg_readv(sv[1], in, 0, JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_writev(sv[1], NULL, 1, JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_read(sv[1], NULL, 5, JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_read(-1, x, 1, JG_FOREVER), -EBADF);
    cr_assert_eq(jg_read(sv[1], x, 1, -5), -EINVAL);
    cr_assert_eq(jg_wait_fd(sv[1], 0, JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_wait_fd(sv[1], 8, JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_wait_fd(sv[0], JG_WRITABLE, JG_FOREVER), JG_WRITABLE);
    jg_close(sv[0]);
    jg_close(sv[1]);
    return NULL;
}

Test(io, vectored_io_and_bad_arguments) {
    run_on(readv_main, NULL, 1);
}

/* ---- peer close, refused connections ---- */

static void *peer_close_main(void *arg) {
    (void)arg;
    check_poller();
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr, 16);
    int c = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(jg_connect(c, (struct sockaddr *)&addr, sizeof(addr),
                            JG_FOREVER), 0);
    int s = jg_accept(lfd, NULL, NULL, JG_FOREVER);
    cr_assert_geq(s, 0, "accept: %s", jg_strerror(s));
    int fl = fcntl(s, F_GETFL);
    cr_assert(fl & O_NONBLOCK);
    cr_assert(fcntl(s, F_GETFD) & FD_CLOEXEC);
    cr_assert_eq(jg_write(c, "hi", 2, JG_FOREVER), 2);
    char buf[8];
    cr_assert_eq(jg_read(s, buf, sizeof(buf), JG_FOREVER), 2);
    cr_assert_eq(jg_close(c), 0);
    cr_assert_eq(jg_read(s, buf, sizeof(buf), JG_FOREVER), 0, "no EOF");
    /* Writing to a closed peer: the first write may still be taken by
     * the kernel; then -EPIPE or -ECONNRESET, never SIGPIPE. */
    ssize_t k = 0;
    for (int i = 0; i < 100 && k >= 0; i++) {
        k = jg_write(s, "x", 1, JG_FOREVER);
        if (k >= 0) {
            jg_sleep(JG_MS(1));
        }
    }
    cr_assert(k == -EPIPE || k == -ECONNRESET, "write: %s",
              jg_strerror((int)k));
    jg_close(s);
    /* Refused: nobody listens any more on that port. */
    cr_assert_eq(jg_close(lfd), 0);
    c = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(jg_connect(c, (struct sockaddr *)&addr, sizeof(addr),
                            JG_FOREVER), -ECONNREFUSED);
    jg_close(c);
    cr_assert_eq(jg_close(-1), -EBADF);
    return NULL;
}

Test(io, peer_close_gives_eof_epipe_and_refused_connects) {
    run_on(peer_close_main, NULL, 2);
}

/* ---- deadlines ---- */

static void *deadline_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    stream_pair(sv);
    char c;
    cr_assert_eq(jg_read(sv[0], &c, 1, jg_now() + JG_MS(20)), -ETIMEDOUT);
    cr_assert_eq(jg_read(sv[0], &c, 1, jg_now() - 1), -ETIMEDOUT);
    cr_assert_eq(jg_wait_fd(sv[0], JG_READABLE, jg_now() + JG_MS(20)),
                 -ETIMEDOUT);
    /* A past deadline still lets a ready call succeed. */
    cr_assert_eq(jg_write(sv[1], "a", 1, jg_now() - 1), 1);
    cr_assert_eq(jg_wait_fd(sv[0], JG_READABLE, jg_now() - 1), JG_READABLE);
    cr_assert_eq(jg_read(sv[0], &c, 1, jg_now() - 1), 1);
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr, 0);
    cr_assert_eq(jg_accept(lfd, NULL, NULL, jg_now() + JG_MS(20)),
                 -ETIMEDOUT);
    /* Fill the accept queue (backlog 0 holds one); the kernel then drops
     * further SYNs, so a connect hangs until its deadline. */
    int held[8], nheld = 0, rc = 0;
    for (; nheld < 8; nheld++) {
        held[nheld] = jg_socket(AF_INET, SOCK_STREAM, 0);
        rc = jg_connect(held[nheld], (struct sockaddr *)&addr, sizeof(addr),
                        jg_now() + JG_MS(200));
        if (rc < 0) {
            nheld++;
            break;
        }
    }
    cr_assert_eq(rc, -ETIMEDOUT, "connect: %s", jg_strerror(rc));
    for (int i = 0; i < nheld; i++) {
        jg_close(held[i]);
    }
    jg_close(lfd);
    jg_close(sv[0]);
    jg_close(sv[1]);
    return NULL;
}

Test(io, deadlines_expire_in_read_wait_accept_and_connect) {
    run_on(deadline_main, NULL, 1);
    run_on(deadline_main, NULL, 2);
}

/* ---- cancellation and jg_close ---- */

struct blocked {
    int fd;
    int accept; /* 1: jg_accept, else jg_read. */
    _Atomic int started;
    int rc;
};

static void *blocker(void *arg) {
    struct blocked *b = arg;
    atomic_store(&b->started, 1);
    char c;
    b->rc = b->accept ? jg_accept(b->fd, NULL, NULL, JG_FOREVER)
                      : (int)jg_read(b->fd, &c, 1, JG_FOREVER);
    return NULL;
}

/* Start a blocker and let it block (if it has not blocked yet when the
 * cancel or close comes, the outcome is the same, checked the same). */
static jg_task *start_blocker(struct blocked *b) {
    jg_task *t;
    cr_assert_eq(jg_spawn(&t, blocker, b, NULL), 0);
    while (!atomic_load(&b->started)) {
        jg_yield();
    }
    jg_sleep(JG_MS(10));
    return t;
}

static void *cancel_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    stream_pair(sv);
    struct blocked rd = {.fd = sv[0]};
    jg_task *t = start_blocker(&rd);
    cr_assert_eq(jg_cancel(t), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(rd.rc, -ECANCELED);
    /* The fd still works afterwards. */
    cr_assert_eq(jg_write(sv[1], "z", 1, JG_FOREVER), 1);
    char c;
    cr_assert_eq(jg_read(sv[0], &c, 1, JG_FOREVER), 1);

    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr, 16);
    struct blocked ac = {.fd = lfd, .accept = 1};
    t = start_blocker(&ac);
    cr_assert_eq(jg_cancel(t), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(ac.rc, -ECANCELED);

    /* jg_close wakes a reader with -EBADF. */
    struct blocked cl = {.fd = sv[0]};
    t = start_blocker(&cl);
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(cl.rc, -EBADF, "read: %s", jg_strerror(cl.rc));
    /* And an accepter. */
    struct blocked cl2 = {.fd = lfd, .accept = 1};
    t = start_blocker(&cl2);
    cr_assert_eq(jg_close(lfd), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(cl2.rc, -EBADF, "accept: %s", jg_strerror(cl2.rc));
    jg_close(sv[1]);
    return NULL;
}

Test(io, cancel_and_close_wake_blocked_read_and_accept) {
    run_on(cancel_main, NULL, 1);
    run_on(cancel_main, NULL, 2);
}

static void *busy_main(void *arg) {
    (void)arg;
    int sv[2];
    stream_pair(sv);
    struct blocked rd = {.fd = sv[0]};
    jg_task *t = start_blocker(&rd);
    char c;
    /* A second reader of the same fd is refused while the first waits. */
    cr_assert_eq(jg_read(sv[0], &c, 1, JG_FOREVER), -EBUSY);
    cr_assert_eq(jg_write(sv[1], "q", 1, JG_FOREVER), 1);
    jg_join(t, NULL);
    cr_assert_eq(rd.rc, 1);
    jg_close(sv[0]);
    jg_close(sv[1]);
    return NULL;
}

Test(io, second_reader_of_an_fd_gets_ebusy) {
    run_on(busy_main, NULL, 1);
}

/* ---- outside the runtime ---- */

struct outside {
    int fd;
    int rc;
};

static void *outside_peer(void *arg) {
    struct outside *o = arg;
    char buf[4];
    o->rc = (int)read_all(o->fd, buf, 4, JG_FOREVER);
    if (o->rc == 4) {
        o->rc = (int)write_all(o->fd, buf, 4, JG_FOREVER);
    }
    return NULL;
}

Test(io, calls_outside_the_runtime_block_the_thread) {
    int sv[2];
    stream_pair(sv);
    char c;
    cr_assert_eq(jg_read(sv[0], &c, 1, jg_now() + JG_MS(20)), -ETIMEDOUT);
    cr_assert_eq(jg_wait_fd(sv[0], JG_READABLE, jg_now() + JG_MS(20)),
                 -ETIMEDOUT);
    cr_assert_eq(jg_wait_fd(sv[0], JG_WRITABLE, JG_FOREVER), JG_WRITABLE);
    struct outside o = {.fd = sv[1]};
    pthread_t th;
    pthread_create(&th, NULL, outside_peer, &o);
    cr_assert_eq(write_all(sv[0], "ping", 4, JG_FOREVER), 4);
    char buf[4];
    cr_assert_eq(read_all(sv[0], buf, 4, jg_now() + JG_SEC(30)), 4);
    cr_assert_eq(memcmp(buf, "ping", 4), 0);
    pthread_join(th, NULL);
    cr_assert_eq(o.rc, 4);
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr, 4);
    cr_assert_eq(jg_accept(lfd, NULL, NULL, jg_now() + JG_MS(20)),
                 -ETIMEDOUT);
    int cfd = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(jg_connect(cfd, (struct sockaddr *)&addr, sizeof(addr),
                            jg_now() + JG_SEC(30)), 0);
    int s = jg_accept(lfd, NULL, NULL, JG_FOREVER);
    cr_assert_geq(s, 0);
    cr_assert_eq(jg_close(cfd), 0);
    cr_assert_eq(jg_read(s, buf, 4, JG_FOREVER), 0);
    jg_close(s);
    jg_close(lfd);
    jg_close(sv[0]);
    jg_close(sv[1]);
}
