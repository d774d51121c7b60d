/* SPDX-License-Identifier: MIT */
/*
 * dataset.c - the article's "processing large datasets by splitting the
 * data across multiple processors": the 20 most frequent words of a large
 * text file, counted serially, with a process pool, with a thread pool and
 * with juggle's own workers (jg_map with no pool, i.e. jg_par_for), with
 * the time of each and a check that every model found the same answer.
 *
 *     dataset [--mb N] [--file PATH] [--workers W]
 *
 * Without --file it writes a text of N MiB (default 1024) to
 * /tmp/juggle-dataset-<N>mb.txt (kept and reused): words drawn from a
 * made-up vocabulary with Zipf-like frequencies. Words are runs of letters
 * and apostrophes, lowercased; a word longer than 23 bytes counts as its
 * first 23.
 *
 * The split: the file is mapped into memory once, before the pools exist,
 * so child processes see it without copying (fork shares the mapping).
 * It is cut into chunks; each chunk's count is one map item, whose output
 * is a fixed-size hash table (the only data that crosses from a child back
 * to the parent). The tables are then merged and sorted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <juggle.h>

#define WORD_MAX 23
#define TABLE_CAP 8192 /* Slots per chunk table: room for ~5,000 words. */
#define TOP 20

struct entry {
    char w[WORD_MAX + 1]; /* "" = empty slot. */
    uint64_t count;
};

struct table {
    uint32_t used;
    struct entry e[TABLE_CAP];
};

struct span {
    size_t lo, hi; /* Words that start in [lo, hi). */
};

struct text {
    const char *data;
    size_t len;
};

static uint64_t hash(const char *w, size_t n) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)w[i]) * 1099511628211u;
    }
    return h;
}

/* Add n to word w (len bytes) in t. Returns 0, or -E2BIG when full. */
static int table_add(struct table *t, const char *w, size_t len, uint64_t n) {
    size_t i = hash(w, len) & (TABLE_CAP - 1);
    for (;;) {
        struct entry *e = &t->e[i];
        if (e->w[0] == '\0') {
            if (t->used >= TABLE_CAP * 3 / 4) {
                return -E2BIG;
            }
            memcpy(e->w, w, len);
            e->w[len] = '\0';
            e->count = n;
            t->used++;
            return 0;
        }
        if (strncmp(e->w, w, len) == 0 && e->w[len] == '\0') {
            e->count += n;
            return 0;
        }
        i = (i + 1) & (TABLE_CAP - 1);
    }
}

static bool is_word(char c) {
    return isalpha((unsigned char)c) || c == '\'';
}

