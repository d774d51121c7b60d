/* SPDX-License-Identifier: MIT */
/*
 * test_io_more.c - regular files (io_uring or the blocking pool),
 * jg_blocking, fd exhaustion in an accept loop, 10,000 concurrent
 * connections, a ping-pong stress, and timeouts and cancels racing with
 * arriving data. Run once per poller
 * (tests/CMakeLists.txt).
 */
#include <semaphore.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <pthread.h>

#include "io/reactor.h"
#include "io_helpers.h"

/* ---- regular files ---- */

static void *file_main(void *arg) {
    (void)arg;
    check_poller();
    char path[] = "/tmp/juggle-io-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    size_t len = 1 << 20;
    unsigned char *buf = malloc(len), *back = malloc(len);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (unsigned char)(i * 13);
    }
    cr_assert_eq(write_all(fd, buf, len, JG_FOREVER), (ssize_t)len);
    struct iovec iov[2] = {{buf, 10}, {buf + 10, 20}};
    cr_assert_eq(jg_writev(fd, iov, 2, JG_FOREVER), 30);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    cr_assert_eq(read_all(fd, back, len, JG_FOREVER), (ssize_t)len);
    cr_assert_eq(memcmp(buf, back, len), 0);
    char tail[64];
    struct iovec in[1] = {{tail, sizeof(tail)}};
    cr_assert_eq(jg_readv(fd, in, 1, JG_FOREVER), 30);
    cr_assert_eq(memcmp(tail, buf, 30), 0);
    cr_assert_eq(jg_read(fd, tail, sizeof(tail), JG_FOREVER), 0, "EOF");
    cr_assert_eq(jg_wait_fd(fd, JG_READABLE, JG_FOREVER), JG_READABLE);
    /* Cancellation and the deadline are checked before the I/O. */
    cr_assert_eq(jg_read(fd, tail, 1, jg_now() - 1), -ETIMEDOUT);
    cr_assert_eq(jg_cancel(jg_self()), 0);
    cr_assert_eq(jg_read(fd, tail, 1, JG_FOREVER), -ECANCELED);
    cr_assert_eq(jg_close(fd), 0);
    cr_assert_eq(jg_read(fd, tail, 1, JG_FOREVER), -EBADF);
    free(buf);
    free(back);
    return NULL;
}

Test(io_more, regular_files_read_and_write_in_tasks) {
    run_on(file_main, NULL, 1);
    run_on(file_main, NULL, 2);
}

/* ---- jg_blocking ---- */

static void *wait_sem(void *arg) {
    sem_wait(arg); /* Blocks its thread until a task posts. */
    return (void *)42;
}

struct poster {
    sem_t *sem;
    int ticks;
};

static void *poster(void *arg) {
    struct poster *p = arg;
    /* These run while the other task's function blocks its pool thread:
     * on one worker, they could not if the worker were blocked. */
    for (int i = 0; i < 100; i++) {
        p->ticks++;
        jg_yield();
    }
    sem_post(p->sem);
    return NULL;
}

static void *blocking_main(void *arg) {
    (void)arg;
    check_poller();
    sem_t sem;
    sem_init(&sem, 0, 0);
    struct poster p = {&sem, 0};
    jg_task *t;
    jg_spawn(&t, poster, &p, NULL);
    void *res = NULL;
    cr_assert_eq(jg_blocking(wait_sem, &sem, &res), 0);
    cr_assert_eq(res, (void *)42);
    cr_assert_eq(p.ticks, 100);
    jg_join(t, NULL);
    cr_assert_eq(jg_blocking(NULL, NULL, NULL), -EINVAL);
    /* Many at once, more than the pool has threads. */
    sem_destroy(&sem);
    return NULL;
}

static void *ident(void *arg) {
    return arg;
}

static void *many_blocking(void *arg) {
    void *res = NULL;
    cr_assert_eq(jg_blocking(ident, arg, &res), 0);
    cr_assert_eq(res, arg);
    return NULL;
}

static void *blocking_many_main(void *arg) {
    (void)arg;
    jg_task *t[200];
    for (intptr_t i = 0; i < 200; i++) {
        jg_spawn(&t[i], many_blocking, (void *)(i + 1), NULL);
    }
    jg_gather(t, 200, NULL);
    return NULL;
}

Test(io_more, blocking_pool_leaves_the_worker_free) {
    run_on(blocking_main, NULL, 1);
    run_opts(blocking_many_main, NULL,
             (jg_run_opts){.workers = 2, .blocking_threads = 3});
    void *res = NULL;
    cr_assert_eq(jg_blocking(ident, (void *)7, &res), 0, "outside");
    cr_assert_eq(res, (void *)7);
}

/* ---- fd exhaustion ---- */

#define EMFILE_CONNS 60

static void client_connects(struct sockaddr_in addr, int n) {
    int fds[EMFILE_CONNS];
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            write(fds[i], "x", 1) != 1) {
            _exit(2);
        }
    }
    for (int i = 0; i < n; i++) {
        char c;
        if (read(fds[i], &c, 1) != 0) { /* Until the server closes it. */
            _exit(3);
        }
        close(fds[i]);
    }
    _exit(0);
}

struct emfile {
    int lfd;
    int served, emfile, calls;
};

