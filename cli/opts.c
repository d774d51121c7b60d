/* SPDX-License-Identifier: MIT */
/*
 * opts.c - the options that run, compare and sweep share: the model, the
 * workload and its sizes, and the output format. Each command accepts the
 * subset that makes sense for it; anything else is a usage error.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_MODEL = 'm',
    OPT_HELP = 'h',
    OPT_OUT = 'o',
    OPT_WORKLOAD = 256,
    OPT_TASKS,
    OPT_WORKERS,
    OPT_SLEEP,
    OPT_FIB,
    OPT_ROUNDS,
    OPT_GIL,
    OPT_TRACE,
    OPT_JSON,
    OPT_CSV,
};

static const struct option long_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"workload", required_argument, NULL, OPT_WORKLOAD},
    {"tasks", required_argument, NULL, OPT_TASKS},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"sleep", required_argument, NULL, OPT_SLEEP},
    {"fib", required_argument, NULL, OPT_FIB},
    {"rounds", required_argument, NULL, OPT_ROUNDS},
    {"gil", no_argument, NULL, OPT_GIL},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"json", no_argument, NULL, OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"output", required_argument, NULL, OPT_OUT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* An option's name as a user writes it ("--trace"). */
static const char *opt_name(int opt) {
    static char buf[32];
    for (const struct option *l = long_opts; l->name != NULL; l++) {
        if (l->val == opt) {
            snprintf(buf, sizeof(buf), "--%s", l->name);
            return buf;
        }
    }
    return "?";
}

/* Which options each command takes. */
static int allowed(const char *cmd, int opt) {
    int is_run = strcmp(cmd, "run") == 0;
    int is_sweep = strcmp(cmd, "sweep") == 0;
    switch (opt) {
    case OPT_MODEL:
        return is_run || is_sweep;
    case OPT_GIL:
        return is_run || is_sweep;
    case OPT_TRACE:
        return is_run;
    case OPT_OUT:
        return is_sweep;
    default:
        return 1;
    }
}

static int parse_count(const char *cmd, const char *name, const char *arg,
                       long max, int *out) {
    long v;
    if (cli_parse_int(arg, 1, max, &v) < 0) {
        return cli_usage_error(cmd, "--%s: '%s' is not a whole number "
                               "from 1 to %ld", name, arg, max);
    }
    *out = (int)v;
    return 0;
}

/* In sweep, --workers and --tasks are kept as given: which one is the
 * list to sweep is decided once both are known (sweep_choose). */
static int count_or_list(const char *cmd, const char *name, const char *arg,
                         lab_cli *o, int is_tasks, int *out) {
    if (strcmp(cmd, "sweep") == 0) {
        *(is_tasks ? &o->sweep_tasks_arg : &o->sweep_workers_arg) = arg;
        return 0;
    }
    return parse_count(cmd, name, arg, is_tasks ? 100000 : 1024, out);
}

/*
 * Sweep: the list is --tasks when its value is a list ("1,2,4"), else
 * --workers, even with one count ("--workers 3" is a sweep of one point);
 * the other option, if given, must be one count. Neither: the caller's
 * default list of workers. Checking the list's items is parse_list's, in
 * cmd_sweep.c.
 */
static int sweep_choose(lab_cli *o) {
    const char *w = o->sweep_workers_arg, *t = o->sweep_tasks_arg;
    if (w != NULL && t != NULL && strchr(w, ',') != NULL &&
        strchr(t, ',') != NULL) {
        return cli_usage_error("sweep", "sweep either --workers or --tasks, "
                               "not both");
    }
    o->sweep_tasks = t != NULL && strchr(t, ',') != NULL;
    o->sweep_list = o->sweep_tasks ? t : w;
    const char *fixed = o->sweep_tasks ? w : t;
    if (fixed == NULL) {
        return 0;
    }
    return o->sweep_tasks
               ? parse_count("sweep", "workers", fixed, 1024, &o->work.workers)
               : parse_count("sweep", "tasks", fixed, 100000, &o->work.tasks);
}

