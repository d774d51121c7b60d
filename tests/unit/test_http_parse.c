/* SPDX-License-Identifier: MIT */
/*
 * test_http_parse.c - the HTTP request-head parser and path normaliser of
 * examples/http: good requests, pipelining, heads split across reads down
 * to single bytes, malformed lines, oversized heads and path traversal.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http_parse.h"

#define MAX_HEAD 8192

static int parse(const char *s, http_request *req) {
    http_parser p = {0};
    return http_parse_request(&p, s, strlen(s), MAX_HEAD, req);
}

static int str_is(http_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

Test(http_parse, simple_get) {
    const char *s = "GET /index.html?x=1 HTTP/1.1\r\n"
                    "Host: example.com\r\n"
                    "Accept:   */*  \r\n"
                    "\r\n";
    http_request req;
    int rc = parse(s, &req);
    cr_assert_eq(rc, (int)strlen(s));
    cr_assert(str_is(req.method, "GET"));
    cr_assert(str_is(req.target, "/index.html?x=1"));
    cr_assert_eq(req.minor, 1);
    cr_assert(req.keep_alive);
    cr_assert_not(req.chunked);
    cr_assert_eq(req.content_length, -1);
    cr_assert_eq(req.header_count, 2);
    cr_assert(str_is(req.headers[0].name, "Host"));
    cr_assert(str_is(req.headers[0].value, "example.com"));
    const http_header *h = http_find_header(&req, "accept");
    cr_assert_not_null(h);
    cr_assert(str_is(h->value, "*/*"), "value '%.*s'", (int)h->value.len,
              h->value.ptr);
    cr_assert_null(http_find_header(&req, "cookie"));
}

Test(http_parse, connection_and_version_defaults) {
    http_request req;
    cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
    cr_assert_eq(req.minor, 0);
    cr_assert_not(req.keep_alive, "HTTP/1.0 defaults to close");
    cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                       &req), 0);
    cr_assert(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                       "Connection: keep-alive, close\r\n\r\n", &req), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                       "connection: Upgrade,CLOSE\r\n\r\n", &req), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n", &req), 0);
    cr_assert_eq(req.minor, 1, "1.9 is served as 1.1");
}

Test(http_parse, bare_lf_and_leading_empty_lines) {
    http_request req;
    const char *s = "\r\n\nGET /a HTTP/1.1\nHost: a\n\n";
    cr_assert_eq(parse(s, &req), (int)strlen(s));
    cr_assert(str_is(req.target, "/a"));
    cr_assert(str_is(req.headers[0].value, "a"));
    cr_assert_eq(parse("\r\n\r\n\n", &req), HTTP_PARSE_NEED_MORE,
                 "empty lines alone are no request yet");
}

Test(http_parse, content_length_and_chunked) {
    http_request req;
    const char *s = "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    "Content-Length: 5\r\n\r\nhello";
    int rc = parse(s, &req);
    cr_assert_eq(rc, (int)strlen(s) - 5, "the body is not part of the head");
    cr_assert_eq(req.content_length, 5);
    cr_assert_gt(parse("POST / HTTP/1.1\r\nHost: a\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n", &req), 0);
    cr_assert(req.chunked);
}

Test(http_parse, pipelined_requests) {
    const char *s = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                    "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                    "HEAD /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                    "GET /4 HT";
    size_t len = strlen(s), off = 0;
    const char *want[] = {"/1", "/2", "/3"};
    http_request req;
    for (int i = 0; i < 3; i++) {
        http_parser p = {0};
        int rc = http_parse_request(&p, s + off, len - off, MAX_HEAD, &req);
        cr_assert_gt(rc, 0, "request %d: rc %d", i, rc);
        cr_assert(str_is(req.target, want[i]), "request %d", i);
        off += (size_t)rc;
    }
    cr_assert(str_is(req.method, "HEAD"));
    cr_assert_not(req.keep_alive);
    http_parser p = {0};
    cr_assert_eq(http_parse_request(&p, s + off, len - off, MAX_HEAD, &req),
                 HTTP_PARSE_NEED_MORE);
}

/* Every split point and byte-by-byte growth give the same result as the
 * whole head, with the incremental state carried between calls. */
Test(http_parse, split_across_reads_byte_by_byte) {
    const char *s = "GET /split/path HTTP/1.1\r\nHost: a.b\r\n"
                    "User-Agent: t\r\nContent-Length: 0\r\n\r\n";
    size_t len = strlen(s);
    for (size_t cut = 0; cut <= len; cut++) {
        http_parser p = {0};
        http_request req;
        if (cut > 0) {
            cr_assert_eq(http_parse_request(&p, s, cut, MAX_HEAD, &req),
                         cut == len ? (int)len : HTTP_PARSE_NEED_MORE);
        }
        cr_assert_eq(http_parse_request(&p, s, len, MAX_HEAD, &req),
                     (int)len, "cut at %zu", cut);
        cr_assert(str_is(req.target, "/split/path"));
        cr_assert_eq(req.header_count, 3);
        cr_assert_eq(req.content_length, 0);
    }
    http_parser p = {0};
    http_request req;
    for (size_t n = 1; n < len; n++) {
        cr_assert_eq(http_parse_request(&p, s, n, MAX_HEAD, &req),
                     HTTP_PARSE_NEED_MORE, "prefix %zu", n);
        cr_assert_leq(p.scanned, n);
    }
    cr_assert_eq(http_parse_request(&p, s, len, MAX_HEAD, &req), (int)len);
    cr_assert(str_is(req.headers[1].value, "t"));
}

