/* SPDX-License-Identifier: MIT */
/*
 * cmd_compare.c - `juggle compare`: every model on the same work, one
 * table with the speed-up against serial, and a few sentences that say
 * what the measured numbers show. The sentences are computed from the
 * table (which models finished in about one wait, which beat serial and by
 * how much against the number of cores), never canned.
 */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static const char help_text[] =
    "Usage: juggle compare [options]\n"
    "\n"
    "Run every model on the same work: serial, async, threads, threads with\n"
    "a GIL, processes, hybrid and forkjoin. Prints one table with the\n"
    "speed-up of each against serial and says what the table shows.\n"
    "\n"
    "Options:\n"
    "  --workload KIND       io, cpu or mixed (default io)\n"
    "  --tasks N             number of tasks (default: CPUs, 4 to 16)\n"
    "  --workers W           workers for threads, processes, hybrid and\n"
    "                        forkjoin (default: see 'juggle run --help')\n"
    "  --sleep SECONDS       io/mixed: each task's wait (default 0.5)\n"
    "  --fib N               cpu/mixed: each task computes fib(N) (default "
    "39)\n"
    "  --rounds R            each task waits and computes in R rounds\n"
    "                        (default 1; see 'juggle run --help')\n"
    "  --json, --csv         machine-readable output (no sentences)\n"
    "  -h, --help            this help\n";

/* The rows of the comparison, in order. */
static const struct {
    lab_model model;
    int gil;
} rows[] = {
    {MODEL_SERIAL, 0},  {MODEL_ASYNC, 0},  {MODEL_THREADS, 0},
    {MODEL_THREADS, 1}, {MODEL_PROCESSES, 0}, {MODEL_HYBRID, 0},
    {MODEL_FORKJOIN, 0},
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* Append "a, b and c" of the labels of the results in the set. */
static void list_names(char *buf, size_t size, const lab_result *r, int n,
                       const int *in) {
    int total = 0, k = 0;
    for (int i = 0; i < n; i++) {
        total += in[i];
    }
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!in[i]) {
            continue;
        }
        char label[32];
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s",
                 k == 0 ? "" : k + 1 == total ? " and " : ", ",
                 lab_label(&r[i].work, label, sizeof(label)));
        k++;
    }
}

/* A duration for the prose: in seconds, or in milliseconds or microseconds
 * when short, so that no figure reads "0.00 s". */
static const char *dur(char *buf, size_t size, double s) {
    if (s >= 0.1) {
        snprintf(buf, size, "%.2f s", s);
    } else if (s >= 1e-4) {
        snprintf(buf, size, "%.2f ms", s * 1e3);
    } else {
        snprintf(buf, size, "%.1f us", s * 1e6);
    }
    return buf;
}

