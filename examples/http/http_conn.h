/* SPDX-License-Identifier: MIT */
/*
 * http_conn.h - the connection side of examples/http_server.c: the server
 * state shared by its tasks, admitting a connection (one task each), and
 * the shutdown protocol.
 *
 * Every connection task is on a registry (a list under a mutex, touched
 * when a connection starts and ends, by the idle sweeper once a second,
 * and at shutdown; never per request) with a state word that says whether
 * it is between requests (IDLE) or serving one (BUSY). Stopping or timing
 * out a connection that is IDLE means shutdown(fd, SHUT_RD): its pending
 * read ends with end-of-file and the task closes it. A BUSY connection is
 * only marked; it finishes the requests it has read and then closes. The
 * fd stays open while the connection is on the registry, so the shutdown
 * can never reach a reused descriptor.
 */
#ifndef JUGGLE_EXAMPLE_HTTP_CONN_H
#define JUGGLE_EXAMPLE_HTTP_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <juggle.h>

struct http_conn;

struct http_server {
    /* Set before jg_run(), read-only afterwards. */
    int lfd;                  /* The listening socket. */
    int sigfd;                /* signalfd for SIGINT and SIGTERM. */
    int root_fd;              /* --root directory (O_PATH), or -1. */
    const char *addr, *root;  /* For the start-up line. */
    int max_conns;            /* Live connections allowed. */
    int idle_timeout;         /* Seconds an idle connection is kept; 0:
                               * forever. */
    jg_task *acceptor;        /* Set by the main task before the signal
                               * task starts; cancelled by that task. */

    pthread_mutex_t lock;     /* Protects the fields below. Held briefly,
                               * never across a suspending call. */
    struct http_conn *conns;  /* Registered connections (a list). */
    int live;                 /* Admitted and not yet ended. */
    bool stopping;            /* Shutdown has begun. */
};

/*
 * Prepare srv: open the root directory (NULL: none), set the limits.
 * Returns 0 or -errno from opening root. Call before jg_run().
 */
int http_server_init(struct http_server *srv, const char *root,
                     int max_conns, int idle_timeout);

/* Release what http_server_init() took. After jg_run() has returned. */
void http_server_fini(struct http_server *srv);

/*
 * Start a task serving the accepted connection fd, which it then owns.
 * Returns 0, or -EBUSY (too many connections, or stopping) or a jg_spawn
 * error; then the caller still owns fd.
 * Thread: a task of the server's runtime. Blocks: no.
 */
int http_server_admit(struct http_server *srv, int fd);

/*
 * Begin the graceful shutdown: refuse new connections, close those that
 * are between requests, mark the others to close after their current
 * requests. Idempotent. (Stopping the acceptor is the caller's part.)
 * Thread: a task of the server's runtime. Blocks: no.
 */
void http_server_stop(struct http_server *srv);

/*
 * The idle sweeper's task function (arg: the server): once a second,
 * close connections idle longer than srv->idle_timeout. Runs until
 * cancelled.
 */
void *http_server_sweeper(void *arg);

#endif /* JUGGLE_EXAMPLE_HTTP_CONN_H */
