/* SPDX-License-Identifier: MIT */
/*
 * cmd_tour.c - `juggle tour`: the main job. The article's three programs,
 * then every model on I/O-bound, CPU-bound and mixed work, then the
 * timelines of the async and the hybrid model drawn as SVG pictures in a
 * folder. Sized to finish in under a minute on 2 cores.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help_text[] =
    "Usage: juggle tour [-o DIR] [--rounds R] [--quick]\n"
    "\n"
    "The guided tour: the article's programs (threads, processes, async),\n"
    "then 'juggle compare' on io, cpu and mixed work, then timelines of the\n"
    "async and the hybrid model drawn into DIR. Under a minute on 2 cores.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR      where the pictures go (default ./juggle-tour)\n"
    "  --rounds R            the timelines' tasks wait and compute in R\n"
    "                        rounds, so they take turns (default 3)\n"
    "  --quick               tiny sizes (a smoke test, a few seconds)\n"
    "  -h, --help            this help\n";

static void heading(const char *text) {
    printf("\n==== %s ====\n", text);
}

/* Run `model` on mixed work with a trace, then draw it. */
static int timeline(const lab_cli *base, lab_model model, const char *dir,
                    const char *what) {
    char json[4096], svg[4096], title[256];
    snprintf(json, sizeof(json), "%s/%s.json", dir, lab_model_name(model));
    snprintf(svg, sizeof(svg), "%s/%s.svg", dir, lab_model_name(model));
    lab_cli o = *base;
    o.work.model = model;
    o.work.workload = WL_MIXED;
    o.work.trace_path = json;
    lab_result r;
    if (lab_measure(&o.work, &r) < 0) {
        return -1;
    }
    /* The command that does the same (sizes only where not the default). */
    printf("%s (%s):\n$ juggle run --model %s --workload mixed --tasks %d",
           lab_model_name(model), what, lab_model_name(model), o.work.tasks);
    if (o.work.sleep_ns != (int64_t)(LAB_SLEEP_DEFAULT_S * 1e9)) {
        printf(" --sleep %g", (double)o.work.sleep_ns / 1e9);
    }
    if (o.work.fib_n != LAB_FIB_DEFAULT) {
        printf(" --fib %d", o.work.fib_n);
    }
    printf(" --rounds %d --trace %s\n", o.work.rounds, json);
    report_print(stdout, OUT_TABLE, &r, 1, 0);
    tl_trace t;
    if (tl_load(json, &t) < 0) {
        return -1;
    }
    snprintf(title, sizeof(title), "%s: %d tasks, %d rounds each, on %d "
             "worker%s (%s)", lab_model_name(model), r.work.tasks,
             r.work.rounds, r.workers, r.workers == 1 ? "" : "s", what);
    int rc = tl_draw(&t, title, svg);
    if (rc == 0) {
        printf("timeline: %s (%d rows, %d slices; trace %s)\n", svg, t.nrows,
               t.nslices, json);
    }
    tl_free(&t);
    return rc;
}

int cmd_tour(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"quick", no_argument, NULL, 'q'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = "juggle-tour";
    int quick = 0, c;
    long rounds = 3; /* Enough for the turns to show, few enough for labels. */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help_text, stdout);
            return EXIT_OK;
        } else if (c == 'o') {
            dir = optarg;
        } else if (c == 'q') {
            quick = 1;
        } else if (c == 'r') {
            if (cli_parse_int(optarg, 1, LAB_ROUNDS_MAX, &rounds) < 0) {
                return cli_usage_error("tour", "--rounds: '%s' is not a "
                                       "whole number from 1 to %d", optarg,
                                       LAB_ROUNDS_MAX);
            }
        } else if (c == ':') {
            return cli_usage_error("tour", "option '%s' needs a value",
                                   argv[optind - 1]);
        } else {
            return cli_usage_error("tour", "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc) {
        return cli_usage_error("tour", "unexpected argument '%s'",
                               argv[optind]);
    }
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        cli_error(dir, "%s", strerror(errno));
        return EXIT_FAIL;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t start = jg_now();

    heading("1. The article's programs: each task waits 2 s");
    static const char *const demos[] = {"threads", "processes", "async"};
    for (int i = 0; i < 3; i++) {
        printf("%s$ juggle demo %s\n", i ? "\n" : "", demos[i]);
        if (demo_run(demos[i]) != EXIT_OK) {
            return EXIT_FAIL;
        }
    }

    lab_cli o = {.work = {.tasks = lab_tasks_default(),
                          .sleep_ns = (int64_t)(LAB_SLEEP_DEFAULT_S * 1e9),
                          .fib_n = LAB_FIB_DEFAULT, .rounds = 1}};
    if (quick) {
        o.work.tasks = 4;
        o.work.sleep_ns = JG_MS(50);
        o.work.fib_n = 27;
    }
    static const struct {
        lab_workload wl;
        const char *title;
    } parts[] = {
        {WL_IO, "2. I/O-bound work: every task waits (sleeps)"},
        {WL_CPU, "3. CPU-bound work: every task computes a naive fib"},
        {WL_MIXED, "4. Mixed work: every task waits, then computes"},
    };
    for (int i = 0; i < 3; i++) {
        heading(parts[i].title);
        o.work.workload = parts[i].wl;
        printf("$ juggle compare --workload %s --tasks %d\n\n",
               lab_workload_name(parts[i].wl), o.work.tasks);
        if (compare_run(&o) != EXIT_OK) {
            return EXIT_FAIL;
        }
    }

    heading("5. Timelines of the mixed work: who ran where, when");
    o.work.rounds = (int)rounds;
    if (timeline(&o, MODEL_ASYNC, dir, "concurrency: one worker") < 0 ||
        (printf("\n"), timeline(&o, MODEL_HYBRID, dir,
                                "concurrency and parallelism") < 0)) {
        return EXIT_FAIL;
    }
    printf("\nOpen the SVG files in %s/ in a browser. The .json traces load "
           "in\nhttps://ui.perfetto.dev too. The tour took %.1f s.\n", dir,
           (double)(jg_now() - start) / 1e9);
    return EXIT_OK;
}