/* The range of a measure over a set, as "x" or "x-y". */
static void range_of(char *buf, size_t size, const lab_result *r, int n,
                     const int *in, int speedup) {
    double lo = 1e300, hi = -1;
    for (int i = 0; i < n; i++) {
        if (in[i]) {
            double v = speedup ? r[i].speedup : r[i].wall_s;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    char a[24], b[24];
    if (speedup) {
        snprintf(a, sizeof(a), "%.1fx", lo);
        snprintf(b, sizeof(b), "%.1fx", hi);
    } else {
        dur(a, sizeof(a), lo);
        dur(b, sizeof(b), hi);
    }
    if (strcmp(a, b) == 0) {
        snprintf(buf, size, "%s", a);
        return;
    }
    /* One unit after both when they share it: "0.12-0.15 s". */
    const char *ua = strrchr(a, ' '), *ub = strrchr(b, ' ');
    if (speedup || (ua != NULL && ub != NULL && strcmp(ua, ub) == 0)) {
        size_t cut = speedup ? strlen(a) - 1 : (size_t)(ua - a);
        snprintf(buf, size, "%.*s-%s", (int)cut, a, b);
    } else {
        snprintf(buf, size, "%s-%s", a, b);
    }
}

/* The sentences are built into a paragraph, then printed wrapped. */
struct para {
    char text[2048];
    size_t len;
};

static void say(struct para *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct para *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof(p->text) - p->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        p->len += (size_t)n;
        p->len = p->len < sizeof(p->text) ? p->len : sizeof(p->text) - 1;
    }
}

/* Print the paragraph with lines of at most 78 columns, breaking at
 * spaces; "\n" in the text starts a new line. */
static void say_done(struct para *p) {
    const char *s = p->text;
    putchar('\n');
    while (*s != '\0') {
        size_t n = 0, cut = 0;
        while (s[n] != '\0' && s[n] != '\n' && n < 78) {
            if (s[n] == ' ') {
                cut = n;
            }
            n++;
        }
        if (s[n] == '\0' || s[n] == '\n' || cut == 0) {
            cut = n;
        }
        printf("%.*s\n", (int)cut, s);
        s += cut;
        while (*s == ' ' || *s == '\n') {
            s++;
        }
    }
    p->len = 0;
    p->text[0] = '\0';
}

/* CPU time over wall time: 1.0 = one core busy throughout. */
static double util(const lab_result *r) {
    return r->wall_s > 0 ? (r->user_s + r->sys_s) / r->wall_s : 0;
}

static int count(const int *in, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        k += in[i];
    }
    return k;
}

static void say_io(const lab_result *r, int n) {
    struct para p = {.len = 0};
    double s = (double)r[0].work.sleep_ns / 1e9;
    int one[NROWS] = {0}, rest[NROWS] = {0};
    char names[256], range[64];
    if (s <= 0) {
        return;
    }
    for (int i = 0; i < n; i++) {
        one[i] = r[i].wall_s < 1.5 * s;
        rest[i] = !one[i];
    }
    char d1[24], d2[24];
    say(&p, "I/O-bound: each of %d tasks waits %s", r[0].work.tasks,
        dur(d1, sizeof(d1), s));
    if (r[0].work.rounds > 1) {
        say(&p, " in all, in %d rounds", r[0].work.rounds);
    }
    say(&p, ".");
    if (count(one, n) > 0) {
        list_names(names, sizeof(names), r, n, one);
        range_of(range, sizeof(range), r, n, one, 0);
        say(&p, " %s finished them all in about one wait (%s): while one "
               "task waits, the others run.", names, range);
    }
    for (int i = 0; i < n; i++) {
        if (rest[i]) {
            char label[32];
            say(&p, " %s took %s (about %.0f waits).",
                lab_label(&r[i].work, label, sizeof(label)),
                dur(d2, sizeof(d2), r[i].wall_s), r[i].wall_s / s);
        }
    }
    say_done(&p);
}

