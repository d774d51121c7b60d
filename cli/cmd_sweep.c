/* SPDX-License-Identifier: MIT */
/*
 * cmd_sweep.c - `juggle sweep`: the article's "change the number of
 * threads or processes and observe". Runs one model at several worker
 * counts (or task counts) and prints a table and, with -o, an SVG chart of
 * time and speed-up against the count, with the ideal speed-up drawn.
 *
 * Speed-up is against serial on the same work. Sweeping workers, the work
 * does not change, so serial runs once. Sweeping tasks, serial time grows
 * with the count (each task adds the same work), so serial runs once at
 * the largest count and is scaled: serial(n) = serial(max) * n / max.
 */
#include <string.h>

#include "cli.h"

#define MAX_POINTS 32

static const char help_text[] =
    "Usage: juggle sweep --model MODEL [--workers LIST | --tasks LIST] "
    "[options]\n"
    "\n"
    "Run one model at each count of a comma-separated LIST of worker counts\n"
    "(default --workers 1,2,4,8) or task counts, and print the time and the\n"
    "speed-up against serial for each. A LIST may be one count; the sweep\n"
    "is over --tasks when its value is a list, else over --workers.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL     the model (required; see 'juggle run --help')\n"
    "  --workers LIST        e.g. 1,2,4,8: the worker counts to try\n"
    "  --tasks LIST          e.g. 1,2,4,8: the task counts to try (then\n"
    "                        --workers, if given, is one number)\n"
    "  --workload KIND       io, cpu or mixed (default io)\n"
    "  --tasks N, --workers N, --sleep SECONDS, --fib N, --rounds R,\n"
    "  --gil                 as for 'juggle run'\n"
    "  -o, --output FILE     also draw an SVG chart into FILE\n"
    "  --json, --csv         machine-readable output\n"
    "  -h, --help            this help\n";

/* Parse "1,2,4,8" (or one count, "3") into ascending, distinct counts.
 * An empty item ("1,,2", "1,", ",1") is an error, not skipped. */
static int parse_list(const char *s, int is_tasks, int *v, int *n) {
    const char *name = is_tasks ? "tasks" : "workers";
    int k = 0;
    for (const char *p = s;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        long x;
        if (len == 0) {
            return cli_usage_error("sweep", "--%s: an empty item in '%s'",
                                   name, s);
        }
        snprintf(item, sizeof(item), "%.*s", (int)len, p);
        if (len >= sizeof(item) ||
            cli_parse_int(item, 1, is_tasks ? 100000 : 1024, &x) < 0) {
            return cli_usage_error("sweep", "--%s: '%.*s' is not a count",
                                   name, (int)len, p);
        }
        if (k == MAX_POINTS) {
            return cli_usage_error("sweep", "at most %d counts", MAX_POINTS);
        }
        if (k > 0 && x <= v[k - 1]) {
            return cli_usage_error("sweep", "the counts must go up: '%s'", s);
        }
        v[k++] = (int)x;
        if (comma == NULL) {
            break;
        }
        p = comma;
    }
    *n = k;
    return 0;
}

/* Say where a model ran with other worker counts than the ones asked
 * for: threads and processes use one worker per task at most, serial and
 * async always one. In a table, under it; beside JSON or CSV, on stderr
 * (so the data stays parseable). */
static void note_clamped(const lab_cli *o, const lab_result *r,
                         const int *counts, int n) {
    FILE *f = o->format == OUT_TABLE ? stdout : stderr;
    for (int i = 0; i < n && !o->sweep_tasks; i++) {
        if (r[i].workers == counts[i]) {
            continue;
        }
        char label[32];
        lab_label(&o->work, label, sizeof(label));
        if (o->work.model == MODEL_THREADS ||
            o->work.model == MODEL_PROCESSES) {
            fprintf(f, "note: --workers %d ran with %d: %s uses at most one "
                       "worker per task (--tasks %d)\n", counts[i],
                    r[i].workers, label, o->work.tasks);
        } else {
            fprintf(f, "note: --workers %d ran with %d: %s always uses %d\n",
                    counts[i], r[i].workers, label, r[i].workers);
        }
    }
}