Test(http_parse, malformed_lines) {
    const char *bad[] = {
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",       /* two spaces */
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",       /* trailing space */
        "GET /\r\nHost: a\r\n\r\n",                 /* no version */
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",        /* not a token */
        " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n",   /* DEL in the target */
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* space before colon */
        "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",    /* folding */
        "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n",  /* bare CR */
        "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",    /* control byte */
        "GET / HTTP/1.1\r\n\r\n",                   /* 1.1 without Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999"
        "\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Content-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        "\r\nX\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_request req;
        cr_assert_eq(parse(bad[i], &req), HTTP_PARSE_BAD, "case %zu: %s", i,
                     bad[i]);
    }
}

Test(http_parse, nul_in_head_is_bad) {
    const char s[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    http_parser p = {0};
    http_request req;
    cr_assert_eq(http_parse_request(&p, s, sizeof(s) - 1, MAX_HEAD, &req),
                 HTTP_PARSE_BAD);
}

Test(http_parse, oversized_heads) {
    static char big[3 * MAX_HEAD];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'v', sizeof(big) - (size_t)n);
    http_parser p = {0};
    http_request req;
    /* No end within the limit: too large once the limit is reached. */
    cr_assert_eq(http_parse_request(&p, big, MAX_HEAD - 1, MAX_HEAD, &req),
                 HTTP_PARSE_NEED_MORE);
    cr_assert_eq(http_parse_request(&p, big, MAX_HEAD, MAX_HEAD, &req),
                 HTTP_PARSE_TOO_LARGE);
    p = (http_parser){0};
    cr_assert_eq(http_parse_request(&p, big, sizeof(big), MAX_HEAD, &req),
                 HTTP_PARSE_TOO_LARGE);
    /* Complete, but one byte over. */
    memcpy(big + MAX_HEAD - 3, "\r\n\r\n", 4);
    p = (http_parser){0};
    cr_assert_eq(http_parse_request(&p, big, sizeof(big), MAX_HEAD, &req),
                 HTTP_PARSE_TOO_LARGE);
    /* Exactly at the limit. */
    memcpy(big + MAX_HEAD - 4, "\r\n\r\n", 4);
    p = (http_parser){0};
    cr_assert_eq(http_parse_request(&p, big, sizeof(big), MAX_HEAD, &req),
                 MAX_HEAD);
}

Test(http_parse, too_many_headers) {
    char s[4096];
    int n = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
        n += snprintf(s + n, sizeof(s) - (size_t)n, "X-%d: v\r\n", i);
    }
    n += snprintf(s + n, sizeof(s) - (size_t)n, "\r\n");
    http_request req;
    cr_assert_eq(parse(s, &req), HTTP_PARSE_TOO_LARGE);
}

static void path_is(const char *target, const char *want) {
    char out[256];
    int n = http_path_normalize(target, strlen(target), out, sizeof(out));
    cr_assert_eq(n, (int)strlen(want), "%s: %d", target, n);
    cr_assert_str_eq(out, want, "%s", target);
}

static void path_bad(const char *target, size_t len, int want) {
    char out[256];
    cr_assert_eq(http_path_normalize(target, len, out, sizeof(out)), want,
                 "%s", target);
}

Test(http_path, normalises) {
    path_is("/", "/");
    path_is("/a/b", "/a/b");
    path_is("/a/b/", "/a/b/");
    path_is("//a///b", "/a/b");
    path_is("/a/./b/.", "/a/b/");
    path_is("/a/b/../c", "/a/c");
    path_is("/a/b/..", "/a/");
    path_is("/a/..", "/");
    path_is("/a%20b/%41?q=/../..", "/a b/A");
    path_is("/a/%2e%2E/b", "/b");
    path_is("/a%2fb", "/a/b");
    path_is("/..a/b..", "/..a/b..");
    path_is("/x#frag", "/x");
    /* Absolute form (RFC 9112, 3.2.2): the authority is dropped. */
    path_is("http://h/", "/");
    path_is("http://example.com/a/b?q", "/a/b");
    path_is("HTTPS://user@h:8080/a/../b", "/b");
    path_is("http://h", "/");
    path_is("http://h?x=/etc", "/");
}

Test(http_path, refuses_escapes_and_bad_input) {
    path_bad("/..", 3, -1);
    path_bad("/../etc/passwd", 14, -1);
    path_bad("/a/../../etc", 12, -1);
    path_bad("/%2e%2e/etc", 11, -1);
    path_bad("/%2E%2e%2fetc", 13, -1);
    path_bad("/a/%2e%2e%2f%2e%2e/x", 20, -1);
    path_bad("/./../x", 7, -1);
    path_bad("/a%00b", 6, -1);
    path_bad("/a%0d%0aX", 9, -1);
    path_bad("/a%zz", 5, -1);
    path_bad("/a%4", 4, -1);
    path_bad("/a%", 3, -1);
    path_bad("a/b", 3, -1);
    path_bad("*", 1, -1);
    path_bad("http:///etc/passwd", 18, -1);
    path_bad("http://h/../etc", 15, -1);
    path_bad("ftp://h/", 8, -1);
    path_bad("", 0, -1);
    char out[4];
    cr_assert_eq(http_path_normalize("/abcdef", 7, out, sizeof(out)), -2);
    cr_assert_eq(http_path_normalize("/", 1, out, 1), -2);
}

Test(http_mime, by_extension) {
    cr_assert_str_eq(http_mime_type("/a/index.html"),
                     "text/html; charset=utf-8");
    cr_assert_str_eq(http_mime_type("/x.PNG"), "image/png");
    cr_assert_str_eq(http_mime_type("/x.tar.gz"), "application/octet-stream");
    cr_assert_str_eq(http_mime_type("/dir.css/file"),
                     "application/octet-stream");
    cr_assert_str_eq(http_mime_type("/noext"), "application/octet-stream");
}