static void *emfile_main(void *arg) {
    struct emfile *e = arg;
    check_poller();
    int held[EMFILE_CONNS], nheld = 0;
    while (e->served < EMFILE_CONNS) {
        e->calls++;
        int fd = jg_accept(e->lfd, NULL, NULL, jg_now() + JG_SEC(60));
        if (fd == -EMFILE) {
            /* The server's answer to exhaustion: free some, back off. */
            e->emfile++;
            for (int i = 0; i < nheld; i++) {
                jg_close(held[i]);
            }
            nheld = 0;
            jg_sleep(JG_MS(1));
            continue;
        }
        cr_assert_geq(fd, 0, "accept: %s", jg_strerror(fd));
        char c;
        cr_assert_eq(jg_read(fd, &c, 1, JG_FOREVER), 1);
        held[nheld++] = fd;
        e->served++;
    }
    for (int i = 0; i < nheld; i++) {
        jg_close(held[i]);
    }
    return NULL;
}

Test(io_more, accept_survives_fd_exhaustion_without_spinning) {
    struct sockaddr_in addr;
    struct emfile e = {0};
    e.lfd = listen_loopback(&addr, 128);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        client_connects(addr, EMFILE_CONNS);
    }
    /* Room for the runtime's own fds and about 20 connections. */
    int probe = dup(0);
    close(probe);
    struct rlimit old, rl;
    getrlimit(RLIMIT_NOFILE, &old);
    rl = old;
    rl.rlim_cur = (rlim_t)probe + 24;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    run_on(emfile_main, &e, 1);
    setrlimit(RLIMIT_NOFILE, &old);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client %x",
              status);
    cr_assert_eq(e.served, EMFILE_CONNS);
    cr_assert_gt(e.emfile, 0, "never ran out of fds");
    /* Each EMFILE frees every held fd, so it cannot repeat back to back
     * many times: no busy loop. */
    cr_assert_leq(e.emfile, EMFILE_CONNS, "%d EMFILEs", e.emfile);
    close(e.lfd);
}

/* ---- 10,000 concurrent connections ---- */

static int nconns(void) {
    return (int)stress(10000);
}

static void *echo_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        ssize_t n = jg_read(fd, buf, sizeof(buf), JG_FOREVER);
        cr_assert_geq(n, 0, "server read: %s", jg_strerror((int)n));
        if (n == 0) {
            break;
        }
        cr_assert_eq(write_all(fd, buf, (size_t)n, JG_FOREVER), n);
    }
    jg_close(fd);
    return NULL;
}

static void *server_main(void *arg) {
    int lfd = *(int *)arg;
    check_poller();
    for (int i = 0; i < nconns(); i++) {
        int fd = jg_accept(lfd, NULL, NULL, JG_FOREVER);
        cr_assert_geq(fd, 0, "accept: %s", jg_strerror(fd));
        cr_assert_eq(jg_spawn(NULL, echo_conn, (void *)(intptr_t)fd, NULL),
                     0);
    }
    jg_close(lfd);
    return NULL;
}

struct cconn {
    int fd;
    int id;
};

static void *client_conn(void *arg) {
    struct cconn *c = arg;
    char msg[64], back[64];
    int len = snprintf(msg, sizeof(msg), "hello from %d", c->id);
    for (int round = 0; round < 2; round++) {
        if (write_all(c->fd, msg, (size_t)len, JG_FOREVER) != len ||
            read_all(c->fd, back, (size_t)len, JG_FOREVER) != len ||
            memcmp(msg, back, (size_t)len) != 0) {
            _exit(4);
        }
    }
    jg_close(c->fd);
    return NULL;
}

static void *client_main(void *arg) {
    struct sockaddr_in *addr = arg;
    int n = nconns();
    struct cconn *cs = calloc((size_t)n, sizeof(*cs));
    /* Open them all first: every connection is open at once. */
    for (int i = 0; i < n; i++) {
        cs[i].id = i;
        cs[i].fd = jg_socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd < 0 ||
            jg_connect(cs[i].fd, (struct sockaddr *)addr, sizeof(*addr),
                       JG_FOREVER) != 0) {
            _exit(5);
        }
    }
    for (int i = 0; i < n; i++) {
        if (jg_spawn(NULL, client_conn, &cs[i], NULL) != 0) {
            _exit(6);
        }
    }
    return cs;
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

Test(io_more, ten_thousand_concurrent_connections_echo) {
    raise_fd_limit();
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr, 4096);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        void *cs = NULL;
        jg_run_opts o = {.workers = 1};
        if (jg_run(client_main, &addr, &o, &cs) != 0) {
            _exit(7);
        }
        free(cs);
        _exit(0);
    }
    run_on(server_main, &lfd, 2);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "client status %x", status);
}

/* ---- stress: ping-pong over socket pairs, on one and two workers ---- */

struct pp {
    int fd;
    int rounds;
    int serve;
};

static void *pinger(void *arg) {
    struct pp *p = arg;
    uint32_t v = 0;
    for (int i = 0; i < p->rounds; i++) {
        if (p->serve) {
            cr_assert_eq(read_all(p->fd, &v, 4, JG_FOREVER), 4);
            v++;
            cr_assert_eq(write_all(p->fd, &v, 4, JG_FOREVER), 4);
        } else {
            cr_assert_eq(write_all(p->fd, &v, 4, JG_FOREVER), 4);
            cr_assert_eq(read_all(p->fd, &v, 4, JG_FOREVER), 4);
            cr_assert_eq(v, (uint32_t)i + 1);
        }
        if ((i & 7) == 0) {
            jg_yield(); /* Stir the interleaving. */
        }
    }
    jg_close(p->fd);
    return NULL;
}

static void *pingpong_main(void *arg) {
    (void)arg;
    check_poller();
    enum { PAIRS = 64 };
    static struct pp ps[2 * PAIRS];
    jg_task *t[2 * PAIRS];
    int rounds = (int)stress(2000);
    for (int i = 0; i < PAIRS; i++) {
        int sv[2];
        stream_pair(sv);
        ps[2 * i] = (struct pp){sv[0], rounds, 0};
        ps[2 * i + 1] = (struct pp){sv[1], rounds, 1};
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        jg_spawn(&t[i], pinger, &ps[i], NULL);
    }
    jg_gather(t, 2 * PAIRS, NULL);
    return NULL;
}

