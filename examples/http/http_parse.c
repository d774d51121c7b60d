/* SPDX-License-Identifier: MIT */
/*
 * http_parse.c - the request-head parser and path normaliser declared in
 * http_parse.h.
 *
 * A head is parsed in two steps. First the end of the head (a blank line)
 * is looked for with memchr, resuming where the previous call stopped, so
 * a head that arrives byte by byte costs one scan in all; that search
 * never reads past max_head bytes, which bounds the work per connection.
 * Then the complete head is checked and split line by line against one
 * 256-entry table of character classes. Being strict costs nothing here
 * and keeps request smuggling out: one space between request-line parts,
 * no whitespace before a colon, no folded lines, no bare CR, one Host.
 */
#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* Character classes, one bit each, for the bytes 0..255. */
enum {
    C_TOKEN = 1,    /* tchar of RFC 9110: method and field names. */
    C_TARGET = 2,   /* VCHAR (0x21-0x7e): the request-target. */
    C_VALUE = 4,    /* field-vchar, SP, HTAB, obs-text: field values. */
};

/* Generated from the RFC 9110 grammar (tchar, VCHAR, field-vchar). */
static const unsigned char cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6,
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static int is(unsigned char c, int mask) {
    return (cls[c] & mask) != 0;
}

static unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Whether s[0..len) equals the lower-case word, ignoring case. */
static int eq_nocase(const char *s, size_t len, const char *word) {
    size_t i = 0;
    for (; i < len && word[i] != '\0'; i++) {
        if (lower((unsigned char)s[i]) != (unsigned char)word[i]) {
            return 0;
        }
    }
    return i == len && word[i] == '\0';
}

/*
 * The size of the head in buf[0..lim): the offset just past its blank
 * line ("\n\n" or "\n\r\n"), or 0 when there is none yet. *scanned says
 * where to resume and is moved forward past what cannot start an end.
 */
static size_t find_head_end(const char *buf, size_t lim, size_t *scanned) {
    size_t i = *scanned;
    while (i < lim) {
        const char *nl = memchr(buf + i, '\n', lim - i);
        if (nl == NULL) {
            break;
        }
        size_t k = (size_t)(nl - buf);
        if (k + 1 < lim && buf[k + 1] == '\n') {
            return k + 2;
        }
        if (k + 2 < lim && buf[k + 1] == '\r' && buf[k + 2] == '\n') {
            return k + 3;
        }
        if (k + 2 >= lim) {
            /* The bytes that decide are not here yet: look again later. */
            *scanned = k;
            return 0;
        }
        i = k + 1;
    }
    *scanned = lim;
    return 0;
}

/* One line of the head: [start, stop) without its CR LF or LF. */
struct line {
    const char *start, *stop;
};

/* The line starting at *pos (before end, which the blank line ends);
 * moves *pos past its LF. */
static struct line next_line(const char **pos) {
    const char *s = *pos;
    const char *nl = s;
    while (*nl != '\n') {
        nl++;
    }
    *pos = nl + 1;
    struct line l = {s, nl};
    if (nl > s && nl[-1] == '\r') {
        l.stop--;
    }
    return l;
}

/* "METHOD SP target SP HTTP/1.d". Returns 0 or HTTP_PARSE_BAD. */
static int parse_request_line(struct line l, http_request *req) {
    const char *p = l.start;
    while (p < l.stop && is((unsigned char)*p, C_TOKEN)) {
        p++;
    }
    if (p == l.start || p == l.stop || *p != ' ') {
        return HTTP_PARSE_BAD;
    }
    req->method = (http_str){l.start, (size_t)(p - l.start)};
    const char *t = ++p;
    while (p < l.stop && is((unsigned char)*p, C_TARGET)) {
        p++;
    }
    if (p == t || p == l.stop || *p != ' ') {
        return HTTP_PARSE_BAD;
    }
    req->target = (http_str){t, (size_t)(p - t)};
    p++;
    if (l.stop - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' ||
        p[7] > '9') {
        return HTTP_PARSE_BAD;
    }
    /* RFC 9110 2.5: a higher 1.x minor version is served as 1.1. */
    req->minor = p[7] == '0' ? 0 : 1;
    return 0;
}