static void say_cpu(const lab_result *r, int n, int cores) {
    struct para p = {.len = 0};
    int best = cores < r[0].work.tasks ? cores : r[0].work.tasks;
    int beat[NROWS] = {0}, not[NROWS] = {0};
    char names[256], range[64];
    double top = 0;
    for (int i = 1; i < n; i++) {
        beat[i] = r[i].speedup >= 1.25;
        not[i] = !beat[i];
        top = r[i].speedup > top ? r[i].speedup : top;
    }
    say(&p, "CPU-bound: %d tasks compute fib(%d) on %d core%s, so at most "
           "%dx is possible.", r[0].work.tasks, r[0].work.fib_n, cores,
           cores == 1 ? "" : "s", best);
    if (count(beat, n) > 0) {
        list_names(names, sizeof(names), r, n, beat);
        range_of(range, sizeof(range), r, n, beat, 1);
        say(&p, "\n%s beat serial by %s, %s the %dx the cores allow.", names,
               range, top >= 0.8 * best ? "close to" : "short of", best);
    }
    /* Those that did not: one computing at a time by design (one worker,
     * or the global lock), or several workers that found no free core. */
    int one[NROWS] = {0}, starved[NROWS] = {0};
    for (int i = 0; i < n; i++) {
        one[i] = not[i] && (r[i].workers == 1 || r[i].work.gil);
        starved[i] = not[i] && !one[i];
    }
    if (count(one, n) > 0) {
        list_names(names, sizeof(names), r, n, one);
        range_of(range, sizeof(range), r, n, one, 1);
        say(&p, "\n%s did not (%s): %s one task at a time.", names, range,
            count(one, n) == 1 ? "it computes" : "they compute");
    }
    if (count(starved, n) > 0) {
        double busy = 0;
        for (int i = 0; i < n; i++) {
            busy = starved[i] && util(&r[i]) > busy ? util(&r[i]) : busy;
        }
        list_names(names, sizeof(names), r, n, starved);
        range_of(range, sizeof(range), r, n, starved, 1);
        say(&p, "\n%s did not%s (%s), though %s several workers: %s "
            "at most %.0f%% CPU, so other programs were using the other "
            "cores. Run again on a quieter machine.", names,
            count(one, n) > 0 ? " either" : "", range,
            count(starved, n) == 1 ? "it had" : "they had",
            count(starved, n) == 1 ? "it got" : "they got", 100 * busy);
    }
    if (util(&r[0]) < 0.85) {
        say(&p, "\nserial kept only %.0f%% of one core busy: other programs "
            "are using this machine, so these figures are noisy.",
            100 * util(&r[0]));
    }
    say_done(&p);
}

/* The least time mixed work can take on `workers` cores: each task's own
 * waits and computing, one after the other; or the first wait, which
 * nothing hides (every task starts with one), then all the computing
 * shared by the cores. */
static double mixed_least(double s, double compute, int tasks, int rounds,
                          int workers) {
    double chain = s + compute / tasks;
    double shared = s / rounds + compute / workers;
    return chain > shared ? chain : shared;
}

