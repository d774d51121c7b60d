/* SPDX-License-Identifier: MIT */
/*
 * http_conn.c - one task per connection: read, parse every complete
 * request, answer, write once per batch; the registry, the idle sweeper
 * and the shutdown protocol described in http_conn.h.
 *
 * The hot path (a keep-alive GET / without --root) is: mark IDLE, jg_read,
 * mark BUSY, parse, jg_write of the precomputed response. It takes no
 * lock, allocates nothing, arms no timer and reads no clock but the coarse
 * wall clock for Date: the idle timeout is the sweeper's job, and a write
 * is first tried with a deadline already past (it completes at once unless
 * the socket is full; only then is a real deadline set).
 *
 * A lone response to GET / is sent straight from the worker's cache (see
 * `hello` below) instead of being copied into out[] first: with a
 * thousand connections, out[] is cold memory, and that copy cost more
 * than the rest of the request's user-space work.
 */
#define _GNU_SOURCE
#include "http_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_open.h"
#include "http_parse.h"

#define MAX_HEAD 8192                /* Larger heads get 413. */
#define IN_CAP MAX_HEAD              /* A full buffer is a head too large. */
#define OUT_CAP 16384                /* Responses batched per write. */
#define HEAD_TIMEOUT JG_SEC(10)      /* For a head (or body) to arrive. */
#define WRITE_TIMEOUT JG_SEC(30)     /* For the client to take a batch. */
#define LINGER_TIMEOUT JG_SEC(2)     /* Draining input before a close. */
#define LINGER_MAX (1 << 20)         /* Bytes drained at most. */

/* Connection states; see http_conn.h. */
enum { BUSY, IDLE, CLOSING };

struct http_conn {
    struct http_conn *prev, *next;   /* Registry links; srv->lock. */
    _Atomic int state;               /* BUSY, IDLE or CLOSING. */
    _Atomic int64_t idle_since;      /* Wall-clock second it went IDLE;
                                      * written by the task, read by the
                                      * sweeper (relaxed: a stale value
                                      * only delays a timeout). */
    int fd;
    bool close_after;                /* Close once the batch is sent. */
    bool linger;                     /* The client may have sent more. */
    size_t in_len, out_len;          /* Bytes used in in[] and out[]. */
    /* A hello response owed ahead of out[] (then empty): its length, or
     * 0. Sent from the worker's cache by flush_out(); copied into out[]
     * as soon as anything else is appended. hello_sec: its Date. */
    size_t hello;
    time_t hello_sec;
    int64_t discard;                 /* Body bytes still to drop. */
    int64_t head_deadline;           /* For the partial head in in[]. */
    http_parser parser;              /* For the head at in[0]. */
    char in[IN_CAP];
    char out[OUT_CAP];
};

static struct http_server *server;   /* The one server of the process. */

/* ---- responses ------------------------------------------------------ */

/* Per worker thread: the Date value and the two "Hello, World!" responses
 * (GET and HEAD) built with it, rebuilt when the second changes. Thread-
 * local, so workers never share it; read only by the noinline functions
 * below, which do not suspend, so a task that moves to another worker can
 * never use a cached address of the previous worker's copy. */
struct date_cache {
    time_t sec;
    char date[40];
    size_t get_len, head_len;
    char get[256];
};
static _Thread_local struct date_cache cache;

static const char hello_body[] = "Hello, World!";

