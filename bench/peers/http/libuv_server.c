/* SPDX-License-Identifier: MIT */
/*
 * libuv_server.c - the libuv HTTP peer for bench/http.sh: the default loop on
 * one thread, a uv_tcp_t per connection. Every complete request head on a
 * keep-alive connection gets "200 Hello, World!"; pipelined requests read
 * together are answered with one write (uv_try_write first, a queued
 * uv_write for whatever the socket did not take).
 *
 *   libuv_server --port PORT
 *
 * Listens on 127.0.0.1 only. Request bodies are not supported (GET only).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http_head.h"

struct conn {
    uv_tcp_t tcp; /* first: the handle's address is the conn's */
    size_t in_len;
    char in[IN_CAP];
};

struct write_req {
    uv_write_t req;
    char data[];
};

static void on_closed(uv_handle_t *h)
{
    free(h); /* the struct conn */
}

static void conn_close(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = (struct conn *)h;
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(IN_CAP - c->in_len));
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0)
        conn_close((struct conn *)req->handle);
    free(req);
}

/* Queues out[0..len) behind whatever uv_try_write could not send now. */
static void send_responses(struct conn *c, const char *out, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)out, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0, rest = len - sent;
    struct write_req *w = malloc(sizeof *w + rest);
    if (!w) {
        conn_close(c);
        return;
    }
    memcpy(w->data, out + sent, rest);
    b = uv_buf_init(w->data, (unsigned)rest);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(w);
        conn_close(c);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = (struct conn *)s;
    if (nread < 0) { /* UV_EOF or an error */
        conn_close(c);
        return;
    }
    c->in_len += (size_t)nread;

    size_t count;
    if (http_take_heads(c->in, &c->in_len, &count) < 0) { /* a head larger than the buffer */
        conn_close(c);
        return;
    }
    if (count == 0)
        return;

    char stack[16 * RESPONSE_LEN];
    char *out = count <= 16 ? stack : malloc(count * RESPONSE_LEN);
    if (!out) {
        conn_close(c);
        return;
    }
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
    send_responses(c, out, count * RESPONSE_LEN);
    if (out != stack)
        free(out);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return;
    c->in_len = 0;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

int main(int argc, char **argv)
{
    int port = http_port_arg(argc, argv);
    signal(SIGPIPE, SIG_IGN); /* a peer that resets mid-write */
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in sa;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", port, &sa);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&server, 4096, on_connection);
    if (r < 0) {
        fprintf(stderr, "listen on 127.0.0.1:%d: %s\n", port, uv_strerror(r));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
