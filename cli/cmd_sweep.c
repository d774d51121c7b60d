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
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_POINTS 32

static const char help_text[] =
    "Usage: juggle sweep --model MODEL [--workers LIST | --tasks LIST] "
    "[options]\n"
    "\n"
    "Run one model at each count of a comma-separated LIST of worker counts\n"
    "(default --workers 1,2,4,8) or task counts, and print the time and the\n"
    "speed-up against serial for each.\n"
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

/* Parse "1,2,4,8" into ascending, distinct counts. */
static int parse_list(const char *s, int is_tasks, int *v, int *n) {
    char *copy = strdup(s);
    if (copy == NULL) {
        cli_error("sweep", "out of memory");
        return EXIT_FAIL;
    }
    int k = 0, rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        long x;
        if (cli_parse_int(t, 1, is_tasks ? 100000 : 1024, &x) < 0) {
            rc = cli_usage_error("sweep", "--%s: '%s' is not a count",
                                 is_tasks ? "tasks" : "workers", t);
            break;
        }
        if (k == MAX_POINTS) {
            rc = cli_usage_error("sweep", "at most %d counts", MAX_POINTS);
            break;
        }
        if (k > 0 && x <= v[k - 1]) {
            rc = cli_usage_error("sweep", "the counts must go up: '%s'", s);
            break;
        }
        v[k++] = (int)x;
    }
    free(copy);
    if (rc == 0 && k == 0) {
        rc = cli_usage_error("sweep", "an empty list");
    }
    *n = k;
    return rc;
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
    int help, counts[MAX_POINTS], n;
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
    if (o.svg_path != NULL && draw(&o, r, serial, counts, n) < 0) {
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