Test(io_more, stress_ping_pong_on_one_and_two_workers) {
    /* One worker: under io_uring, socket data moves through requests. */
    run_on(pingpong_main, NULL, 1);
    run_on(pingpong_main, NULL, 2);
}

/* ---- stress: timeouts and cancels racing with arriving data ---- */

/*
 * A thread writes a numbered byte stream in random chunks at random
 * moments; a task reads it with short random deadlines while another
 * task cancels it at random moments. Every timeout and cancel races with
 * data coming in (under io_uring with one worker, with a receive request
 * that may have taken the data already): whatever the outcome, no byte
 * may be lost, doubled or reordered.
 */
struct racing {
    int fd[2];
    long len;
    jg_task *reader;
    _Atomic int done;
    long timeouts, cancels;
};

static unsigned char stream_byte(long i) {
    return (unsigned char)((i * 31 + 7) % 251);
}

static void *racing_writer(void *arg) {
    struct racing *r = arg;
    uint32_t seed = 12345;
    unsigned char chunk[64];
    for (long off = 0; off < r->len;) {
        long n = 1 + (long)(rnd(&seed) % sizeof(chunk));
        if (n > r->len - off) {
            n = r->len - off;
        }
        for (long i = 0; i < n; i++) {
            chunk[i] = stream_byte(off + i);
        }
        /* Outside the runtime: the blocking call. */
        cr_assert_eq(write_all(r->fd[1], chunk, (size_t)n, JG_FOREVER), n);
        off += n;
        struct timespec ts = {0, (long)(rnd(&seed) % 150) * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *racing_reader(void *arg) {
    struct racing *r = arg;
    uint32_t seed = 777;
    unsigned char buf[64];
    long got = 0;
    while (got < r->len) {
        size_t want = 1 + rnd(&seed) % sizeof(buf);
        int64_t deadline = jg_now() + (int64_t)(rnd(&seed) % 200) * 1000;
        ssize_t n = jg_read(r->fd[0], buf, want, deadline);
        if (n == -ETIMEDOUT) {
            r->timeouts++;
            continue;
        }
        if (n == -ECANCELED) {
            r->cancels++;
            continue;
        }
        cr_assert_gt(n, 0, "read: %s", jg_strerror((int)n));
        for (ssize_t i = 0; i < n; i++) {
            cr_assert_eq(buf[i], stream_byte(got + i),
                         "byte %ld lost, doubled or moved", got + i);
        }
        got += n;
    }
    atomic_store(&r->done, 1);
    return NULL;
}

static void *racing_canceller(void *arg) {
    struct racing *r = arg;
    uint32_t seed = 4242;
    while (!atomic_load(&r->done)) {
        jg_cancel(r->reader);
        jg_sleep((int64_t)(rnd(&seed) % 300) * 1000);
    }
    return NULL;
}

static void *racing_main(void *arg) {
    (void)arg;
    check_poller();
    struct racing r = {.len = stress(100000)};
    stream_pair(r.fd);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, racing_writer, &r), 0);
    jg_task *c;
    cr_assert_eq(jg_spawn(&r.reader, racing_reader, &r, NULL), 0);
    cr_assert_eq(jg_spawn(&c, racing_canceller, &r, NULL), 0);
    cr_assert_eq(jg_join(r.reader, NULL), 0);
    cr_assert_eq(jg_join(c, NULL), 0);
    pthread_join(th, NULL);
    /* Both races happened, or the test proved nothing. */
    cr_assert_gt(r.timeouts, 0);
    cr_assert_gt(r.cancels, 0);
    jg_close(r.fd[0]);
    jg_close(r.fd[1]);
    return NULL;
}

Test(io_more, timeouts_and_cancels_racing_with_data_lose_no_byte) {
    run_on(racing_main, NULL, 1);
    run_on(racing_main, NULL, 2);
}

/* ---- closing a socket that a reader waits on, at random moments ---- */

/*
 * A task reads a socket (under io_uring with one worker: a receive request
 * in flight) while main writes to its peer and closes it at a random
 * moment. The reader must end with -EBADF, after any data that came
 * before, and the socket must really close: the peer's write then fails
 * (a request still holding the file would keep it open).
 */
struct closed_reader {
    int fd;
    long got;
    ssize_t last;
};

static void *read_until_error(void *arg) {
    struct closed_reader *c = arg;
    char buf[64];
    for (;;) {
        ssize_t n = jg_read(c->fd, buf, sizeof(buf), JG_FOREVER);
        if (n <= 0) {
            c->last = n;
            return NULL;
        }
        c->got += n;
    }
}

static void *close_reader_main(void *arg) {
    (void)arg;
    check_poller();
    uint32_t seed = 99;
    for (int round = 0; round < stress(200); round++) {
        int sv[2];
        stream_pair(sv);
        struct closed_reader c = {.fd = sv[0]};
        jg_task *t;
        cr_assert_eq(jg_spawn(&t, read_until_error, &c, NULL), 0);
        int writes = (int)(rnd(&seed) % 4);
        for (int i = 0; i < writes; i++) {
            cr_assert_eq(jg_write(sv[1], "abc", 3, JG_FOREVER), 3);
            jg_yield();
        }
        jg_sleep((int64_t)(rnd(&seed) % 100) * 1000);
        cr_assert_eq(jg_close(sv[0]), 0);
        cr_assert_eq(jg_join(t, NULL), 0);
        cr_assert_eq(c.last, -EBADF, "round %d: %s", round,
                     jg_strerror((int)c.last));
        cr_assert_leq(c.got, 3L * writes);
        /* The peer sees the close (a cancelled request lets go of the
         * file when the poller next runs: give it a few turns). */
        ssize_t w = 0;
        for (int i = 0; i < 200; i++) {
            w = jg_write(sv[1], "x", 1, JG_FOREVER);
            if (w < 0) {
                break;
            }
            jg_sleep(JG_MS(1));
        }
        cr_assert(w == -EPIPE || w == -ECONNRESET,
                  "round %d: the closed socket stays open (%s)", round,
                  w < 0 ? jg_strerror((int)w) : "write succeeded");
        jg_close(sv[1]);
    }
    return NULL;
}

Test(io_more, closing_a_socket_under_a_waiting_reader_releases_it) {
    run_on(close_reader_main, NULL, 1);
    run_on(close_reader_main, NULL, 2);
}

/* ---- closing an fd while other tasks are in their calls on it ---- */

/*
 * jg_close() of a socket that a reader on the other worker is busy
 * reading (a writer keeps it full, so the reader is mostly inside its
 * read(2), not waiting), with a second closer racing the first. The
 * close must wait for a read in flight (under TSan, a read(2) that is
 * not ordered before the close(2) is reported), the reader must end
 * with -EBADF after an unbroken byte sequence, exactly one closer
 * succeeds, and the socket must really close (the writer's next write
 * fails).
 */
struct busy_close {
    int fd[2];
    _Atomic long got; /* Written by the reader only. */
    ssize_t last;
    bool gap;
    int closed[2];
};

static void *flood_reader(void *arg) {
    struct busy_close *b = arg;
    unsigned char buf[512];
    long got = 0;
    for (;;) {
        ssize_t n = jg_read(b->fd[0], buf, sizeof(buf), JG_FOREVER);
        if (n <= 0) {
            b->last = n;
            return NULL;
        }
        for (ssize_t i = 0; i < n; i++) {
            b->gap |= buf[i] != (unsigned char)((got + i) % 251);
        }
        got += n;
        atomic_store(&b->got, got);
    }
}

static void *flood_writer(void *arg) {
    struct busy_close *b = arg;
    unsigned char buf[700];
    long sent = 0;
    for (;;) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = (unsigned char)((sent + (long)i) % 251);
        }
        ssize_t n = jg_write(b->fd[1], buf, sizeof(buf), JG_FOREVER);
        if (n < 0) {
            return (void *)(intptr_t)n;
        }
        sent += n;
    }
}