/* A Content-Length value: digits only, at most 18 so it cannot overflow.
 * Returns the length or -1. */
static int64_t parse_length(http_str v) {
    if (v.len == 0 || v.len > 18) {
        return -1;
    }
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        n = n * 10 + (c - '0');
    }
    return n;
}

/* Connection: a comma-separated token list. Sets the two flags. */
static void parse_connection(http_str v, int *close, int *keep) {
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        const char *s = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }
        if (eq_nocase(s, (size_t)(p - s), "close")) {
            *close = 1;
        } else if (eq_nocase(s, (size_t)(p - s), "keep-alive")) {
            *keep = 1;
        }
    }
}

/* What the head's fields said, before the version defaults apply. */
struct fields {
    int close, keep, hosts;
};

/* Record one field's meaning. Returns 0 or HTTP_PARSE_BAD. */
static int note_field(const http_header *h, http_request *req,
                      struct fields *f) {
    switch (h->name.len) {
    case 4:
        if (eq_nocase(h->name.ptr, 4, "host")) {
            f->hosts++;
        }
        break;
    case 10:
        if (eq_nocase(h->name.ptr, 10, "connection")) {
            parse_connection(h->value, &f->close, &f->keep);
        }
        break;
    case 14:
        if (eq_nocase(h->name.ptr, 14, "content-length")) {
            int64_t n = parse_length(h->value);
            if (n < 0 || (req->content_length >= 0 &&
                          req->content_length != n)) {
                return HTTP_PARSE_BAD;
            }
            req->content_length = n;
        }
        break;
    case 17:
        if (eq_nocase(h->name.ptr, 17, "transfer-encoding")) {
            req->chunked = true;
        }
        break;
    default:
        break;
    }
    return 0;
}

/* "name: OWS value OWS". Returns 0, HTTP_PARSE_BAD or _TOO_LARGE. */
static int parse_field(struct line l, http_request *req, struct fields *f) {
    const char *p = l.start;
    while (p < l.stop && is((unsigned char)*p, C_TOKEN)) {
        p++;
    }
    /* Also rejects folded lines (they start with SP or HTAB) and
     * whitespace before the colon (RFC 9112 5.1). */
    if (p == l.start || p == l.stop || *p != ':') {
        return HTTP_PARSE_BAD;
    }
    if (req->header_count == HTTP_MAX_HEADERS) {
        return HTTP_PARSE_TOO_LARGE;
    }
    http_header *h = &req->headers[req->header_count++];
    h->name = (http_str){l.start, (size_t)(p - l.start)};
    p++;
    while (p < l.stop && (*p == ' ' || *p == '\t')) {
        p++;
    }
    const char *v = p, *stop = l.stop;
    for (; p < stop; p++) {
        if (!is((unsigned char)*p, C_VALUE)) {
            return HTTP_PARSE_BAD;
        }
    }
    while (stop > v && (stop[-1] == ' ' || stop[-1] == '\t')) {
        stop--;
    }
    h->value = (http_str){v, (size_t)(stop - v)};
    return note_field(h, req, f);
}

int http_parse_request(http_parser *p, const char *buf, size_t len,
                       size_t max_head, http_request *req) {
    size_t lim = len < max_head ? len : max_head;
    /* RFC 9112 2.2: ignore empty lines before the request line. */
    size_t lead = 0;
    for (;;) {
        if (lead < lim && buf[lead] == '\n') {
            lead++;
        } else if (lead + 1 < lim && buf[lead] == '\r' &&
                   buf[lead + 1] == '\n') {
            lead += 2;
        } else {
            break;
        }
    }
    if (p->scanned < lead) {
        p->scanned = lead;
    }
    size_t end = find_head_end(buf, lim, &p->scanned);
    if (end == 0) {
        return len >= max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_NEED_MORE;
    }
    req->header_count = 0;
    req->content_length = -1;
    req->chunked = false;

    const char *pos = buf + lead;
    struct line l = next_line(&pos);
    int rc = parse_request_line(l, req);
    if (rc < 0) {
        return rc;
    }
    struct fields f = {0, 0, 0};
    for (;;) {
        l = next_line(&pos);
        if (l.start == l.stop) {
            break;
        }
        rc = parse_field(l, req, &f);
        if (rc < 0) {
            return rc;
        }
    }
    if (f.hosts > 1 || (req->minor >= 1 && f.hosts == 0) ||
        (req->chunked && req->content_length >= 0)) {
        return HTTP_PARSE_BAD;
    }
    req->keep_alive = !f.close && (req->minor >= 1 || f.keep);
    return (int)end;
}