/* The hello response of second sec into d. */
static void format_hello(struct date_cache *d, time_t sec) {
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(d->date, sizeof(d->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int n = snprintf(d->get, sizeof(d->get),
                     "HTTP/1.1 200 OK\r\nServer: juggle\r\nDate: %s\r\n"
                     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "\r\n",
                     d->date, sizeof(hello_body) - 1);
    d->head_len = (size_t)n;
    memcpy(d->get + n, hello_body, sizeof(hello_body) - 1);
    d->get_len = (size_t)n + sizeof(hello_body) - 1;
    d->sec = sec;
}

static time_t coarse_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return ts.tv_sec;
}

__attribute__((noinline)) static struct date_cache *fresh_cache(void) {
    time_t now = coarse_now();
    if (now != cache.sec) {
        format_hello(&cache, now);
    }
    return &cache;
}

/* Copy the owed hello response (c->hello) into out[], which is empty:
 * from the cache if it still holds the same second, else formatted
 * again. skip: bytes of it already sent. */
__attribute__((noinline)) static void owe_to_out(struct http_conn *c,
                                                 size_t skip) {
    struct date_cache *d = fresh_cache(), old;
    if (d->sec != c->hello_sec) {
        format_hello(&old, c->hello_sec);
        d = &old;
    }
    memcpy(c->out, d->get + skip, c->hello - skip);
    c->out_len = c->hello - skip;
    c->hello = 0;
}

/* Append the cached hello response (head only for HEAD). The caller made
 * room for 256 bytes (reserve(), which also moved an owed one to out[]).
 * Alone, it is only owed (see c->hello). */
__attribute__((noinline)) static void put_hello(struct http_conn *c,
                                                bool head_only) {
    struct date_cache *d = fresh_cache();
    size_t n = head_only ? d->head_len : d->get_len;
    if (c->out_len == 0) {
        c->hello = n;
        c->hello_sec = d->sec;
        return;
    }
    memcpy(c->out + c->out_len, d->get, n);
    c->out_len += n;
}

/* Send the owed hello response from the worker's cache, with a deadline
 * already past. Whatever is left of it (a full socket) goes to out[]. */
__attribute__((noinline)) static int send_owed(struct http_conn *c) {
    /* As it is, without a look at the clock: what matters is that it
     * still holds the owed response's second. */
    struct date_cache *d = &cache;
    if (d->sec != c->hello_sec) {
        owe_to_out(c, 0);
        return 0;
    }
    /* The request reads the cache when the worker next polls, when no
     * task runs: a new second meanwhile rewrites the Date in place, with
     * the same length, and the response stays whole. */
    ssize_t n = jg_write(c->fd, d->get, c->hello, 0);
    if (n == (ssize_t)c->hello) {
        c->hello = 0;
        return 0;
    }
    if (n < 0 && n != -ETIMEDOUT) {
        c->hello = 0;
        return (int)n;
    }
    owe_to_out(c, n > 0 ? (size_t)n : 0);
    return 0;
}

/* Append "Date: ...\r\n". */
__attribute__((noinline)) static void put_date(struct http_conn *c) {
    struct date_cache *d = fresh_cache();
    c->out_len += (size_t)sprintf(c->out + c->out_len, "Date: %s\r\n",
                                  d->date);
}

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* Send the owed hello response, then out[0..out_len), completely.
 * Returns 0 or -errno. */
static int flush_out(struct http_conn *c) {
    if (c->hello > 0) {
        int rc = send_owed(c);
        if (rc < 0) {
            return rc;
        }
    }
    size_t off = 0;
    /* A deadline in the past: the write is done at once unless the socket
     * is full, and only then is the clock read for a real deadline. */
    int64_t deadline = 0;
    while (off < c->out_len) {
        ssize_t n = jg_write(c->fd, c->out + off, c->out_len - off,
                             deadline);
        if (n == -ETIMEDOUT && deadline == 0) {
            deadline = jg_now() + WRITE_TIMEOUT;
            continue;
        }
        if (n < 0) {
            return (int)n;
        }
        off += (size_t)n;
    }
    c->out_len = 0;
    return 0;
}

/* Make room for `need` bytes in out[], sending what is there if needed;
 * an owed hello response goes to out[] first, to keep the order. */
static int reserve(struct http_conn *c, size_t need) {
    if (c->hello > 0) {
        owe_to_out(c, 0);
    }
    return c->out_len + need > OUT_CAP ? flush_out(c) : 0;
}

/* Status line, Server, Date and, when it is not the default for an
 * HTTP/1.1 client, Connection. The caller reserved 512 bytes. */
static void put_head(struct http_conn *c, int status, int minor) {
    c->out_len += (size_t)sprintf(c->out + c->out_len,
                                  "HTTP/1.1 %d %s\r\nServer: juggle\r\n",
                                  status, reason(status));
    put_date(c);
    if (c->close_after) {
        memcpy(c->out + c->out_len, "Connection: close\r\n", 19);
        c->out_len += 19;
    } else if (minor == 0) {
        memcpy(c->out + c->out_len, "Connection: keep-alive\r\n", 24);
        c->out_len += 24;
    }
}

/* A short text/plain response such as "404 Not Found". */
static int put_error(struct http_conn *c, int status, int minor,
                     bool head_only) {
    int rc = reserve(c, 512);
    if (rc < 0) {
        return rc;
    }
    put_head(c, status, minor);
    const char *text = reason(status);
    c->out_len += (size_t)sprintf(c->out + c->out_len,
                                  "%sContent-Type: text/plain\r\n"
                                  "Content-Length: %zu\r\n\r\n",
                                  status == 405 ? "Allow: GET, HEAD\r\n" : "",
                                  strlen(text) + 5);
    if (!head_only) {
        c->out_len += (size_t)sprintf(c->out + c->out_len, "%d %s\n",
                                      status, text);
    }
    return 0;
}

/* ---- static files --------------------------------------------------- */

struct open_req {
    int dirfd;
    const char *path;    /* Relative to dirfd, normalised. */
    int fd;              /* Result: the open file, or -errno. */
    int64_t size;        /* Result: its size in bytes. */
    bool index;          /* Result: path was a directory; this is its
                          * index.html. */
};

/* On the blocking pool: open the file (a directory's index.html), and
 * check that it is a regular file. */
static void *open_file(void *arg) {
    struct open_req *r = arg;
    struct stat st;
    int fd = http_open_beneath(r->dirfd, r->path);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        int ifd = http_open_beneath(fd, "index.html");
        close(fd);
        r->index = true;
        fd = ifd;
        if (fd >= 0 && fstat(fd, &st) != 0) {
            close(fd);
            fd = -EIO;
        }
    }
    if (fd >= 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        fd = -ENOENT;    /* FIFOs, devices, sockets are not served. */
    }
    r->fd = fd;
    r->size = fd >= 0 ? (int64_t)st.st_size : 0;
    return NULL;
}