struct closer {
    struct busy_close *b;
    int which;
    int delay_us;
};

static void *close_after(void *arg) {
    struct closer *c = arg;
    /* Once data flows: the reader is busy, in and out of read(2). */
    while (atomic_load(&c->b->got) == 0) {
        jg_yield();
    }
    jg_sleep(JG_US(c->delay_us));
    c->b->closed[c->which] = jg_close(c->b->fd[0]);
    return NULL;
}

static void *busy_close_main(void *arg) {
    (void)arg;
    check_poller();
    uint32_t seed = 7;
    for (int round = 0; round < stress(300); round++) {
        struct busy_close b = {.last = 1};
        stream_pair(b.fd);
        jg_task *r, *w, *c[2];
        cr_assert_eq(jg_spawn(&r, flood_reader, &b, NULL), 0);
        cr_assert_eq(jg_spawn(&w, flood_writer, &b, NULL), 0);
        int base = (int)(rnd(&seed) % 300);
        struct closer cl[2] = {{&b, 0, base},
                               {&b, 1, base + (int)(rnd(&seed) % 3)}};
        /* Both closers wait for data first: reader and writer run. */
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(jg_spawn(&c[i], close_after, &cl[i], NULL), 0);
        }
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(jg_join(c[i], NULL), 0);
        }
        cr_assert_eq(jg_join(r, NULL), 0);
        void *wres;
        cr_assert_eq(jg_join(w, &wres), 0);
        cr_assert_eq(b.last, -EBADF, "round %d: the reader ended with %s",
                     round, jg_strerror((int)b.last));
        cr_assert_not(b.gap, "round %d: a byte out of sequence", round);
        cr_assert((b.closed[0] == 0) != (b.closed[1] == 0),
                  "round %d: closes returned %d and %d", round, b.closed[0],
                  b.closed[1]);
        cr_assert_eq(b.closed[0] + b.closed[1], -EBADF);
        intptr_t werr = (intptr_t)wres;
        cr_assert(werr == -EPIPE || werr == -ECONNRESET,
                  "round %d: the writer ended with %s", round,
                  jg_strerror((int)werr));
        jg_close(b.fd[1]);
    }
    return NULL;
}

Test(io_more, closing_a_socket_under_a_busy_reader_waits_for_its_call) {
    run_on(busy_close_main, NULL, 2);
    run_on(busy_close_main, NULL, 1);
}

/*
 * A regular-file write in flight (an io_uring request, or a job on the
 * blocking pool) names its file by number: jg_close() must wait for it,
 * or the request could land in the next file to take the number. The
 * closer opens such a file at once after its close; it must stay empty,
 * and the write's file must hold exactly what the write reported.
 */
struct file_close {
    int fd;
    const unsigned char *buf;
    size_t len;
    ssize_t wrote;
    _Atomic bool done;
};

static void *file_writer(void *arg) {
    struct file_close *f = arg;
    f->wrote = jg_write(f->fd, f->buf, f->len, JG_FOREVER);
    atomic_store(&f->done, true);
    return NULL;
}

/* The calls in flight on fd's record (the runtime's internals): the
 * test closes only once the writer's call has begun, since a call that
 * begins after jg_close() may legally reach the next file. */