static int draw(const lab_cli *o, const lab_result *r, const double *serial,
                const int *counts, int n) {
    double x[MAX_POINTS], t[MAX_POINTS], sp[MAX_POINTS], ideal[MAX_POINTS],
        cores[MAX_POINTS];
    int ncpu = cli_ncpu();
    for (int i = 0; i < n; i++) {
        x[i] = counts[i];
        t[i] = r[i].wall_s;
        sp[i] = r[i].speedup;
        ideal[i] = o->sweep_tasks || counts[i] < o->work.tasks
                       ? counts[i] : o->work.tasks;
        cores[i] = ncpu;
    }
    char label[32], title[160], cores_label[32];
    lab_label(&o->work, label, sizeof(label));
    snprintf(title, sizeof(title), "juggle sweep: %s on %s work (%s)", label,
             lab_workload_name(o->work.workload),
             o->sweep_tasks ? "tasks" : "workers");
    snprintf(cores_label, sizeof(cores_label), "%d cores", ncpu);
    const svg_series time_series[] = {
        {label, "#1f77b4", 0, t},
        {o->sweep_tasks ? "serial (scaled)" : "serial", "#888888", 1,
         serial},
    };
    svg_series speed_series[] = {
        {label, "#d62728", 0, sp},
        {"ideal", "#2ca02c", 1, ideal},
        {cores_label, "#888888", 1, cores},
    };
    /* The cores line matters only where computing is the limit. */
    int nspeed = o->work.workload == WL_IO ? 2 : 3;
    const svg_panel panels[] = {
        {"Wall time", "seconds", time_series, 2},
        {"Speed-up against serial", "times faster", speed_series, nspeed},
    };
    return svg_line_chart(o->svg_path, title,
                          o->sweep_tasks ? "tasks" : "workers", x, n, panels,
                          2);
}

int cmd_sweep(int argc, char **argv) {
    lab_cli o;
    int help, counts[MAX_POINTS], n = 0;
    int rc = lab_cli_parse("sweep", argc, argv, &o, &help);
    if (rc != 0) {
        return rc;
    }
    if (help) {
        fputs(help_text, stdout);
        return EXIT_OK;
    }
    rc = parse_list(o.sweep_list ? o.sweep_list : "1,2,4,8", o.sweep_tasks,
                    counts, &n);
    if (rc != 0) {
        return rc;
    }
    /* The serial baseline. */
    lab_work base = o.work;
    base.model = MODEL_SERIAL;
    base.gil = 0;
    if (o.sweep_tasks) {
        base.tasks = counts[n - 1];
    }
    lab_result br, r[MAX_POINTS];
    if (lab_measure(&base, &br) < 0) {
        return EXIT_FAIL;
    }
    double serial[MAX_POINTS];
    int failed = !br.ok;
    for (int i = 0; i < n && !failed; i++) {
        lab_work w = o.work;
        if (o.sweep_tasks) {
            w.tasks = counts[i];
            serial[i] = br.wall_s * counts[i] / counts[n - 1];
        } else {
            w.workers = counts[i];
            serial[i] = br.wall_s;
        }
        if (lab_measure(&w, &r[i]) < 0) {
            return EXIT_FAIL;
        }
        r[i].speedup = r[i].wall_s > 0 ? serial[i] / r[i].wall_s : 0;
        failed |= !r[i].ok;
    }
    if (failed) {
        cli_error("sweep", "result check failed");
        return EXIT_FAIL;
    }
    report_print(stdout, o.format, r, n, 1);
    note_clamped(&o, r, counts, n);
    if (o.svg_path != NULL && draw(&o, r, serial, counts, n) < 0) {
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