/* Copy `size` bytes of the file to the connection through out[]. */
static int send_body(struct http_conn *c, int fd, int64_t size) {
    while (size > 0) {
        if (OUT_CAP - c->out_len < 4096) {
            int rc = flush_out(c);
            if (rc < 0) {
                return rc;
            }
        }
        size_t room = OUT_CAP - c->out_len;
        size_t want = (uint64_t)size < room ? (size_t)size : room;
        ssize_t n = jg_read(fd, c->out + c->out_len, want, JG_FOREVER);
        if (n <= 0) {
            /* The file shrank (or failed) after its size was sent: the
             * framing is lost, so the connection must end. */
            return n < 0 ? (int)n : -EIO;
        }
        c->out_len += (size_t)n;
        size -= n;
    }
    return 0;
}

static int serve_file(struct http_conn *c, const char *path, int minor,
                      bool head_only) {
    struct open_req r = {server->root_fd, path[1] ? path + 1 : ".", -1, 0,
                         false};
    int rc = jg_blocking(open_file, &r, NULL);
    if (rc < 0) {
        return put_error(c, 500, minor, head_only);
    }
    if (r.fd < 0) {
        int status = r.fd == -EACCES ? 403
                     : (r.fd == -ENOENT || r.fd == -ENOTDIR ||
                        r.fd == -ELOOP || r.fd == -EXDEV ||
                        r.fd == -ENAMETOOLONG)
                         ? 404
                         : 500;
        return put_error(c, status, minor, head_only);
    }
    rc = reserve(c, 512);
    if (rc == 0) {
        put_head(c, 200, minor);
        c->out_len += (size_t)sprintf(c->out + c->out_len,
                                      "Content-Type: %s\r\n"
                                      "Content-Length: %lld\r\n\r\n",
                                      http_mime_type(r.index ? "index.html"
                                                             : path),
                                      (long long)r.size);
        if (!head_only) {
            rc = send_body(c, r.fd, r.size);
        }
    }
    jg_close(r.fd);
    return rc;
}