static int apply(const char *cmd, int c, const char *arg, lab_cli *o) {
    lab_work *w = &o->work;
    double s;
    long v;
    switch (c) {
    case OPT_MODEL:
        if (lab_model_parse(arg, &w->model) < 0) {
            return cli_usage_error(cmd, "--model: unknown model '%s' (serial, "
                                   "async, threads, processes, hybrid, "
                                   "forkjoin)", arg);
        }
        o->have_model = 1;
        return 0;
    case OPT_WORKLOAD:
        if (lab_workload_parse(arg, &w->workload) < 0) {
            return cli_usage_error(cmd, "--workload: unknown workload '%s' "
                                   "(io, cpu, mixed)", arg);
        }
        return 0;
    case OPT_TASKS:
        return count_or_list(cmd, "tasks", arg, o, 1, &w->tasks);
    case OPT_WORKERS:
        return count_or_list(cmd, "workers", arg, o, 0, &w->workers);
    case OPT_SLEEP:
        if (cli_parse_double(arg, 0, 3600, &s) < 0) {
            return cli_usage_error(cmd, "--sleep: '%s' is not a number of "
                                   "seconds from 0 to 3600", arg);
        }
        w->sleep_ns = (int64_t)(s * 1e9);
        return 0;
    case OPT_FIB:
        /* fib(45) already takes seconds; beyond 50 is hours. */
        if (cli_parse_int(arg, 1, 50, &v) < 0) {
            return cli_usage_error(cmd, "--fib: '%s' is not a whole number "
                                   "from 1 to 50", arg);
        }
        w->fib_n = (int)v;
        return 0;
    case OPT_ROUNDS:
        return parse_count(cmd, "rounds", arg, LAB_ROUNDS_MAX, &w->rounds);
    case OPT_GIL:
        w->gil = 1;
        return 0;
    case OPT_TRACE:
        w->trace_path = arg;
        return 0;
    case OPT_JSON:
    case OPT_CSV: {
        out_format f = c == OPT_JSON ? OUT_JSON : OUT_CSV;
        if (o->format != OUT_TABLE && o->format != f) {
            return cli_usage_error(cmd, "--json and --csv: choose one");
        }
        o->format = f;
        return 0;
    }
    case OPT_OUT:
        o->svg_path = arg;
        return 0;
    default:
        return EXIT_USAGE;
    }
}

int lab_cli_parse(const char *cmd, int argc, char **argv, lab_cli *o,
                  int *help) {
    *o = (lab_cli){.work = {.model = MODEL_SERIAL, .workload = WL_IO,
                            .tasks = lab_tasks_default(),
                            .sleep_ns = (int64_t)(LAB_SLEEP_DEFAULT_S * 1e9),
                            .fib_n = LAB_FIB_DEFAULT, .rounds = 1}};
    *help = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:h", long_opts, NULL)) != -1) {
        if (c == '?') {
            return cli_usage_error(cmd, "unknown option '%s'",
                                   argv[optind - 1]);
        }
        if (c == ':') {
            return cli_usage_error(cmd, "option '%s' needs a value",
                                   argv[optind - 1]);
        }
        if (c == OPT_HELP) {
            *help = 1;
            return 0;
        }
        if (!allowed(cmd, c)) {
            /* By its name: argv[optind - 1] is the value of "--trace x". */
            return cli_usage_error(cmd, "option '%s' does not apply here",
                                   opt_name(c));
        }
        int rc = apply(cmd, c, optarg, o);
        if (rc != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    }
    if (strcmp(cmd, "sweep") == 0 && sweep_choose(o) != 0) {
        return EXIT_USAGE;
    }
    if ((strcmp(cmd, "run") == 0 || strcmp(cmd, "sweep") == 0) &&
        !o->have_model) {
        return cli_usage_error(cmd, "--model is required");
    }
    if (o->work.gil && o->work.model != MODEL_THREADS) {
        return cli_usage_error(cmd, "--gil applies to the threads model only");
    }
    /* Files written after the run: find out now, not after a long run,
     * that they cannot be. */
    const char *outs[] = {o->work.trace_path, o->svg_path};
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
        int rc = outs[i] != NULL ? cli_check_writable(outs[i]) : 0;
        if (rc < 0) {
            cli_error(outs[i], "%s", strerror(-rc));
            return EXIT_FAIL;
        }
    }
    return 0;
}
