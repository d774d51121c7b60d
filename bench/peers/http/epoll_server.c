/* SPDX-License-Identifier: MIT */
/*
 * epoll_server.c - the plain HTTP peer for bench/http.sh: one thread, one
 * level-triggered epoll set, non-blocking sockets. Every complete request
 * head on a keep-alive connection gets "200 Hello, World!"; pipelined
 * requests read together are answered with one write. This is the
 * near-physical-limit baseline: per batch it makes one epoll_wait, one read
 * and one write and nothing else.
 *
 *   epoll_server --port PORT
 *
 * Listens on 127.0.0.1 only. Request bodies are not supported (GET only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "http_head.h"

#define MAX_EVENTS 256

struct conn {
    int fd;
    size_t in_len;
    char *out;       /* unsent responses, only while the socket is full */
    size_t out_len, out_off, out_cap;
    char in[IN_CAP];
};

static int epfd;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void conn_close(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c->out);
    free(c);
}

/* Sends out[out_off..out_len). Returns 0 when all is sent, 1 when the socket
 * is full (the rest stays queued), -1 on error. */
static int flush_out(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return 1;
        } else {
            return -1;
        }
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static int want(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Readable: one read, answer every complete request head in the buffer. */
static void on_readable(struct conn *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;

    size_t count;
    if (http_take_heads(c->in, &c->in_len, &count) < 0) { /* a head larger than the buffer */
        conn_close(c);
        return;
    }
    if (count == 0)
        return;

    size_t need = c->out_len + count * RESPONSE_LEN;
    if (need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            conn_close(c);
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    for (size_t i = 0; i < count; i++, c->out_len += RESPONSE_LEN)
        memcpy(c->out + c->out_len, RESPONSE, RESPONSE_LEN);

    int r = flush_out(c);
    if (r < 0)
        conn_close(c);
    else if (r > 0 && want(c, EPOLLOUT) < 0) /* stop reading until drained */
        conn_close(c);
}

static void on_writable(struct conn *c)
{
    int r = flush_out(c);
    if (r < 0 || (r == 0 && want(c, EPOLLIN) < 0))
        conn_close(c);
}

static void on_accept(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                perror("accept4"); /* EMFILE and friends: try again later */
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->in_len = 0;
        c->out = NULL;
        c->out_len = c->out_off = c->out_cap = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            conn_close(c);
    }
}

int main(int argc, char **argv)
{
    int port = http_port_arg(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind");
    if (listen(lfd, 4096) < 0)
        die("listen");

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    static int listener_tag; /* data.ptr == &listener_tag marks the listener */
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &listener_tag};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
        die("epoll_ctl");

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == &listener_tag) {
                on_accept(lfd);
                continue;
            }
            struct conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT)
                on_writable(c);
            else /* EPOLLIN, EPOLLHUP or EPOLLERR: read() tells which */
                on_readable(c);
        }
    }
}