static uint32_t fd_busy(int fd) {
    struct jg__reactor *r = jg__reactor_peek(jg__task_rt(jg_self()));
    return atomic_load(&jg__fd_rec(r, fd)->busy);
}

static off_t file_size(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

static void *file_close_main(void *arg) {
    (void)arg;
    check_poller();
    size_t len = 1 << 20;
    unsigned char *buf = malloc(len);
    memset(buf, 'a', len);
    uint32_t seed = 3;
    int in_flight = 0;
    for (int round = 0; round < stress(100); round++) {
        char pa[] = "/tmp/juggle-close-a-XXXXXX";
        char pb[] = "/tmp/juggle-close-b-XXXXXX";
        struct file_close f = {.fd = mkstemp(pa), .buf = buf, .len = len};
        cr_assert_geq(f.fd, 0);
        jg_task *w;
        cr_assert_eq(jg_spawn(&w, file_writer, &f, NULL), 0);
        bool busy = false;
        while (!(busy = fd_busy(f.fd) != 0) && !atomic_load(&f.done)) {
            jg_yield();
        }
        int d = (int)(rnd(&seed) % 3);
        for (int i = 0; i < d; i++) {
            jg_yield();
        }
        cr_assert_eq(jg_close(f.fd), 0);
        int fb = mkstemp(pb); /* Most often the number just freed. */
        cr_assert_geq(fb, 0);
        cr_assert_eq(jg_join(w, NULL), 0);
        cr_assert(f.wrote == (ssize_t)len || f.wrote == -EBADF,
                  "round %d: the write returned %s", round,
                  f.wrote < 0 ? jg_strerror((int)f.wrote) : "a short count");
        in_flight += busy && fb == f.fd;
        cr_assert_eq(file_size(pa), f.wrote > 0 ? (off_t)len : 0,
                     "round %d", round);
        cr_assert_eq(file_size(pb), 0,
                     "round %d: the write landed in the next file", round);
        cr_assert_eq(jg_close(fb), 0);
        unlink(pa);
        unlink(pb);
    }
    cr_assert_gt(in_flight, 0, "no close found the write in flight");
    free(buf);
    return NULL;
}

Test(io_more, closing_a_file_waits_for_its_request_in_flight) {
    run_on(file_close_main, NULL, 1);
    run_on(file_close_main, NULL, 2);
}

/*
 * Numbers closed by jg_close() on one worker are taken at once by new
 * fds on the other (pipe2(2) here, which juggle does not see): the new
 * fd must work, and its own jg_close() must close it (return 0). A
 * closing record seen by the new fd's first call would fail it with
 * -EBADF, and its jg_close() too, leaving it open.
 */
static void *pipe_churn(void *arg) {
    long rounds = (long)(intptr_t)arg;
    for (long i = 0; i < rounds; i++) {
        int p[2];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(jg_wait_fd(p[1], JG_WRITABLE, JG_FOREVER), JG_WRITABLE,
                     "round %ld", i);
        cr_assert_eq(jg_write(p[1], "x", 1, JG_FOREVER), 1, "round %ld", i);
        char c;
        cr_assert_eq(jg_read(p[0], &c, 1, JG_FOREVER), 1, "round %ld", i);
        cr_assert_eq(jg_close(p[0]), 0, "round %ld", i);
        cr_assert_eq(jg_close(p[1]), 0, "round %ld", i);
    }
    return NULL;
}

static void *churn_main(void *arg) {
    (void)arg;
    check_poller();
    jg_task *t[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jg_spawn(&t[i], pipe_churn,
                              (void *)(intptr_t)stress(20000), NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 4, NULL), 0);
    return NULL;
}

Test(io_more, numbers_reused_across_workers_right_after_close_work) {
    run_on(churn_main, NULL, 2);
}

/* ---- closing a listener that connections keep arriving at ---- */

/*
 * jg_close() of a listener must release the socket even while readiness
 * events for it are being posted: under io_uring the removal of the
 * fd's poll can find the poll busy (-EALREADY) and must be retried, or
 * the poll keeps the socket open and it goes on taking connections.
 * A thread floods the listener with connections while an acceptor task
 * accepts them; main stops the acceptor and closes the listener with
 * connections still arriving; afterwards a connection must be refused.
 * Many rounds, since the race is narrow.
 */
struct flood {
    struct sockaddr_in addr;
    _Atomic int stop;
    _Atomic long made;
};

static void *flood_thread(void *arg) {
    struct flood *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, (struct sockaddr *)&f->addr, sizeof(f->addr)) == 0) {
            atomic_fetch_add(&f->made, 1);
        }
        close(fd);
    }
    return NULL;
}

struct acc {
    int lfd;
    _Atomic long accepted;
};

static void *accept_until_cancelled(void *arg) {
    struct acc *a = arg;
    for (;;) {
        int fd = jg_accept(a->lfd, NULL, NULL, JG_FOREVER);
        if (fd < 0) {
            return (void *)(intptr_t)fd;
        }
        atomic_fetch_add(&a->accepted, 1);
        jg_close(fd);
    }
}