/* The map body: count the words that start in one span. */
static int count_span(void *ctx, const void *in, void *out) {
    const struct text *tx = ctx;
    const struct span *s = in;
    struct table *t = out;
    memset(t, 0, sizeof(*t));
    size_t i = s->lo;
    if (i > 0) {
        while (i < s->hi && is_word(tx->data[i - 1]) && is_word(tx->data[i])) {
            i++; /* The word that started before us is not ours. */
        }
    }
    char w[WORD_MAX];
    while (i < s->hi) {
        if (!is_word(tx->data[i])) {
            i++;
            continue;
        }
        size_t len = 0;
        for (; i < tx->len && is_word(tx->data[i]); i++) {
            if (len < WORD_MAX) {
                w[len++] = (char)tolower((unsigned char)tx->data[i]);
            }
        }
        int rc = table_add(t, w, len, 1);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- the generated text ---- */

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define VOCAB 3000

static int generate(const char *path, size_t mb) {
    static char words[VOCAB][16];
    static double cum[VOCAB];
    uint64_t s = 88172645463325252u;
    double total = 0;
    for (int i = 0; i < VOCAB; i++) {
        int len = 2 + (int)(rng_next(&s) % 9);
        for (int k = 0; k < len; k++) {
            words[i][k] = (char)('a' + rng_next(&s) % 26);
        }
        total += 1.0 / (i + 1.0); /* Zipf: the k-th word ~ 1/k. */
        cum[i] = total;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -errno;
    }
    size_t target = mb << 20, written = 0;
    static char buf[1 << 20];
    int col = 0;
    while (written < target) {
        size_t n = 0;
        while (n < sizeof(buf) - 32) {
            double x =
                (double)(rng_next(&s) >> 11) / 9007199254740992.0 * total;
            int lo = 0, hi = VOCAB - 1;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (cum[mid] < x) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            size_t len = strlen(words[lo]);
            memcpy(buf + n, words[lo], len);
            n += len;
            col += (int)len + 1;
            buf[n++] = col > 70 ? '\n' : ' ';
            col = col > 70 ? 0 : col;
        }
        size_t want = target - written < n ? target - written : n;
        if (fwrite(buf, 1, want, f) != want) {
            fclose(f);
            return -EIO;
        }
        written += want;
    }
    return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- the models ---- */

struct answer {
    uint64_t words;
    struct entry top[TOP];
    int ntop;
    int failed; /* Chunks that failed (-E2BIG: too many distinct words). */
};

static int by_count(const void *a, const void *b) {
    const struct entry *x = a, *y = b;
    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return strcmp(x->w, y->w);
}

/* Merge the chunk tables and keep the top words. */
static void merge(struct table *tables, size_t n, int failed,
                  struct answer *a) {
    static struct table all; /* The merged counts fit one table too. */
    memset(&all, 0, sizeof(all));
    memset(a, 0, sizeof(*a));
    a->failed = failed;
    for (size_t c = 0; c < n; c++) {
        for (size_t i = 0; i < TABLE_CAP; i++) {
            const struct entry *e = &tables[c].e[i];
            if (e->w[0] != '\0') {
                if (table_add(&all, e->w, strlen(e->w), e->count) < 0) {
                    a->failed++;
                }
                a->words += e->count;
            }
        }
    }
    qsort(all.e, TABLE_CAP, sizeof(all.e[0]), by_count);
    for (; a->ntop < TOP && all.e[a->ntop].w[0] != '\0'; a->ntop++) {
        a->top[a->ntop] = all.e[a->ntop];
    }
}

static int run_model(const char *model, int workers, struct text *tx,
                     struct span *spans, size_t n, struct table *tables,
                     struct answer *a) {
    if (strcmp(model, "serial") == 0) {
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
            failed += count_span(tx, &spans[i], &tables[i]) < 0;
        }
        merge(tables, n, failed, a);
        return 0;
    }
    jg_pool *p = NULL;
    if (strcmp(model, "tasks") != 0) {
        jg_pool_opts o = {.workers = workers,
                          .kind = strcmp(model, "processes") == 0
                                      ? JG_POOL_PROCESSES
                                      : JG_POOL_THREADS};
        int rc = jg_pool_new(&p, &o);
        if (rc < 0) {
            return rc;
        }
    }
    /* One chunk per item: the spans are already the chunks. */
    jg_map_opts mo = {.chunk = 1, .ctx_size = sizeof(*tx)};
    int failed = jg_map(p, count_span, tx, spans, sizeof(*spans), tables,
                        sizeof(*tables), n, NULL, &mo);
    jg_pool_free(p);
    if (failed < 0) {
        return failed;
    }
    merge(tables, n, failed, a);
    return 0;
}

static bool same(const struct answer *a, const struct answer *b) {
    if (a->words != b->words || a->ntop != b->ntop) {
        return false;
    }
    for (int i = 0; i < a->ntop; i++) {
        if (a->top[i].count != b->top[i].count ||
            strcmp(a->top[i].w, b->top[i].w) != 0) {
            return false;
        }
    }
    return true;
}

static int usage(void) {
    fprintf(stderr, "usage: dataset [--mb N] [--file PATH] [--workers W]\n");
    return 2;
}

int main(int argc, char **argv) {
    size_t mb = 1024;
    const char *file = NULL;
    int workers = 0;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            return usage();
        }
        if (strcmp(argv[i], "--mb") == 0 && atol(argv[i + 1]) > 0) {
            mb = (size_t)atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--file") == 0) {
            file = argv[i + 1];
        } else if (strcmp(argv[i], "--workers") == 0 &&
                   atoi(argv[i + 1]) >= 0) {
            workers = atoi(argv[i + 1]);
        } else {
            return usage();
        }
    }
    if (workers == 0) {
        workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    }
    char path[256];
    struct stat st;
    if (file == NULL) {
        snprintf(path, sizeof(path), "/tmp/juggle-dataset-%zumb.txt", mb);
        file = path;
        if (stat(path, &st) != 0 || (size_t)st.st_size != mb << 20) {
            fprintf(stderr, "dataset: writing %zu MiB of text to %s\n", mb,
                    path);
            int rc = generate(path, mb);
            if (rc < 0) {
                fprintf(stderr, "dataset: %s: %s\n", path, jg_strerror(rc));
                return 1;
            }
        }
    }
    int fd = open(file, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "dataset: %s: cannot read it or it is empty\n", file);
        return 1;
    }
    struct text tx = {.len = (size_t)st.st_size};
    tx.data = mmap(NULL, tx.len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (tx.data == MAP_FAILED) {
        perror("dataset: mmap");
        return 1;
    }
    /* Eight chunks per worker, none under 1 MiB. */
    size_t n = (size_t)workers * 8;
    while (n > 1 && tx.len / n < ((size_t)1 << 20)) {
        n--;
    }
    struct span *spans = calloc(n, sizeof(*spans));
    struct table *tables = calloc(n, sizeof(*tables));
    if (spans == NULL || tables == NULL) {
        fprintf(stderr, "dataset: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        spans[i] = (struct span){tx.len * i / n, tx.len * (i + 1) / n};
    }
    printf("%s: %.1f MiB, %zu chunks, %d workers\n", file,
           (double)tx.len / (1 << 20), n, workers);
    const char *models[] = {"serial", "processes", "threads", "tasks"};
    const char *labels[] = {"serial", "process pool", "thread pool",
                            "juggle tasks (jg_map, no pool)"};
    struct answer ans[4];
    double secs[4];
    int bad = 0;
    for (int m = 0; m < 4; m++) {
        fflush(stdout);
        int64_t t0 = jg_now();
        int rc = run_model(models[m], workers, &tx, spans, n, tables, &ans[m]);
        secs[m] = (double)(jg_now() - t0) / 1e9;
        if (rc < 0) {
            fprintf(stderr, "dataset: %s: %s\n", labels[m], jg_strerror(rc));
            return 1;
        }
        printf("%-32s %8.3f s   speed-up %.2fx%s\n", labels[m], secs[m],
               secs[0] / secs[m],
               ans[m].failed ? "   (some chunks had too many words)" : "");
        if (!same(&ans[m], &ans[0])) {
            printf("  ^ differs from the serial result!\n");
            bad = 1;
        }
    }
    printf("\n%llu words; the top %d:\n", (unsigned long long)ans[0].words,
           ans[0].ntop);
    for (int i = 0; i < ans[0].ntop; i++) {
        printf("%4d. %-24s %12llu\n", i + 1, ans[0].top[i].w,
               (unsigned long long)ans[0].top[i].count);
    }
    printf("%s\n", bad ? "RESULTS DIFFER" : "All four models agree.");
    munmap((void *)tx.data, tx.len);
    free(spans);
    free(tables);
    return bad;
}
