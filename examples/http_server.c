/* SPDX-License-Identifier: MIT */
/*
 * http_server.c - an HTTP/1.1 server on juggle's tasks and task-aware I/O.
 *
 *   http_server --port PORT [--addr A] [--workers N] [--root DIR]
 *               [--max-conns N] [--idle-timeout SEC]
 *
 * One task accepts; every connection gets a task of its own that reads,
 * parses and answers in plain sequential code, while the runtime switches
 * between connections whenever one would block. Without --root, GET / (or
 * HEAD /) answers "Hello, World!" and everything else is 404; with --root,
 * files under DIR are served (Content-Type from the extension, a directory
 * by its index.html), and nothing outside DIR can be reached: the path is
 * decoded and normalised first, and the file is then opened with openat2's
 * RESOLVE_BENEATH, so neither "../" nor a symbolic link climbs out. Where
 * openat2 is missing (Linux < 5.6, or a seccomp filter that refuses it),
 * the path is walked one component at a time and no symbolic link is
 * followed at all (examples/http/http_open.c).
 *
 * HTTP: keep-alive (HTTP/1.1 by default, HTTP/1.0 on request); pipelined
 * requests are all parsed from what one read brought, and their responses
 * go out in one write. GET and HEAD are served; other methods get 405. A
 * request body announced by Content-Length is read and discarded, so the
 * connection stays usable; Transfer-Encoding gets 501 and a close (no
 * chunked bodies here). 400 for a malformed head, 413 for one over 8 KiB
 * (both close the connection), 414 for a path too long.
 *
 * Limits: at most --max-conns connections (default 10000); one more is
 * accepted, answered 503 and closed at once, so the bound is visible to the
 * client. When accept() runs out of descriptors (EMFILE), the acceptor
 * sleeps 10 ms and retries: the connection waits in the backlog, the server
 * neither crashes nor spins. An idle keep-alive connection is closed after
 * --idle-timeout seconds (default 60; 0 = never), a head that takes more
 * than 10 s to arrive or a response the client does not read for 30 s
 * ends its connection.
 *
 * Shutdown: SIGINT or SIGTERM (read from a signalfd by a task) stops the
 * acceptor (jg_cancel) and closes the listening socket; connections that
 * are between requests are closed; a request in progress is finished and
 * answered with "Connection: close". jg_run() returns when the last
 * connection task ends, and the process exits 0.
 *
 * Performance: the hot path allocates nothing. Each connection reads into
 * a buffer on its own task stack, parses in place, and appends responses
 * to an output buffer, also on the stack, sent with one jg_write per batch.
 * "Hello, World!" is a response precomputed per worker thread and rebuilt
 * when its Date header goes stale (once a second).
 *
 * The connection code is in http/http_conn.c; this file has the options,
 * the acceptor, the signal task and the shutdown protocol.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <juggle.h>

#include "http/http_conn.h"

struct options {
    const char *addr;
    int port;
    int workers;
    const char *root;
    int max_conns;
    int idle_timeout;    /* Seconds; 0 = none. */
};

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s --port PORT [--addr ADDR] [--workers N] [--root DIR]"
            " [--max-conns N] [--idle-timeout SEC]\n",
            prog);
    exit(2);
}

/* The integer value of option argv[i] within [lo, hi], or usage(). */
static int int_arg(int argc, char **argv, int i, long lo, long hi) {
    if (i >= argc) {
        usage(argv[0]);
    }
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[i] || v < lo || v > hi) {
        fprintf(stderr, "http_server: %s: bad value '%s'\n", argv[i - 1],
                argv[i]);
        exit(2);
    }
    return (int)v;
}

static struct options parse_args(int argc, char **argv) {
    struct options o = {"127.0.0.1", -1, 0, NULL, 10000, 60};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--port") == 0) {
            o.port = int_arg(argc, argv, ++i, 0, 65535);
        } else if (strcmp(a, "--workers") == 0) {
            o.workers = int_arg(argc, argv, ++i, 0, 1024);
        } else if (strcmp(a, "--max-conns") == 0) {
            o.max_conns = int_arg(argc, argv, ++i, 1, 10000000);
        } else if (strcmp(a, "--idle-timeout") == 0) {
            o.idle_timeout = int_arg(argc, argv, ++i, 0, 86400);
        } else if (strcmp(a, "--addr") == 0 && i + 1 < argc) {
            o.addr = argv[++i];
        } else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
            o.root = argv[++i];
        } else {
            usage(argv[0]);
        }
    }
    if (o.port < 0) {
        usage(argv[0]);
    }
    return o;
}

