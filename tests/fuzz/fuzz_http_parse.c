/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_parse.c - libFuzzer harness for examples/http/http_parse.c.
 *
 * Each input is a byte stream from a client. The harness parses it the
 * way the server does (every complete head in turn, pipelined), and checks
 * properties that must hold for any input, aborting when one fails:
 *   - feeding the stream byte by byte, with the incremental state, gives
 *     the same result as parsing it whole;
 *   - a complete head's size is within the limit and the input, and every
 *     string of the request lies inside the head;
 *   - a normalised path starts with '/', and has no NUL, no empty, "." or
 *     ".." segment.
 * Built with -fsanitize=fuzzer,address,undefined by scripts/fuzz.sh, and
 * as a plain program (replay_main.c) that ctest runs over the seed corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 1024    /* Small, so the fuzzer reaches "too large". */

static void check(int ok) {
    if (!ok) {
        abort();
    }
}

static void check_inside(http_str s, const char *buf, size_t head) {
    check(s.ptr >= buf && s.ptr + s.len <= buf + head);
}

static void check_path(const http_request *req) {
    char path[512];
    int n = http_path_normalize(req->target.ptr, req->target.len, path,
                                sizeof(path));
    if (n < 0) {
        check(n == -1 || n == -2);
        return;
    }
    check(path[0] == '/' && (size_t)n == strlen(path));
    for (int i = 0; i < n; i++) {
        if (path[i] != '/') {
            continue;
        }
        const char *seg = path + i + 1;
        size_t len = strcspn(seg, "/");
        check(!(len == 1 && seg[0] == '.'));
        check(!(len == 2 && seg[0] == '.' && seg[1] == '.'));
        check(len > 0 || seg[0] == '\0');    /* No "//". */
    }
    check(http_mime_type(path) != NULL);
}

static void check_request(const http_request *req, const char *buf,
                          int head) {
    check(head > 0 && head <= MAX_HEAD);
    check_inside(req->method, buf, (size_t)head);
    check_inside(req->target, buf, (size_t)head);
    check(req->header_count <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->header_count; i++) {
        check_inside(req->headers[i].name, buf, (size_t)head);
        check_inside(req->headers[i].value, buf, (size_t)head);
        check(memchr(req->headers[i].value.ptr, '\n',
                     req->headers[i].value.len) == NULL);
    }
    check(http_find_header(req, "host") != NULL || req->minor == 0);
    check_path(req);
}

/* The result of feeding buf[0..len) one byte at a time. */
static int parse_bytewise(const char *buf, size_t len) {
    http_parser p = {0};
    http_request req;
    int rc = HTTP_PARSE_NEED_MORE;
    for (size_t n = 1; n <= len && rc == HTTP_PARSE_NEED_MORE; n++) {
        rc = http_parse_request(&p, buf, n, MAX_HEAD, &req);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    http_request req;
    size_t off = 0;
    for (int round = 0; round < 64; round++) {
        http_parser p = {0};
        int rc = http_parse_request(&p, buf + off, size - off, MAX_HEAD,
                                    &req);
        check(parse_bytewise(buf + off, size - off) == rc);
        if (rc <= 0) {
            check(rc == HTTP_PARSE_NEED_MORE || rc == HTTP_PARSE_BAD ||
                  rc == HTTP_PARSE_TOO_LARGE);
            break;
        }
        check_request(&req, buf + off, rc);
        off += (size_t)rc;
        if (req.content_length > 0) {
            /* Skip the body, as the server does. */
            if ((uint64_t)req.content_length > size - off) {
                break;
            }
            off += (size_t)req.content_length;
        }
    }
    return 0;
}