static void say_mixed(const lab_result *r, int n, int cores) {
    struct para p = {.len = 0};
    double s = (double)r[0].work.sleep_ns / 1e9;
    int tasks = r[0].work.tasks;
    int rounds = r[0].work.rounds > 1 ? r[0].work.rounds : 1;
    int best = cores < tasks ? cores : tasks;
    /* The computing: serial's CPU time. (Its wall time less the waits
     * would count the time other programs held the core too.) */
    double compute = util(&r[0]) * r[0].wall_s;
    double both = mixed_least(s, compute, tasks, rounds, best);
    double waits = mixed_least(s, compute, tasks, rounds, 1);
    int g_both[NROWS] = {0}, g_waits[NROWS] = {0}, g_rest[NROWS] = {0};
    char names[256], range[64];
    /* When one core could do about as well, there is too little
     * computing for the cores to matter: say so, not "in parallel". */
    int cores_matter = waits > 1.25 * both;
    for (int i = 1; i < n; i++) {
        g_both[i] = r[i].wall_s <= 1.25 * both;
        g_waits[i] = cores_matter && !g_both[i] &&
                     r[i].wall_s <= 1.25 * waits;
        g_rest[i] = !g_both[i] && !g_waits[i];
    }
    char d1[24], d2[24], d3[24];
    if (rounds == 1) {
        say(&p, "Mixed: each task waits %s, then computes (%s of "
            "computing in all).", dur(d1, sizeof(d1), s),
            dur(d2, sizeof(d2), compute));
    } else {
        say(&p, "Mixed: each task waits %s, then computes, %d times "
            "(%s of waiting a task, %s of computing in all).",
            dur(d1, sizeof(d1), s / rounds), rounds, dur(d2, sizeof(d2), s),
            dur(d3, sizeof(d3), compute));
    }
    if (count(g_both, n) > 0) {
        list_names(names, sizeof(names), r, n, g_both);
        range_of(range, sizeof(range), r, n, g_both, 0);
        say(&p, "\n%s took %s, close to ", names, range);
        if (s + compute / tasks >= s / rounds + compute / best) {
            say(&p, "one task's waits plus its own computing");
        } else {
            say(&p, "%s wait plus the computing shared by %d core%s",
                rounds == 1 ? "one" : "the first", best,
                best == 1 ? "" : "s");
        }
        if (cores_matter) {
            say(&p, " (%s): they overlap the waits and compute in "
                "parallel.", dur(d1, sizeof(d1), both));
        } else {
            say(&p, " (%s): they overlap the waits. There is too "
                "little computing for more cores to matter: try a "
                "larger --fib.", dur(d1, sizeof(d1), both));
        }
    }
    /* Overlapped the waits only: by design (one worker, the lock), or
     * several workers that found no free core. */
    int g_one[NROWS] = {0}, g_starved[NROWS] = {0};
    for (int i = 0; i < n; i++) {
        g_one[i] = g_waits[i] && (r[i].workers == 1 || r[i].work.gil);
        g_starved[i] = g_waits[i] && !g_one[i];
    }
    if (count(g_one, n) > 0) {
        list_names(names, sizeof(names), r, n, g_one);
        range_of(range, sizeof(range), r, n, g_one, 0);
        say(&p, "\n%s took %s: %s the waits but compute%s one task at a "
               "time.", names, range,
               count(g_one, n) == 1 ? "it overlaps" : "they overlap",
               count(g_one, n) == 1 ? "s" : "");
    }
    if (count(g_starved, n) > 0) {
        list_names(names, sizeof(names), r, n, g_starved);
        range_of(range, sizeof(range), r, n, g_starved, 0);
        say(&p, "\n%s took %s: %s the waits, but computed no faster than "
            "on one core, so other programs were using the other cores. "
            "Run again on a quieter machine.", names, range,
            count(g_starved, n) == 1 ? "it overlapped" : "they overlapped");
    }
    for (int i = 1; i < n; i++) {
        if (g_rest[i]) {
            char label[32];
            say(&p, "\n%s took %s (%.1fx serial).",
                lab_label(&r[i].work, label, sizeof(label)),
                dur(d1, sizeof(d1), r[i].wall_s), r[i].speedup);
        }
    }
    if (r[0].wall_s > 1.25 * (tasks * s + compute)) {
        say(&p, "\nserial took %s, more than its waits and its "
            "computing (%s): other programs are using this machine, "
            "so these figures are noisy.", dur(d1, sizeof(d1), r[0].wall_s),
            dur(d2, sizeof(d2), tasks * s + compute));
    }
    say_done(&p);
}

int compare_run(const lab_cli *o) {
    lab_result r[NROWS];
    for (int i = 0; i < NROWS; i++) {
        lab_work w = o->work;
        w.model = rows[i].model;
        w.gil = rows[i].gil;
        w.trace_path = NULL;
        if (lab_measure(&w, &r[i]) < 0) {
            return EXIT_FAIL;
        }
        r[i].speedup = r[i].wall_s > 0 ? r[0].wall_s / r[i].wall_s : 0;
    }
    report_print(stdout, o->format, r, NROWS, 1);
    int failed = 0;
    for (int i = 0; i < NROWS; i++) {
        if (!r[i].ok) {
            char label[32];
            cli_error(lab_label(&r[i].work, label, sizeof(label)),
                      "result check failed");
            failed = 1;
        }
    }
    if (o->format == OUT_TABLE && !failed) {
        switch (o->work.workload) {
        case WL_IO:
            say_io(r, NROWS);
            break;
        case WL_CPU:
            say_cpu(r, NROWS, cli_ncpu());
            break;
        default:
            say_mixed(r, NROWS, cli_ncpu());
            break;
        }
    }
    return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_compare(int argc, char **argv) {
    lab_cli o;
    int help;
    int rc = lab_cli_parse("compare", argc, argv, &o, &help);
    if (rc != 0) {
        return rc;
    }
    if (help) {
        fputs(help_text, stdout);
        return EXIT_OK;
    }
    return compare_run(&o);
}