/* ---- requests ------------------------------------------------------- */

static bool str_eq(http_str s, const char *lit, size_t len) {
    return s.len == len && memcmp(s.ptr, lit, len) == 0;
}

/* Answer one parsed request. Returns 0, or -errno when the connection
 * must end at once (the response could not be sent). */
static int respond(struct http_conn *c, const http_request *req) {
    if (req->content_length > 0) {
        c->discard = req->content_length;    /* Read and dropped. */
    }
    if (!req->keep_alive || atomic_load_explicit(&c->state,
                                                 memory_order_relaxed) ==
                                CLOSING) {
        c->close_after = true;
    }
    bool get = str_eq(req->method, "GET", 3);
    bool head = !get && str_eq(req->method, "HEAD", 4);
    if (req->chunked) {
        c->close_after = true;    /* The body cannot be framed: no reuse. */
        c->linger = true;
        return put_error(c, 501, req->minor, head);
    }
    if (!get && !head) {
        return put_error(c, 405, req->minor, false);
    }
    if (server->root_fd < 0 && req->target.len == 1 &&
        req->target.ptr[0] == '/' && req->minor == 1 && !c->close_after) {
        int rc = reserve(c, 256);
        if (rc == 0) {
            put_hello(c, head);    /* The hot path. */
        }
        return rc;
    }
    char path[1024];
    int n = http_path_normalize(req->target.ptr, req->target.len, path,
                                sizeof(path));
    if (n < 0) {
        return put_error(c, n == -2 ? 414 : 400, req->minor, head);
    }
    if (server->root_fd >= 0) {
        return serve_file(c, path, req->minor, head);
    }
    if (n != 1) {
        return put_error(c, 404, req->minor, head);
    }
    int rc = reserve(c, 512);
    if (rc == 0) {
        put_head(c, 200, req->minor);
        c->out_len += (size_t)sprintf(c->out + c->out_len,
                                      "Content-Type: text/plain\r\n"
                                      "Content-Length: %zu\r\n\r\n%s",
                                      sizeof(hello_body) - 1,
                                      head ? "" : hello_body);
    }
    return rc;
}

/* Parse and answer every complete request in in[]; keep a partial one.
 * Returns the number of requests answered, or -errno when the connection
 * must end at once. */
static int serve_buffer(struct http_conn *c) {
    size_t off = 0;
    int served = 0;
    while (off < c->in_len && !c->close_after) {
        if (c->discard > 0) {
            size_t k = c->in_len - off;
            if ((uint64_t)c->discard < k) {
                k = (size_t)c->discard;
            }
            off += k;
            c->discard -= (int64_t)k;
            continue;
        }
        http_request req;
        int rc = http_parse_request(&c->parser, c->in + off, c->in_len - off,
                                    MAX_HEAD, &req);
        if (rc == HTTP_PARSE_NEED_MORE) {
            break;
        }
        c->parser = (http_parser){0};
        if (rc < 0) {
            c->close_after = true;    /* The stream cannot be trusted. */
            c->linger = true;
            return put_error(c, rc == HTTP_PARSE_TOO_LARGE ? 413 : 400, 1,
                             false);
        }
        off += (size_t)rc;
        rc = respond(c, &req);
        if (rc < 0) {
            return rc;
        }
        served++;
    }
    if (c->close_after && (off < c->in_len || c->discard > 0)) {
        c->linger = true;    /* Unread input: a close now would reset. */
    }
    if (off > 0 && off < c->in_len) {
        memmove(c->in, c->in + off, c->in_len - off);
    }
    c->in_len -= off;
    return served;
}

