/* SPDX-License-Identifier: MIT */
/*
 * http_parse.h - the request-head parser of examples/http_server.c: pure,
 * allocation-free and incremental. It reads an HTTP/1.x request head (the
 * request line and the header fields up to the blank line) out of a byte
 * buffer the caller owns, and decodes and normalises the request path so
 * that it cannot name anything outside the served directory.
 *
 * Nothing here does I/O, keeps global state or allocates: every result
 * points into the caller's buffer, so a connection parses each request
 * where read() put it. The parser accepts what RFC 9112 requires a server
 * to accept (CRLF or bare-LF line ends, optional whitespace around field
 * values) and rejects, with "bad request", what it says to reject:
 * whitespace before a field's colon, obsolete line folding, control bytes,
 * a missing Host in HTTP/1.1, and Content-Length values that disagree.
 */
#ifndef JUGGLE_EXAMPLE_HTTP_PARSE_H
#define JUGGLE_EXAMPLE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header fields kept per request; a head with more is "too large". */
#define HTTP_MAX_HEADERS 64

/* What http_parse_request() returns besides a consumed size (> 0). */
enum {
    HTTP_PARSE_NEED_MORE = 0,    /* The head is not complete yet. */
    HTTP_PARSE_BAD = -1,         /* Malformed: answer 400 and close. */
    HTTP_PARSE_TOO_LARGE = -2,   /* Head over the limit: answer 413, close. */
};

/* A byte string inside the parsed buffer; not NUL-terminated. */
typedef struct http_str {
    const char *ptr;
    size_t len;
} http_str;

typedef struct http_header {
    http_str name;     /* A token, as sent (compare case-insensitively). */
    http_str value;    /* Without leading and trailing whitespace. */
} http_header;

/* One parsed request head. Every http_str points into the parsed buffer,
 * so the request is valid only while those bytes stay where they are. */
typedef struct http_request {
    http_str method;           /* A token, case-sensitive ("GET"). */
    http_str target;           /* The raw request-target ("/a%20b?x=1"). */
    int minor;                 /* 0 for HTTP/1.0, 1 for HTTP/1.1. */
    bool keep_alive;           /* After Connection and the version default. */
    bool chunked;              /* A Transfer-Encoding field was present. */
    int64_t content_length;    /* Body bytes that follow the head; -1: none
                                * given (no body unless chunked). */
    size_t header_count;       /* Entries used in headers[]. */
    http_header headers[HTTP_MAX_HEADERS];
} http_request;

/*
 * Incremental state of one connection's parse: where the search for the
 * end of the head resumes, so that a head arriving byte by byte is
 * scanned once, not once per byte. Zero-initialise it; reset it to zero
 * after each complete (or failed) request.
 */
typedef struct http_parser {
    size_t scanned;    /* Bytes known to hold no complete head end. */
} http_parser;

/*
 * Parse the request head at the start of buf[0..len).
 *
 * p:        the connection's parse state (see http_parser).
 * buf, len: the bytes received so far; the head starts at buf[0].
 * max_head: the largest head accepted, in bytes, the blank line included.
 * req:      filled in when the head is complete; its strings point into
 *           buf. Unspecified after any other result.
 * Returns:  the head's size in bytes (> 0; the body, if any, starts right
 *           after it) when it is complete; HTTP_PARSE_NEED_MORE when it is
 *           not yet and len < max_head; HTTP_PARSE_TOO_LARGE when the head
 *           is (or must become) longer than max_head, or has more than
 *           HTTP_MAX_HEADERS fields; HTTP_PARSE_BAD when it is malformed.
 * Thread:   any; touches only its arguments.
 * Blocks:   no.
 */
int http_parse_request(http_parser *p, const char *buf, size_t len,
                       size_t max_head, http_request *req);

/*
 * The first header field named `name` (case-insensitive), or NULL.
 */
const http_header *http_find_header(const http_request *req,
                                    const char *name);

/*
 * Turn a request-target into a safe path relative to the served root.
 *
 * Drops the query, percent-decodes, and normalises: empty and "."
 * segments are removed and ".." removes the segment before it. The result
 * starts with '/', never contains "//", "/./" or "/../", and names nothing
 * above the root. A trailing '/' is kept (the target names a directory).
 *
 * target, len: the raw request-target: origin form (it starts with '/'),
 *              or absolute form ("http://host/path", as proxies send it;
 *              the scheme and authority are dropped).
 * out, cap:    where the path goes, NUL-terminated; cap counts the NUL.
 * Returns:     the path's length (>= 1) on success; -1 (answer 400) when
 *              the target is in neither form, holds a malformed escape,
 *              a NUL or control byte once decoded, or a ".." that would
 *              climb above the root; -2 (answer 414) when out is too small.
 * Thread:      any. Blocks: no.
 */
int http_path_normalize(const char *target, size_t len, char *out,
                        size_t cap);

/* The Content-Type for a file name, from its extension; defaults to
 * "application/octet-stream". Never NULL. */
const char *http_mime_type(const char *path);

#endif /* JUGGLE_EXAMPLE_HTTP_PARSE_H */