static void *close_busy_listener_main(void *arg) {
    (void)arg;
    check_poller();
    for (int round = 0; round < stress(30); round++) {
        struct flood f = {0};
        struct acc a = {0};
        a.lfd = listen_loopback(&f.addr, 128);
        jg_task *t;
        cr_assert_eq(jg_spawn(&t, accept_until_cancelled, &a, NULL), 0);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, flood_thread, &f), 0);
        /* Let connections flow, then close in the middle of them. */
        while (atomic_load(&a.accepted) < 20) {
            jg_sleep(JG_US(200));
        }
        /* Stop accepting (as a server that shuts down does), then close
         * while connections keep arriving: the watch keeps firing. */
        cr_assert_eq(jg_cancel(t), 0);
        void *res;
        cr_assert_eq(jg_join(t, &res), 0);
        cr_assert_eq((intptr_t)res, -ECANCELED);
        jg_sleep(JG_MS(1));
        cr_assert_eq(jg_close(a.lfd), 0);
        atomic_store(&f.stop, 1);
        pthread_join(th, NULL);
        /* The socket is gone: connecting is refused (a connect racing
         * with the close may be reset instead; a few tries at most). */
        int refused = 0;
        for (int i = 0; i < 200 && !refused; i++) {
            int fd = jg_socket(AF_INET, SOCK_STREAM, 0);
            cr_assert_geq(fd, 0);
            int rc = jg_connect(fd, (struct sockaddr *)&f.addr,
                                sizeof(f.addr), jg_now() + JG_MS(100));
            jg_close(fd);
            if (rc == -ECONNREFUSED) {
                refused = 1;
            } else {
                jg_sleep(JG_MS(5)); /* A late removal gets its chance. */
            }
        }
        cr_assert(refused, "round %d: the closed listener still accepts",
                  round);
    }
    return NULL;
}

Test(io_more, closing_a_busy_listener_releases_it) {
    run_on(close_busy_listener_main, NULL, 2);
}

/* ---- short reads that leave data behind, and jg_wait_fd between ---- */

/* A connected TCP pair on loopback; [0] the accepted end. In a task. */
static void tcp_pair(int sv[2]) {
    struct sockaddr_in addr;
    int l = listen_loopback(&addr, 1);
    int c = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(c, 0);
    cr_assert_eq(jg_connect(c, (struct sockaddr *)&addr, sizeof(addr),
                            JG_FOREVER),
                 0);
    int s = jg_accept(l, NULL, NULL, JG_FOREVER);
    cr_assert_geq(s, 0, "accept: %s", jg_strerror(s));
    cr_assert_eq(jg_close(l), 0);
    sv[0] = s;
    sv[1] = c;
}

/* A read that waits, and so makes the poller watch fd (only then does a
 * short read mean "drained"). */
static void arm(int fd) {
    char b;
    cr_assert_eq(jg_read(fd, &b, 1, jg_now() + JG_MS(10)), -ETIMEDOUT);
}

/* Data that arrives while the reader waits, sent by another task after
 * a pause: the reader's first read is short and leaves the rest behind,
 * with no new edge to come. */
struct late_send {
    int fd;
    void (*send)(int fd);
};

static void *late_sender(void *arg) {
    struct late_send *l = arg;
    jg_sleep(JG_MS(20));
    l->send(l->fd);
    return NULL;
}

/* A short read (the fd is drained); more data comes while jg_wait_fd()
 * waits, and it says readable: the read after it must find the data, not
 * wait for an edge that jg_wait_fd() already took. */
static void send_hello(int fd) {
    cr_assert_eq(write(fd, "hello", 5), 5);
}

static void wait_fd_then_read(int rfd, int wfd) {
    char buf[64];
    arm(rfd);
    struct late_send l = {wfd, send_hello};
    jg_task *t;
    cr_assert_eq(jg_spawn(&t, late_sender, &l, NULL), 0);
    cr_assert_eq(jg_read(rfd, buf, sizeof(buf), JG_FOREVER), 5);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(jg_spawn(&t, late_sender, &l, NULL), 0);
    cr_assert_eq(jg_wait_fd(rfd, JG_READABLE, jg_now() + JG_SEC(5)),
                 JG_READABLE);
    ssize_t n = jg_read(rfd, buf, sizeof(buf), jg_now() + JG_SEC(5));
    cr_assert_eq(n, 5, "read after jg_wait_fd: %zd (%s)", n,
                 n < 0 ? jg_strerror((int)n) : "");
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
}

static void *wait_fd_read_main(void *arg) {
    (void)arg;
    check_poller();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    wait_fd_then_read(p[0], p[1]);
    cr_assert_eq(jg_close(p[0]), 0);
    cr_assert_eq(jg_close(p[1]), 0);
    int sv[2];
    tcp_pair(sv);
    wait_fd_then_read(sv[0], sv[1]);
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_close(sv[1]), 0);
    return NULL;
}

Test(io_more, a_read_after_wait_fd_tries_again_after_a_short_one) {
    run_on(wait_fd_read_main, NULL, 1);
    run_on(wait_fd_read_main, NULL, 2);
}

static void read_short_then_rest(int rfd, int wfd, void (*send_fn)(int)) {
    arm(rfd);
    struct late_send l = {wfd, send_fn};
    jg_task *t;
    cr_assert_eq(jg_spawn(&t, late_sender, &l, NULL), 0);
    char buf[64];
    cr_assert_eq(jg_read(rfd, buf, sizeof(buf), JG_FOREVER), 2);
    cr_assert_eq(memcmp(buf, "ab", 2), 0);
    ssize_t n = jg_read(rfd, buf, sizeof(buf), jg_now() + JG_SEC(5));
    cr_assert_eq(n, 2, "the second read: %zd (%s)", n,
                 n < 0 ? jg_strerror((int)n) : "");
    cr_assert_eq(memcmp(buf, "cd", 2), 0);
    cr_assert_eq(jg_join(t, NULL), 0);
}

/* TCP urgent data: a read stops short at the urgent mark. */
static void send_urgent(int fd) {
    cr_assert_eq(send(fd, "ab", 2, 0), 2);
    cr_assert_eq(send(fd, "X", 1, MSG_OOB), 1);
    cr_assert_eq(send(fd, "cd", 2, 0), 2);
}