/* ---- the connection task -------------------------------------------- */

/*
 * End a connection whose client may still be sending (after 400, 413 or
 * 501, or with requests left unanswered): closing a socket with unread
 * input makes the kernel send a reset, which can destroy the response
 * before the client reads it. So send FIN first and drain what comes,
 * for a bounded time and size, as nginx's lingering close does.
 */
static void linger_close(struct http_conn *c) {
    shutdown(c->fd, SHUT_WR);
    int64_t deadline = jg_now() + LINGER_TIMEOUT;
    for (size_t total = 0; total < LINGER_MAX;) {
        ssize_t n = jg_read(c->fd, c->in, IN_CAP, deadline);
        if (n <= 0) {
            break;
        }
        total += (size_t)n;
    }
}

/* BUSY -> IDLE before waiting for a new request; `since`: the idle time
 * starts now (else it goes on from the last request). False when the
 * server marked the connection CLOSING: end it. */
static bool become_idle(struct http_conn *c, bool since) {
    if (since) {
        atomic_store_explicit(&c->idle_since, (int64_t)coarse_now(),
                              memory_order_relaxed);
    }
    int busy = BUSY;
    /* Pairs with the exchange in mark_closing(): exactly one side sees
     * the other's state. */
    return atomic_compare_exchange_strong(&c->state, &busy, IDLE);
}

/* IDLE -> BUSY after the read. False when marked CLOSING meanwhile (and
 * then shut down, or about to be): end it, dropping what was read. */
static bool become_busy(struct http_conn *c) {
    int idle = IDLE;
    return atomic_compare_exchange_strong(&c->state, &idle, BUSY);
}

/* Whether in[] holds only line ends: empty lines before a request line,
 * which RFC 9112 2.2 says to ignore (the parser skips them too). */
static bool only_blank_lines(const struct http_conn *c) {
    for (size_t i = 0; i < c->in_len; i++) {
        if (c->in[i] != '\r' && c->in[i] != '\n') {
            return false;
        }
    }
    return c->in_len > 0 && c->discard == 0;
}

/* Serve requests until the client or the server ends the connection. */
static void conn_loop(struct http_conn *c) {
    bool blank = false;    /* The last read brought only empty lines. */
    for (;;) {
        bool idle = c->in_len == 0 && c->discard == 0;
        int64_t deadline = idle ? JG_FOREVER : c->head_deadline;
        /* Empty lines do not restart the idle timeout: a client cannot
         * keep a connection open with them alone. */
        if (idle && !become_idle(c, !blank)) {
            return;
        }
        ssize_t n = jg_read(c->fd, c->in + c->in_len, IN_CAP - c->in_len,
                            deadline);
        if (idle && !become_busy(c)) {
            return;
        }
        if (n <= 0) {
            return;    /* End of file, reset, timeout: nothing to answer. */
        }
        bool partial = c->in_len > 0 || c->discard > 0;
        c->in_len += (size_t)n;
        int served = serve_buffer(c);
        if (served < 0) {
            return;
        }
        if ((c->out_len > 0 || c->hello > 0) && flush_out(c) < 0) {
            return;
        }
        if (c->close_after) {
            return;
        }
        /* Only empty lines left (after a request, or alone): no request
         * has begun, so the connection is idle, not waiting for a head
         * with HEAD_TIMEOUT (which closed it after 10 s). */
        blank = served == 0 && only_blank_lines(c);
        if (only_blank_lines(c)) {
            c->in_len = 0;
            c->parser = (http_parser){0};
        }
        /* A new partial head (or body) has HEAD_TIMEOUT to arrive. */
        if ((c->in_len > 0 || c->discard > 0) && (!partial || served > 0)) {
            c->head_deadline = jg_now() + HEAD_TIMEOUT;
        }
    }
}

static void registry_add(struct http_server *srv, struct http_conn *c) {
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
}