/* A listening TCP socket on addr:port. Returns the fd or -errno. */
static int listen_on(const char *addr, int port) {
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        return -EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* 4096: the backlog the peers use; the kernel caps it at somaxconn. */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4096) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* The port a socket is bound to (to report the one --port 0 picked). */
static int bound_port(int fd) {
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        return -1;
    }
    return ntohs(sa.sin_port);
}

/* Turn away one connection over the limit: a best-effort 503 (the socket
 * is new and empty, so a plain non-blocking write never waits), then
 * close. */
static void refuse(int fd) {
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    jg_close(fd);
}

/* The acceptor task: accept until cancelled, one task per connection. */
static void *acceptor(void *arg) {
    struct http_server *srv = arg;
    for (;;) {
        int fd = jg_accept(srv->lfd, NULL, NULL, JG_FOREVER);
        if (fd == -ECANCELED) {
            break;
        }
        if (fd == -ECONNABORTED || fd == -EPERM || fd == -EPROTO) {
            continue;    /* That connection failed; the next may not. */
        }
        if (fd < 0) {
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: out of descriptors or
             * memory, the connection stays in the backlog. Wait a little
             * for a connection to end instead of spinning; so for any
             * other error, which would repeat at once. */
            if (jg_sleep(JG_MS(10)) == -ECANCELED) {
                break;
            }
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (http_server_admit(srv, fd) < 0) {
            refuse(fd);
        }
    }
    return NULL;
}

/* The signal task: wait for SIGINT or SIGTERM, then shut down: stop the
 * acceptor and let the connections finish. The only one that cancels the
 * acceptor, whose handle main joins only after this task has ended. */
static void *signal_waiter(void *arg) {
    struct http_server *srv = arg;
    struct signalfd_siginfo si;
    ssize_t n = jg_read(srv->sigfd, &si, sizeof(si), JG_FOREVER);
    if (n != (ssize_t)sizeof(si)) {
        fprintf(stderr, "http_server: signalfd: %s\n",
                jg_strerror(n < 0 ? (int)n : -EIO));
    }
    http_server_stop(srv);
    jg_cancel(srv->acceptor);
    return NULL;
}

static void *server_main(void *arg) {
    struct http_server *srv = arg;
    jg_runtime_info info;
    if (jg_runtime_info_get(&info) == 0) {
        fprintf(stderr,
                "http_server: listening on %s:%d, %d workers, poller %s%s%s\n",
                srv->addr, bound_port(srv->lfd), info.workers, info.poller,
                srv->root_fd >= 0 ? ", root " : "",
                srv->root_fd >= 0 ? srv->root : "");
    }
    jg_task *sig, *sweeper = NULL;
    int rc = jg_spawn(&srv->acceptor, acceptor, srv, NULL);
    if (rc < 0) {
        return (void *)(intptr_t)rc;
    }
    if (srv->idle_timeout > 0) {
        rc = jg_spawn(&sweeper, http_server_sweeper, srv, NULL);
    }
    if (rc == 0) {
        rc = jg_spawn(&sig, signal_waiter, srv, NULL);
    }
    if (rc == 0) {
        jg_join(sig, NULL);
    } else {
        jg_cancel(srv->acceptor);
    }
    jg_join(srv->acceptor, NULL);
    if (sweeper != NULL) {
        jg_cancel(sweeper);
        jg_join(sweeper, NULL);
    }
    jg_close(srv->lfd);
    jg_close(srv->sigfd);
    /* jg_run() returns once every connection task has ended. */
    return (void *)(intptr_t)rc;
}

/* The signalfd for SIGINT and SIGTERM, which are blocked in this thread
 * first, so that the worker threads jg_run() starts inherit the mask. */
static int signal_fd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Raise the soft descriptor limit to the hard one: each connection needs
 * a descriptor, and --max-conns defaults to 10000. */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv) {
    struct options o = parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    static struct http_server srv;
    int rc = http_server_init(&srv, o.root, o.max_conns, o.idle_timeout);
    if (rc < 0) {
        fprintf(stderr, "http_server: --root %s: %s\n", o.root,
                strerror(-rc));
        return 1;
    }
    srv.addr = o.addr;
    srv.lfd = listen_on(o.addr, o.port);
    if (srv.lfd < 0) {
        fprintf(stderr, "http_server: listen on %s:%d: %s\n", o.addr, o.port,
                strerror(-srv.lfd));
        return 1;
    }
    srv.sigfd = signal_fd();
    if (srv.sigfd < 0) {
        perror("http_server: signalfd");
        return 1;
    }
    void *result = NULL;
    rc = jg_run(server_main, &srv, &(jg_run_opts){.workers = o.workers},
                &result);
    http_server_fini(&srv);
    if (rc < 0 || result != NULL) {
        fprintf(stderr, "http_server: %s\n",
                jg_strerror(rc < 0 ? rc : (int)(intptr_t)result));
        return 1;
    }
    return 0;
}
