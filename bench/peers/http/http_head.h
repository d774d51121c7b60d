/* SPDX-License-Identifier: MIT */
/*
 * http_head.h - what the C HTTP peers of bench/http.sh (epoll_server.c,
 * libuv_server.c) share: the fixed response, the input buffer's size, the
 * request-head scan and the --port argument. Header-only, so each peer stays
 * a single compile command. Needs _GNU_SOURCE (memmem) before any include.
 */
#ifndef HTTP_HEAD_H
#define HTTP_HEAD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_CAP 8192

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 13\r\n"
                               "Content-Type: text/plain\r\n"
                               "\r\n"
                               "Hello, World!";
#define RESPONSE_LEN (sizeof RESPONSE - 1)

/* Counts the complete request heads at the start of in[0..*in_len) into
 * *count and drops them, moving what follows to the front. Returns -1 when
 * no head is complete and the buffer (IN_CAP) is full: a head larger than
 * the buffer, so the connection is to be closed; else 0. */
static inline int http_take_heads(char *in, size_t *in_len, size_t *count)
{
    size_t done = 0, n = 0;
    for (;;) {
        char *end = memmem(in + done, *in_len - done, "\r\n\r\n", 4);
        if (!end)
            break;
        done = (size_t)(end - in) + 4;
        n++;
    }
    if (done == 0 && *in_len == IN_CAP)
        return -1;
    memmove(in, in + done, *in_len - done);
    *in_len -= done;
    *count = n;
    return 0;
}

/* The port from `--port PORT` (8080 without it); exits 2 with a usage line
 * on anything else. */
static inline int http_port_arg(int argc, char **argv)
{
    int port = 8080;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s --port PORT\n", argv[0]);
            exit(2);
        }
    }
    return port;
}

#endif
