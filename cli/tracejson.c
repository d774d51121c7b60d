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

/* Append one code point as UTF-8, if it fits. */
static void put_utf8(char *out, size_t cap, size_t *len, unsigned cp) {
    char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    if (*len + (size_t)n < cap) {
        memcpy(out + *len, b, (size_t)n);
        *len += (size_t)n;
    }
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

/* A string into out (truncated to cap - 1 bytes; out may be NULL). */
static int string(struct parser *ps, char *out, size_t cap) {
    size_t len = 0;
    if (expect(ps, '"') < 0) {
        return -1;
    }
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            return fail(ps, "control character in a string");
        }
        unsigned cp = c;
        if (c == '\\') {
            if (ps->p >= ps->end) {
                break;
            }
            char e = *ps->p++;
            if (e == 'u') {
                if (ps->end - ps->p < 4) {
                    return fail(ps, "short \\u escape");
                }
                char hex[5] = {ps->p[0], ps->p[1], ps->p[2], ps->p[3], 0};
                char *hend;
                cp = (unsigned)strtoul(hex, &hend, 16);
                if (*hend != '\0') {
                    return fail(ps, "bad \\u escape");
                }
                ps->p += 4;
            } else if ((cp = unescape(e)) == 0) {
                return fail(ps, "bad escape in a string");
            }
        }
        if (out != NULL && cap > 0) {
            if (c != '\\' || cp < 0x80) {
                if (len + 1 < cap) {
                    out[len++] = (char)cp;
                }
            } else {
                put_utf8(out, cap, &len, cp);
            }
        }
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

struct open_slice {
    int row;
    char name[64];
    double ts;
};

struct builder {
    tl_trace *t;
    struct open_slice *open; /* Begun, not yet ended (a stack per row). */
    int nopen, capopen, capslices, caprows;
    const char *err;
};

static int row_of(struct builder *b, long pid, long tid) {
    for (int i = 0; i < b->t->nrows; i++) {
        if (b->t->rows[i].pid == pid && b->t->rows[i].tid == tid) {
            return i;
        }
    }
    if (b->t->nrows == b->caprows) {
        int cap = b->caprows ? 2 * b->caprows : 16;
        tl_row *r = realloc(b->t->rows, (size_t)cap * sizeof(*r));
        if (r == NULL) {
            return -1;
        }
        b->t->rows = r;
        b->caprows = cap;
    }
    tl_row *r = &b->t->rows[b->t->nrows];
    *r = (tl_row){.pid = pid, .tid = tid};
    snprintf(r->name, sizeof(r->name), "pid %ld tid %ld", pid, tid);
    return b->t->nrows++;
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
        if (b->nopen == b->capopen) {
            int cap = b->capopen ? 2 * b->capopen : 64;
            struct open_slice *o = realloc(b->open, (size_t)cap * sizeof(*o));
            if (o == NULL) {
                return -1;
            }
            b->open = o;
            b->capopen = cap;
        }
        b->open[b->nopen] = (struct open_slice){.row = row, .ts = e->ts};
        snprintf(b->open[b->nopen].name, 64, "%s", e->name);
        b->nopen++;
        return 0;
    case 'E':
        /* The innermost open slice of this row ends here. */
        for (int i = b->nopen - 1; i >= 0; i--) {
            if (b->open[i].row == row) {
                struct open_slice o = b->open[i];
                memmove(&b->open[i], &b->open[i + 1],
                        (size_t)(b->nopen - i - 1) * sizeof(o));
                b->nopen--;
                if (e->ts < o.ts) {
                    b->err = "an \"E\" event before its \"B\"";
                    return -1;
                }
                return add_slice(b, row, o.name, o.ts, e->ts);
            }
        }
        b->err = "an \"E\" event without a \"B\" on its row";
        return -1;
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

static int cmp_rows(const void *a, const void *b) {
    const tl_row *x = a, *y = b;
    if (x->pid != y->pid) {
        return x->pid < y->pid ? -1 : 1;
    }
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Sort the rows by pid, then tid, and renumber the slices' rows. */
static int sort_rows(tl_trace *t) {
    tl_row *old = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof(*old));
    if (old == NULL) {
        return -1;
    }
    memcpy(old, t->rows, (size_t)t->nrows * sizeof(*old));
    qsort(t->rows, (size_t)t->nrows, sizeof(*t->rows), cmp_rows);
    for (int i = 0; i < t->nslices; i++) {
        const tl_row *r = &old[t->slices[i].row];
        for (int j = 0; j < t->nrows; j++) {
            if (t->rows[j].pid == r->pid && t->rows[j].tid == r->tid) {
                t->slices[i].row = j;
                break;
            }
        }
    }
    free(old);
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
    struct builder b = {.t = out};
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
    free(text);
    return rc;
}

void tl_free(tl_trace *t) {
    free(t->slices);
    free(t->rows);
    *t = (tl_trace){0};
}