static void *urgent_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    tcp_pair(sv);
    read_short_then_rest(sv[0], sv[1], send_urgent);
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_close(sv[1]), 0);
    return NULL;
}

Test(io_more, a_read_stopped_at_tcp_urgent_data_finds_the_rest) {
    run_on(urgent_main, NULL, 1);
}

/* UNIX stream: a read stops after a message that carries an fd. */
static void send_with_fd(int fd) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = {"ab", 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    cr_assert_eq(sendmsg(fd, &m, 0), 2);
    cr_assert_eq(send(fd, "cd", 2, 0), 2);
    close(p[0]);
    close(p[1]);
}

static void *scm_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    stream_pair(sv);
    read_short_then_rest(sv[0], sv[1], send_with_fd);
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_close(sv[1]), 0);
    return NULL;
}

Test(io_more, a_read_stopped_after_passed_fds_finds_the_rest) {
    run_on(scm_main, NULL, 1);
}

/* ---- concurrent writers ---- */

enum { WRITERS = 2, WRITES = 200, CHUNK = 10 };

struct writer {
    int fd;
    char tag;
};

static void *chunk_writer(void *arg) {
    struct writer *w = arg;
    char buf[CHUNK];
    memset(buf, w->tag, sizeof(buf));
    for (int i = 0; i < WRITES; i++) {
        ssize_t n = jg_write(w->fd, buf, sizeof(buf), JG_FOREVER);
        cr_assert_eq(n, CHUNK, "write %d: %zd (%s)", i, n,
                     n < 0 ? jg_strerror((int)n) : "");
        if (i % 16 == 0) {
            jg_yield();
        }
    }
    return NULL;
}

/* Two tasks write to one socket while neither has to wait for room: as
 * with write(2), both succeed every time (with io_uring socket requests a
 * send in flight is not "waiting", so the other task must not get
 * -EBUSY). A reader checks every byte arrives, in whole chunks. */
static void *writers_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    tcp_pair(sv);
    struct writer w[WRITERS];
    jg_task *t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){sv[1], (char)('a' + i)};
        cr_assert_eq(jg_spawn(&t[i], chunk_writer, &w[i], NULL), 0);
    }
    static char got[WRITERS * WRITES * CHUNK];
    cr_assert_eq(read_all(sv[0], got, sizeof(got), jg_now() + JG_SEC(30)),
                 (ssize_t)sizeof(got));
    cr_assert_eq(jg_gather(t, WRITERS, NULL), 0);
    int count[WRITERS] = {0};
    for (size_t i = 0; i < sizeof(got); i += CHUNK) {
        int k = got[i] - 'a';
        cr_assert(k >= 0 && k < WRITERS, "byte %zu: %#x", i, got[i]);
        for (int j = 1; j < CHUNK; j++) {
            cr_assert_eq(got[i + (size_t)j], got[i], "a torn chunk at %zu", i);
        }
        count[k]++;
    }
    for (int i = 0; i < WRITERS; i++) {
        cr_assert_eq(count[i], WRITES);
    }
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_close(sv[1]), 0);
    return NULL;
}

Test(io_more, two_tasks_writing_to_one_socket_both_succeed) {
    run_on(writers_main, NULL, 1);
    run_on(writers_main, NULL, 2);
}

/* ---- a cancel racing jg_close ---- */

struct cc {
    int fd;
    jg_task *reader;
};

static void *cc_reader(void *arg) {
    struct cc *c = arg;
    char b;
    ssize_t n = jg_read(c->fd, &b, 1, JG_FOREVER);
    cr_assert(n == -EBADF || n == -ECANCELED, "read: %zd", n);
    if (n == -EBADF) {
        /* Closed, but cancelled too: the cancel must not be lost. */
        int rc = jg_sleep(JG_MS(1));
        cr_assert_eq(rc, -ECANCELED, "the cancel was lost (sleep: %d)", rc);
    }
    return NULL;
}

static void *cc_closer(void *arg) {
    struct cc *c = arg;
    jg_cancel(c->reader);
    jg_close(c->fd);
    return NULL;
}

static void *cancel_close_main(void *arg) {
    (void)arg;
    check_poller();
    long rounds = stress(2000);
    for (long i = 0; i < rounds; i++) {
        int sv[2];
        stream_pair(sv);
        struct cc c = {sv[0], NULL};
        jg_task *r, *k;
        cr_assert_eq(jg_spawn(&r, cc_reader, &c, NULL), 0);
        c.reader = r;
        jg_sleep(JG_US(i % 50)); /* Let it park, most rounds. */
        cr_assert_eq(jg_spawn(&k, cc_closer, &c, NULL), 0);
        cr_assert_eq(jg_join(k, NULL), 0);
        cr_assert_eq(jg_join(r, NULL), 0);
        cr_assert_eq(jg_close(sv[1]), 0);
    }
    return NULL;
}

Test(io_more, a_cancel_racing_jg_close_is_not_lost, .timeout = 300) {
    run_on(cancel_close_main, NULL, 2);
}

/* ---- a number closed with close(2), behind the runtime's back ---- */

struct stale {
    int fd;
    ssize_t got;
};

static void *stale_reader(void *arg) {
    struct stale *s = arg;
    char b;
    s->got = jg_read(s->fd, &b, 1, JG_FOREVER);
    return NULL;
}

/* A task waits on a socket that the program then closes with close(2);
 * the next fd that juggle creates takes the number. The waiter must wake
 * (-EBADF), the old socket must really close (its peer reads end of file:
 * under io_uring the watch and the receive request held it open), and the
 * new fd must work (not -EBUSY from the old waiter). */
