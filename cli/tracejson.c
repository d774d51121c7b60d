/* SPDX-License-Identifier: MIT */
/*
 * tracejson.c - a small reader for Chrome trace event files, enough for
 * the timelines juggle writes (and other tools' files of the same shape):
 * the top level is an array of events or an object whose "traceEvents" is
 * one. Of each event it keeps name, ph, ts, dur, pid, tid and args.name,
 * and skips everything else. "B"/"E" pairs (nested per row) and "X"
 * complete events become slices; "M" thread_name / process_name events
 * name the rows.
 *
 * The parser is a strict recursive descent over the whole file in memory:
 * strings with every JSON escape, numbers via strtod, nesting limited to
 * 64 levels. An error names the line where it was found.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct parser {
    const char *p, *end, *start;
    const char *err;
};

struct event {
    char name[64];
    char ph[4];
    char arg_name[64];
    double ts, dur;
    long pid, tid;
};

static void ws(struct parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static int fail(struct parser *ps, const char *why) {
    if (ps->err == NULL) {
        ps->err = why;
    }
    return -1;
}

static int expect(struct parser *ps, char c) {
    ws(ps);
    if (ps->p >= ps->end) {
        return fail(ps, "unexpected end of file");
    }
    if (*ps->p != c) {
        return fail(ps, c == ':' ? "expected ':'" : c == '"' ?
                    "expected a string" : "unexpected character");
    }
    ps->p++;
    return 0;
}

/* Append one code point as UTF-8 if it fits whole; once one does not,
 * nothing more is appended (*full), so a long name is cut between
 * characters and never skips one. */
static void put_utf8(char *out, size_t cap, size_t *len, int *full,
                     unsigned cp) {
    char b[4];
    size_t n = cli_utf8_encode(cp, b);
    if (*full || *len + n >= cap) {
        *full = 1;
        return;
    }
    memcpy(out + *len, b, n);
    *len += n;
}