static void registry_remove(struct http_server *srv, struct http_conn *c) {
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
}

/* Mark c CLOSING; if it was waiting for a request, end that wait. Under
 * srv->lock, which keeps c->fd open. */
static void mark_closing(struct http_conn *c) {
    if (atomic_exchange(&c->state, CLOSING) == IDLE) {
        shutdown(c->fd, SHUT_RD);
    }
}

/* The connection task. Its state, buffers included, lives on its stack:
 * nothing is allocated per connection but the task itself. The struct is
 * not zeroed as a whole, so its buffers' pages are touched only as far as
 * data arrives. */
static void *conn_task(void *arg) {
    struct http_server *srv = server;
    struct http_conn c;
    c.fd = (int)(intptr_t)arg;
    atomic_init(&c.state, BUSY);
    atomic_init(&c.idle_since, 0);
    c.close_after = false;
    c.linger = false;
    c.in_len = c.out_len = c.hello = 0;
    c.hello_sec = 0;
    c.discard = 0;
    c.head_deadline = JG_FOREVER;
    c.parser = (http_parser){0};

    pthread_mutex_lock(&srv->lock);
    bool run = !srv->stopping;
    if (run) {
        registry_add(srv, &c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (run) {
        conn_loop(&c);
        if (c.linger) {
            linger_close(&c);
        }
    }
    pthread_mutex_lock(&srv->lock);
    if (run) {
        registry_remove(srv, &c);
    }
    srv->live--;
    pthread_mutex_unlock(&srv->lock);
    jg_close(c.fd);
    return NULL;
}

/* ---- the server ----------------------------------------------------- */

int http_server_init(struct http_server *srv, const char *root,
                     int max_conns, int idle_timeout) {
    srv->root = root;
    srv->root_fd = -1;
    if (root != NULL) {
        srv->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (srv->root_fd < 0) {
            return -errno;
        }
    }
    srv->max_conns = max_conns;
    srv->idle_timeout = idle_timeout;
    srv->conns = NULL;
    srv->live = 0;
    srv->stopping = false;
    srv->acceptor = NULL;
    pthread_mutex_init(&srv->lock, NULL);
    server = srv;
    return 0;
}

void http_server_fini(struct http_server *srv) {
    if (srv->root_fd >= 0) {
        close(srv->root_fd);
    }
    pthread_mutex_destroy(&srv->lock);
}

int http_server_admit(struct http_server *srv, int fd) {
    pthread_mutex_lock(&srv->lock);
    bool ok = !srv->stopping && srv->live < srv->max_conns;
    srv->live += ok;
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        return -EBUSY;
    }
    int rc = jg_spawn(NULL, conn_task, (void *)(intptr_t)fd, NULL);
    if (rc < 0) {
        pthread_mutex_lock(&srv->lock);
        srv->live--;
        pthread_mutex_unlock(&srv->lock);
    }
    return rc;
}

void http_server_stop(struct http_server *srv) {
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    for (struct http_conn *c = srv->conns; c != NULL; c = c->next) {
        mark_closing(c);
    }
    pthread_mutex_unlock(&srv->lock);
}

void *http_server_sweeper(void *arg) {
    struct http_server *srv = arg;
    while (jg_sleep(JG_SEC(1)) == 0) {
        int64_t limit = (int64_t)coarse_now() - srv->idle_timeout;
        pthread_mutex_lock(&srv->lock);
        for (struct http_conn *c = srv->conns; c != NULL; c = c->next) {
            if (atomic_load(&c->state) == IDLE &&
                atomic_load_explicit(&c->idle_since, memory_order_relaxed) <=
                    limit) {
                /* IDLE -> CLOSING only: a busy connection is left alone. */
                int idle = IDLE;
                if (atomic_compare_exchange_strong(&c->state, &idle,
                                                   CLOSING)) {
                    shutdown(c->fd, SHUT_RD);
                }
            }
        }
        pthread_mutex_unlock(&srv->lock);
    }
    return NULL;
}