static void *stale_main(void *arg) {
    (void)arg;
    check_poller();
    struct sockaddr_in addr;
    int l = listen_loopback(&addr, 4);
    int c1 = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(jg_connect(c1, (struct sockaddr *)&addr, sizeof(addr),
                            JG_FOREVER),
                 0);
    int s1 = jg_accept(l, NULL, NULL, JG_FOREVER);
    cr_assert_geq(s1, 0);
    struct stale st = {s1, 1};
    jg_task *t;
    cr_assert_eq(jg_spawn(&t, stale_reader, &st, NULL), 0);
    jg_sleep(JG_MS(20)); /* It waits now. */
    cr_assert_eq(close(s1), 0);
    int c2 = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(c2, s1, "the number was not reused (%d, %d)", c2, s1);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(st.got, -EBADF);
    char b;
    cr_assert_eq(jg_read(c1, &b, 1, jg_now() + JG_SEC(10)), 0,
                 "the old socket was kept open");
    /* The new fd works. */
    cr_assert_eq(jg_connect(c2, (struct sockaddr *)&addr, sizeof(addr),
                            JG_FOREVER),
                 0);
    int s2 = jg_accept(l, NULL, NULL, JG_FOREVER);
    cr_assert_geq(s2, 0);
    struct late_send ls = {s2, send_hello};
    cr_assert_eq(jg_spawn(&t, late_sender, &ls, NULL), 0);
    char buf[8];
    cr_assert_eq(read_all(c2, buf, 5, jg_now() + JG_SEC(10)), 5);
    cr_assert_eq(jg_join(t, NULL), 0);
    cr_assert_eq(jg_close(s2), 0);
    cr_assert_eq(jg_close(c2), 0);
    cr_assert_eq(jg_close(c1), 0);
    cr_assert_eq(jg_close(l), 0);
    return NULL;
}

Test(io_more, a_number_reused_after_close_2_retires_the_old_file,
     .timeout = 60) {
    run_on(stale_main, NULL, 1);
    run_on(stale_main, NULL, 2);
}

/* ---- shared-stack tasks with buffers on their stack ---- */

/* A shared-stack task reads into a buffer on its stack; while it waits,
 * another shared-stack task runs on the same worker, at the same
 * addresses, and checks its own locals stay intact. Socket (after a
 * pause, a writer sends) and regular file. */
struct sbuf {
    int fd;
    bool is_file;
};

static void *stack_reader(void *arg) {
    struct sbuf *s = arg;
    char buf[256];
    memset(buf, 0, sizeof(buf));
    ssize_t n = jg_read(s->fd, buf, sizeof(buf), JG_FOREVER);
    cr_assert_eq(n, 5, "read: %zd", n);
    cr_assert_eq(memcmp(buf, "hello", 5), 0, "read into the stack: %.5s", buf);
    return NULL;
}

static void *stack_keeper(void *arg) {
    (void)arg;
    volatile char local[8192];
    for (size_t i = 0; i < sizeof(local); i++) {
        local[i] = (char)('k' + (i & 7));
    }
    jg_sleep(JG_MS(50));
    for (size_t i = 0; i < sizeof(local); i++) {
        cr_assert_eq(local[i], (char)('k' + (i & 7)),
                     "a local overwritten at %zu", i);
    }
    return NULL;
}

static void shared_readers(int rfd, int wfd) {
    jg_spawn_opts shared = {.stack_mode = JG_STACK_SHARED};
    struct sbuf s = {rfd, wfd < 0};
    jg_task *t[3];
    int n = 0;
    cr_assert_eq(jg_spawn(&t[n++], stack_reader, &s, &shared), 0);
    cr_assert_eq(jg_spawn(&t[n++], stack_keeper, NULL, &shared), 0);
    struct late_send l = {wfd, send_hello};
    if (wfd >= 0) {
        cr_assert_eq(jg_spawn(&t[n++], late_sender, &l, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, (size_t)n, NULL), 0);
}

static void *shared_stack_io_main(void *arg) {
    (void)arg;
    check_poller();
    int sv[2];
    tcp_pair(sv);
    shared_readers(sv[0], sv[1]);
    cr_assert_eq(jg_close(sv[0]), 0);
    cr_assert_eq(jg_close(sv[1]), 0);
    char path[] = "/tmp/juggle-sstack-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    cr_assert_eq(write(fd, "hello", 5), 5);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    shared_readers(fd, -1);
    cr_assert_eq(jg_close(fd), 0);
    return NULL;
}

Test(io_more, shared_stack_tasks_read_into_their_stack_buffers) {
    run_on(shared_stack_io_main, NULL, 1);
}

/* ---- epoll without epoll_pwait2 (Linux < 5.11, or seccomp) ---- */

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "os/os.h"
#include "os/os_io.h"

/* Make epoll_pwait2 fail with ENOSYS in this process. */
static int deny_pwait2(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_epoll_pwait2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return -1;
    }
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* The first timed wait learns that epoll_pwait2 is missing and falls
 * back; every later timed wait must still end at its deadline (they
 * waited for ever). In a child, which the filter stays in. */
Test(io_more, timed_epoll_waits_end_without_epoll_pwait2, .timeout = 60) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(20); /* A wait for ever ends the child (SIGALRM). */
        if (deny_pwait2() != 0) {
            _exit(3);
        }
        int ep = jg__os_epoll_create();
        if (ep < 0) {
            _exit(4);
        }
        struct epoll_event ev[4];
        for (int i = 0; i < 3; i++) {
            int n = jg__os_epoll_wait(ep, ev, 4, jg__os_now() + JG_MS(20));
            if (n != 0) {
                _exit(5);
            }
        }
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child status %#x", status);
}