/* The character a one-letter escape stands for; 0 for a bad escape. */
static unsigned unescape(char e) {
    switch (e) {
    case '"':
    case '\\':
    case '/':
        return (unsigned char)e;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

/* Four hex digits at p (exactly: no sign, no space); -1 if not. */
static long hex4(const char *p, const char *end) {
    long v = 0;
    if (end - p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* The code point of a \u escape, ps->p just past the 'u'. A surrogate
 * pair (\uD83D\uDE00) makes one character; a lone surrogate, and \u0000
 * (which would end the C string early), become U+FFFD. */
static int unicode_escape(struct parser *ps, unsigned *cp) {
    long v = hex4(ps->p, ps->end);
    if (v < 0) {
        return fail(ps, "bad \\u escape (four hex digits expected)");
    }
    ps->p += 4;
    if (v >= 0xD800 && v <= 0xDBFF && ps->end - ps->p >= 6 &&
        ps->p[0] == '\\' && ps->p[1] == 'u') {
        long lo = hex4(ps->p + 2, ps->end);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            ps->p += 6;
            *cp = 0x10000 + (((unsigned)v - 0xD800) << 10) +
                  ((unsigned)lo - 0xDC00);
            return 0;
        }
    }
    *cp = v == 0 || (v >= 0xD800 && v <= 0xDFFF) ? 0xFFFD : (unsigned)v;
    return 0;
}

/* A string into out (out may be NULL), as valid UTF-8 cut to at most
 * cap - 1 bytes at a character boundary. Bytes that are not UTF-8 become
 * U+FFFD. */
static int string(struct parser *ps, char *out, size_t cap) {
    size_t len = 0;
    int full = out == NULL || cap == 0;
    if (expect(ps, '"') < 0) {
        return -1;
    }
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        unsigned cp;
        if (c < 0x20) {
            return fail(ps, "control character in a string");
        }
        if (c == '\\') {
            if (ps->end - ps->p < 2) {
                ps->p++;
                break;
            }
            char e = ps->p[1];
            ps->p += 2;
            if (e == 'u') {
                if (unicode_escape(ps, &cp) < 0) {
                    return -1;
                }
            } else if ((cp = unescape(e)) == 0) {
                return fail(ps, "bad escape in a string");
            }
        } else {
            ps->p += cli_utf8_decode(ps->p, (size_t)(ps->end - ps->p), &cp);
        }
        put_utf8(out, cap, &len, &full, cp);
    }
    if (ps->p >= ps->end) {
        return fail(ps, "unterminated string");
    }
    ps->p++;
    if (out != NULL && cap > 0) {
        out[len] = '\0';
    }
    return 0;
}

static int number(struct parser *ps, double *out) {
    ws(ps);
    char buf[64];
    size_t n = 0;
    while (ps->p + n < ps->end && n + 1 < sizeof(buf) &&
           strchr("+-0123456789.eE", ps->p[n]) != NULL) {
        buf[n] = ps->p[n];
        n++;
    }
    buf[n] = '\0';
    char *end;
    *out = strtod(buf, &end);
    if (n == 0 || *end != '\0') {
        return fail(ps, "bad number");
    }
    ps->p += n;
    return 0;
}

static int literal(struct parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return fail(ps, "unexpected word");
    }
    ps->p += n;
    return 0;
}

static int skip_value(struct parser *ps, int depth);

/* Walk an object; key_fn sees each key with the parser at its value and
 * must consume the value. */
typedef int (*key_fn)(struct parser *ps, const char *key, void *ctx,
                      int depth);

static int object(struct parser *ps, key_fn fn, void *ctx, int depth) {
    if (depth > 64) {
        return fail(ps, "nested too deeply");
    }
    if (expect(ps, '{') < 0) {
        return -1;
    }
    ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        char key[64];
        if (string(ps, key, sizeof(key)) < 0 || expect(ps, ':') < 0 ||
            fn(ps, key, ctx, depth + 1) < 0) {
            return -1;
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        return expect(ps, '}');
    }
}

static int skip_key(struct parser *ps, const char *key, void *ctx,
                    int depth) {
    (void)key;
    (void)ctx;
    return skip_value(ps, depth);
}

static int skip_value(struct parser *ps, int depth) {
    ws(ps);
    if (ps->p >= ps->end) {
        return fail(ps, "unexpected end of file");
    }
    double d;
    switch (*ps->p) {
    case '"':
        return string(ps, NULL, 0);
    case '{':
        return object(ps, skip_key, NULL, depth);
    case '[':
        if (depth > 64) {
            return fail(ps, "nested too deeply");
        }
        ps->p++;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        for (;;) {
            if (skip_value(ps, depth + 1) < 0) {
                return -1;
            }
            ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            return expect(ps, ']');
        }
    case 't':
        return literal(ps, "true");
    case 'f':
        return literal(ps, "false");
    case 'n':
        return literal(ps, "null");
    default:
        return number(ps, &d);
    }
}

static int args_key(struct parser *ps, const char *key, void *ctx,
                    int depth) {
    struct event *e = ctx;
    ws(ps);
    if (strcmp(key, "name") == 0 && ps->p < ps->end && *ps->p == '"') {
        return string(ps, e->arg_name, sizeof(e->arg_name));
    }
    return skip_value(ps, depth);
}

/*
 * The numbers an event may hold, and their ranges. Times are in
 * microseconds: 1e17 us is some 3,000 years, so both traces that start at
 * 0 and traces stamped with the time since the Unix epoch (1.7e15 us in
 * 2024) fit, and ts + dur stays finite and exact to well under a second.
 * pid and tid are whole numbers a double holds exactly (2^53, within a
 * 64-bit long), so converting them is defined.
 */
#define TIME_MAX_US 1e17
#define ID_MAX 9007199254740992.0
static const struct {
    const char *key;
    double lo, hi;
    const char *not_finite, *out_of_range;
} nums[] = {
    {"ts", -TIME_MAX_US, TIME_MAX_US, "\"ts\" is not a finite number",
     "\"ts\" is out of range (-1e17 to 1e17 microseconds)"},
    {"dur", 0, TIME_MAX_US, "\"dur\" is not a finite number",
     "\"dur\" is out of range (0 to 1e17 microseconds)"},
    {"pid", -ID_MAX, ID_MAX, "\"pid\" is not a finite number",
     "\"pid\" is out of range (-2^53 to 2^53)"},
    {"tid", -ID_MAX, ID_MAX, "\"tid\" is not a finite number",
     "\"tid\" is out of range (-2^53 to 2^53)"},
};
_Static_assert(ID_MAX < (double)LONG_MAX, "pid and tid must fit a long");

static int event_key(struct parser *ps, const char *key, void *ctx,
                     int depth) {
    struct event *e = ctx;
    double d;
    ws(ps);
    int is_str = ps->p < ps->end && *ps->p == '"';
    if (strcmp(key, "name") == 0 && is_str) {
        return string(ps, e->name, sizeof(e->name));
    }
    if (strcmp(key, "ph") == 0 && is_str) {
        return string(ps, e->ph, sizeof(e->ph));
    }
    if (strcmp(key, "args") == 0 && ps->p < ps->end && *ps->p == '{') {
        return object(ps, args_key, e, depth);
    }
    for (int i = 0; i < 4; i++) {
        if (strcmp(key, nums[i].key) == 0 && !is_str) {
            if (number(ps, &d) < 0) {
                return -1;
            }
            if (!isfinite(d)) {
                return fail(ps, nums[i].not_finite);
            }
            if (d < nums[i].lo || d > nums[i].hi) {
                return fail(ps, nums[i].out_of_range);
            }
            if (i == 0) {
                e->ts = d;
            } else if (i == 1) {
                e->dur = d;
            } else if (i == 2) {
                e->pid = (long)d;
            } else {
                e->tid = (long)d;
            }
            return 0;
        }
    }
    return skip_value(ps, depth);
}

/* ---- building the timeline ---- */

/*
 * Rows are found through a hash table keyed by (pid, tid), and each row
 * keeps its own stack of open slices (linked through the pool `open`), so
 * reading a trace takes time linear in its events however many rows it
 * has (a linear search made 60,000 rows take minutes).
 */
struct open_slice {
    int prev;      /* The slice open below this one on its row, or -1;
                    * in the free list, the next free entry. */
    char name[64];
    double ts;
};

struct builder {
    tl_trace *t;
    struct open_slice *open; /* Pool of begun, not yet ended slices. */
    int *top;                /* Per row: its innermost open slice, or -1. */
    int *hash;               /* Open addressing: row index + 1, 0 = empty. */
    int nopen, capopen, free_open, capslices, caprows, caphash;
    const char *err;
};

static size_t hash_of(long pid, long tid, int cap) {
    /* splitmix64's finaliser: any bit of either id moves every bit. */
    uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15u ^ (uint64_t)tid;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBu;
    h ^= h >> 31;
    return (size_t)(h & (uint64_t)(cap - 1));
}

/* Put row i into the table (which has room: at most half full). */
static void hash_put(struct builder *b, int i) {
    const tl_row *r = &b->t->rows[i];
    size_t h = hash_of(r->pid, r->tid, b->caphash);
    while (b->hash[h] != 0) {
        h = (h + 1) & (size_t)(b->caphash - 1);
    }
    b->hash[h] = i + 1;
}

/* Double the table (power of two sizes) and put every row back. */
static int hash_grow(struct builder *b) {
    int cap = b->caphash ? 2 * b->caphash : 64;
    int *h = calloc((size_t)cap, sizeof(*h));
    if (h == NULL) {
        return -1;
    }
    free(b->hash);
    b->hash = h;
    b->caphash = cap;
    for (int i = 0; i < b->t->nrows; i++) {
        hash_put(b, i);
    }
    return 0;
}

/* Room for one more row in rows[] and top[]. */
static int rows_reserve(struct builder *b) {
    if (b->t->nrows < b->caprows) {
        return 0;
    }
    int cap = b->caprows ? 2 * b->caprows : 16;
    tl_row *r = realloc(b->t->rows, (size_t)cap * sizeof(*r));
    if (r == NULL) {
        return -1;
    }
    b->t->rows = r;
    int *top = realloc(b->top, (size_t)cap * sizeof(*top));
    if (top == NULL) {
        return -1;
    }
    b->top = top;
    b->caprows = cap;
    return 0;
}

static int row_of(struct builder *b, long pid, long tid) {
    if (b->caphash > 0) {
        size_t h = hash_of(pid, tid, b->caphash);
        for (; b->hash[h] != 0; h = (h + 1) & (size_t)(b->caphash - 1)) {
            const tl_row *r = &b->t->rows[b->hash[h] - 1];
            if (r->pid == pid && r->tid == tid) {
                return b->hash[h] - 1;
            }
        }
    }
    if (b->t->nrows == INT_MAX - 1 || rows_reserve(b) < 0 ||
        (2 * (b->t->nrows + 1) > b->caphash && hash_grow(b) < 0)) {
        return -1;
    }
    int i = b->t->nrows++;
    tl_row *r = &b->t->rows[i];
    *r = (tl_row){.pid = pid, .tid = tid};
    snprintf(r->name, sizeof(r->name), "pid %ld tid %ld", pid, tid);
    b->top[i] = -1;
    hash_put(b, i);
    return i;
}

/* Push a begun slice on its row's stack. */
static int open_push(struct builder *b, int row, const char *name,
                     double ts) {
    int i = b->free_open;
    if (i < 0) {
        if (b->capopen == b->nopen) {
            int cap = b->capopen ? 2 * b->capopen : 64;
            struct open_slice *o = realloc(b->open, (size_t)cap * sizeof(*o));
            if (o == NULL) {
                return -1;
            }
            b->open = o;
            b->capopen = cap;
        }
        i = b->nopen; /* The free list is empty: every entry is in use. */
    } else {
        b->free_open = b->open[i].prev;
    }
    b->open[i] = (struct open_slice){.prev = b->top[row], .ts = ts};
    snprintf(b->open[i].name, sizeof(b->open[i].name), "%s", name);
    b->top[row] = i;
    b->nopen++;
    return 0;
}

static int add_slice(struct builder *b, int row, const char *name,
                     double begin, double end) {
    if (b->t->nslices == b->capslices) {
        int cap = b->capslices ? 2 * b->capslices : 256;
        tl_slice *s = realloc(b->t->slices, (size_t)cap * sizeof(*s));
        if (s == NULL) {
            return -1;
        }
        b->t->slices = s;
        b->capslices = cap;
    }
    tl_slice *s = &b->t->slices[b->t->nslices++];
    *s = (tl_slice){.row = row, .begin_us = begin, .end_us = end};
    snprintf(s->name, sizeof(s->name), "%s", name);
    b->t->end_us = end > b->t->end_us ? end : b->t->end_us;
    return 0;
}

static int take_event(struct builder *b, const struct event *e) {
    if (strchr("BEXM", e->ph[0]) == NULL || e->ph[0] == '\0' ||
        (e->ph[0] == 'M' && strcmp(e->name, "thread_name") != 0)) {
        return 0; /* Instants, counters, flows, process names: no row. */
    }
    int row = row_of(b, e->pid, e->tid);
    if (row < 0) {
        return -1;
    }
    switch (e->ph[0]) {
    case 'B':
        return open_push(b, row, e->name, e->ts);
    case 'E': {
        /* The innermost open slice of this row ends here. */
        int i = b->top[row];
        if (i < 0) {
            b->err = "an \"E\" event without a \"B\" on its row";
            return -1;
        }
        struct open_slice o = b->open[i];
        b->top[row] = o.prev;
        b->open[i].prev = b->free_open;
        b->free_open = i;
        b->nopen--;
        if (e->ts < o.ts) {
            b->err = "an \"E\" event before its \"B\"";
            return -1;
        }
        return add_slice(b, row, o.name, o.ts, e->ts);
    }
    case 'X':
        return add_slice(b, row, e->name, e->ts, e->ts + e->dur);
    case 'M':
        if (e->arg_name[0] != '\0') {
            snprintf(b->t->rows[row].name, sizeof(b->t->rows[row].name),
                     "%s", e->arg_name);
        }
        return 0;
    default:
        return 0;
    }
}

static int events_array(struct parser *ps, struct builder *b) {
    if (expect(ps, '[') < 0) {
        return -1;
    }
    ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        struct event e = {0};
        if (object(ps, event_key, &e, 2) < 0) {
            return -1;
        }
        if (take_event(b, &e) < 0) {
            return fail(ps, b->err ? b->err : "out of memory");
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        return expect(ps, ']');
    }
}

static int top_key(struct parser *ps, const char *key, void *ctx,
                   int depth) {
    if (strcmp(key, "traceEvents") == 0) {
        return events_array(ps, ctx);
    }
    return skip_value(ps, depth);
}

struct sort_row {
    tl_row row;
    int old; /* Its index before the sort. */
};

static int cmp_rows(const void *a, const void *b) {
    const tl_row *x = &((const struct sort_row *)a)->row;
    const tl_row *y = &((const struct sort_row *)b)->row;
    if (x->pid != y->pid) {
        return x->pid < y->pid ? -1 : 1;
    }
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Sort the rows by pid, then tid, and renumber the slices' rows through
 * a map from old index to new. */
static int sort_rows(tl_trace *t) {
    size_t n = (size_t)(t->nrows ? t->nrows : 1);
    struct sort_row *sr = malloc(n * sizeof(*sr));
    int *map = malloc(n * sizeof(*map));
    if (sr == NULL || map == NULL) {
        free(sr);
        free(map);
        return -1;
    }
    for (int i = 0; i < t->nrows; i++) {
        sr[i] = (struct sort_row){.row = t->rows[i], .old = i};
    }
    qsort(sr, (size_t)t->nrows, sizeof(*sr), cmp_rows);
    for (int i = 0; i < t->nrows; i++) {
        t->rows[i] = sr[i].row;
        map[sr[i].old] = i;
    }
    for (int i = 0; i < t->nslices; i++) {
        t->slices[i].row = map[t->slices[i].row];
    }
    free(map);
    free(sr);
    return 0;
}

static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = len;
    return buf;
}

int tl_load(const char *path, tl_trace *out) {
    size_t size;
    char *text = slurp(path, &size);
    if (text == NULL) {
        cli_error(path, "%s", strerror(errno));
        return -1;
    }
    *out = (tl_trace){0};
    struct builder b = {.t = out, .free_open = -1};
    struct parser ps = {.p = text, .end = text + size, .start = text};
    ws(&ps);
    int rc;
    if (ps.p < ps.end && *ps.p == '{') {
        rc = object(&ps, top_key, &b, 1);
    } else {
        rc = events_array(&ps, &b);
    }
    ws(&ps);
    if (rc == 0 && ps.p != ps.end) {
        rc = fail(&ps, "text after the end of the JSON value");
    }
    if (rc == 0 && b.nopen > 0) {
        rc = fail(&ps, "a \"B\" event without its \"E\"");
    }
    if (rc == 0 && sort_rows(out) < 0) {
        rc = fail(&ps, "out of memory");
    }
    if (rc < 0) {
        int line = 1;
        for (const char *c = text; c < ps.p && c < ps.end; c++) {
            line += *c == '\n';
        }
        cli_error(path, "line %d: %s", line, ps.err);
        tl_free(out);
    }
    free(b.open);
    free(b.top);
    free(b.hash);
    free(text);
    return rc;
}

void tl_free(tl_trace *t) {
    free(t->slices);
    free(t->rows);
    *t = (tl_trace){0};
}