const http_header *http_find_header(const http_request *req,
                                    const char *name) {
    for (size_t i = 0; i < req->header_count; i++) {
        const http_header *h = &req->headers[i];
        if (eq_nocase(h->name.ptr, h->name.len, name)) {
            return h;
        }
    }
    return NULL;
}

static int hex(unsigned char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decode the path part of target into out. Returns the decoded
 * length, -1 (bad escape, control byte) or -2 (out too small). */
static int decode(const char *t, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex((unsigned char)t[i + 1]) : -1;
            int lo = hi >= 0 ? hex((unsigned char)t[i + 2]) : -1;
            if (lo < 0) {
                return -1;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            return -1;    /* NUL, CR, LF and the other controls. */
        }
        if (n + 1 >= cap) {
            return -2;
        }
        out[n++] = (char)c;
    }
    return (int)n;
}

int http_path_normalize(const char *target, size_t len, char *out,
                        size_t cap) {
    if (cap < 2) {
        return -2;
    }
    /* Absolute form (RFC 9112, 3.2.2), as proxies send it; a server must
     * accept it. One site is served, so the authority is dropped. */
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
        size_t k = strlen(schemes[s]);
        if (len < k || strncasecmp(target, schemes[s], k) != 0) {
            continue;
        }
        size_t i = k;
        while (i < len && target[i] != '/' && target[i] != '?' &&
               target[i] != '#') {
            i++;
        }
        if (i == k) {
            return -1; /* No authority. */
        }
        if (i < len && target[i] == '/') {
            target += i;
            len -= i;
        } else {
            target = "/"; /* "http://host" or "http://host?q": the root. */
            len = 1;
        }
        break;
    }
    if (len == 0 || target[0] != '/') {
        return -1;
    }
    /* Decode first, then resolve dot segments: the other order lets
     * "%2e%2e" through. */
    int rc = decode(target, len, out, cap);
    if (rc < 0) {
        return rc;
    }
    size_t n = (size_t)rc, r = 0, w = 1;
    int trailing_name = 0;
    /* Invariant: out[0..w) is the normalised prefix and ends with '/';
     * w <= r, because each segment read is preceded by a '/' and is
     * written back followed by exactly one. */
    while (r < n) {
        while (r < n && out[r] == '/') {
            r++;
        }
        if (r == n) {
            break;
        }
        size_t s = r;
        while (r < n && out[r] != '/') {
            r++;
        }
        size_t seg = r - s;
        trailing_name = 0;
        if (seg == 1 && out[s] == '.') {
            continue;
        }
        if (seg == 2 && out[s] == '.' && out[s + 1] == '.') {
            if (w == 1) {
                return -1;    /* Above the root. */
            }
            w--;
            while (out[w - 1] != '/') {
                w--;
            }
            continue;
        }
        memmove(out + w, out + s, seg);
        w += seg;
        out[w++] = '/';
        trailing_name = r == n;
    }
    if (trailing_name) {
        w--;
    }
    out[w] = '\0';
    return (int)w;
}

struct mime {
    const char *ext, *type;
};

static const struct mime mimes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff2", "font/woff2"},
};

const char *http_mime_type(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot != NULL && (slash == NULL || dot > slash)) {
        for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
            if (eq_nocase(dot + 1, strlen(dot + 1), mimes[i].ext)) {
                return mimes[i].type;
            }
        }
    }
    return "application/octet-stream";
}
