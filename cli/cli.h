/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the parts of the `juggle` lab share: the command table, the
 * work description (model, workload, sizes), one measured result, output in
 * table/JSON/CSV form, SVG helpers and the Chrome-trace reader.
 *
 * The lab uses only the public header <juggle.h> (and libc). Every command
 * returns an exit code: 0 ok, 1 runtime failure, 2 usage error; messages
 * go to stderr as "juggle: <what>: <reason>", data to stdout.
 */
#ifndef JUGGLE_CLI_H
#define JUGGLE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <juggle.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ---- messages (main.c) ---- */

/* Print "juggle: <what>: <reason>" to stderr. */
void cli_error(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As cli_error, then "Try 'juggle <cmd> --help'."; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parse a whole decimal integer in [lo, hi]; 0 on success, -1 otherwise. */
int cli_parse_int(const char *s, long lo, long hi, long *out);
/* Parse a whole decimal number in [lo, hi]; 0 on success, -1 otherwise. */
int cli_parse_double(const char *s, double lo, double hi, double *out);
/* Number of CPUs online (at least 1). */
int cli_ncpu(void);

/* Can path be created or written? Creates it for the look and removes it
 * again when it did not exist. Returns 0 or -errno. */
int cli_check_writable(const char *path);

/* ---- the work (lab.c) ---- */

typedef enum lab_model {
    MODEL_SERIAL,
    MODEL_ASYNC,
    MODEL_THREADS,
    MODEL_PROCESSES,
    MODEL_HYBRID,
    MODEL_FORKJOIN,
    MODEL_COUNT
} lab_model;

typedef enum lab_workload { WL_IO, WL_CPU, WL_MIXED } lab_workload;

/* What to run: one model on one workload. */
typedef struct lab_work {
    lab_model model;
    lab_workload workload;
    int tasks;        /* Number of tasks, >= 1. */
    int workers;      /* Workers; 0 = the model's default (lab_workers). */
    int64_t sleep_ns; /* io and mixed: each task sleeps this long. */
    int fib_n;        /* cpu and mixed: each task computes fib(fib_n). */
    int rounds;       /* Each task waits and computes in this many rounds,
                       * each with 1/rounds of the wait and about 1/rounds
                       * of the computing; 0 is taken as 1. */
    int gil;          /* threads: hold one global lock while running. */
    const char *trace_path; /* Write a Chrome trace here; NULL = none. */
} lab_work;

/* One measured run. */
typedef struct lab_result {
    lab_work work;
    int workers;          /* Workers actually used. */
    double wall_s;        /* Wall-clock time of the model's run. */
    double user_s, sys_s; /* CPU time, this run's process and children. */
    int64_t rss_bytes;    /* Peak RSS of the process that ran the model. */
    int64_t child_rss_bytes; /* Largest peak RSS of its children (or 0). */
    int completed;        /* Tasks that finished. */
    uint64_t sum;         /* Sum of the fib results (0 for io). */
    uint64_t expect_sum;  /* What the sum must be. */
    int wrong;            /* Tasks done whose result is not fib(fib_n). */
    int ok;               /* 1 when every task completed with the right
                           * result (so the sum matches too). */
    double speedup;       /* Serial wall time / wall_s; 0 = not computed. */
    uint64_t trace_slices;  /* --trace: slices written to the trace, */
    uint64_t trace_dropped; /* and slices dropped because it was full. */
} lab_result;

/* Defaults the commands share (chosen so `juggle tour` stays under a minute
 * on 2 cores: a fib(39) takes about 0.2 s on a current x86 core). */
#define LAB_SLEEP_DEFAULT_S 0.5
#define LAB_FIB_DEFAULT 39
/* --rounds: at most this many (each round is one wait and one part of the
 * computing; a thousand is already far past what a picture shows). */
#define LAB_ROUNDS_MAX 1000
/* CPython's switch interval (sys.getswitchinterval(), 0.005 s): under
 * --gil a thread that held the lock this long hands it over to a waiter. */
#define LAB_GIL_SWITCH_NS JG_MS(5)
int lab_tasks_default(void);

const char *lab_model_name(lab_model m);
const char *lab_workload_name(lab_workload w);
/* Parse a model or workload name; 0 on success, -1 when unknown. */
int lab_model_parse(const char *s, lab_model *out);
int lab_workload_parse(const char *s, lab_workload *out);
/* The number of workers the model uses for this work. */
int lab_workers(const lab_work *w);
/* Label of a row: the model, with " +gil" for threads under the lock. */
const char *lab_label(const lab_work *w, char *buf, size_t size);

/*
 * Run the work in a fresh child process (so each measurement starts from
 * the same small process and its peak RSS is its own) and fill *out.
 * Prints a progress line on stderr while it runs longer than a second, if
 * stderr is a terminal. Returns 0, or -1 after printing an error.
 */
int lab_measure(const lab_work *w, lab_result *out);

/* ---- output (report.c) ---- */

typedef enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV } out_format;

/* Print results: a table, a JSON array of objects, or CSV with a header.
 * with_speedup adds the speed-up column/key. */
void report_print(FILE *f, out_format fmt, const lab_result *r, int n,
                  int with_speedup);
/* Short human forms. */
const char *fmt_bytes(int64_t bytes, char *buf, size_t size);
const char *fmt_seconds(double s, char *buf, size_t size);

/* ---- options shared by run, compare, sweep (opts.c) ---- */

typedef struct lab_cli {
    lab_work work;
    int have_model;
    out_format format;
    const char *svg_path;   /* sweep: -o FILE.svg */
    const char *sweep_list; /* sweep: the list given to --workers/--tasks
                             * (NULL: the default workers) */
    int sweep_tasks;        /* sweep: 1 when sweeping --tasks */
    const char *sweep_workers_arg, *sweep_tasks_arg; /* sweep: as given */
} lab_cli;

/* Parse the options of run, compare or sweep into *o. Returns 0, or
 * EXIT_USAGE after printing a message; *help is set when --help was
 * given. */
int lab_cli_parse(const char *cmd, int argc, char **argv, lab_cli *o,
                  int *help);

/* ---- SVG (svg.c) ---- */

typedef struct svg_series {
    const char *label;
    const char *colour;
    int dashed;
    const double *y; /* n values; a negative one is skipped. */
} svg_series;

typedef struct svg_panel {
    const char *title;
    const char *ylabel;
    const svg_series *series;
    int nseries;
} svg_panel;

/* Write s with XML's special characters escaped, as valid XML text: bytes
 * that are not UTF-8 become U+FFFD, control characters '?'. */
void svg_escape(FILE *f, const char *s);
/* Decode the UTF-8 character at s (n > 0 bytes left) into *cp; returns
 * the bytes it took. A byte that starts no valid character (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF) takes 1 and
 * gives U+FFFD. */
size_t cli_utf8_decode(const char *s, size_t n, unsigned *cp);
/* Encode cp (a surrogate or past U+10FFFF: U+FFFD) as UTF-8 into out;
 * returns the bytes written, 1 to 4. */
size_t cli_utf8_encode(unsigned cp, char out[4]);
/* A round step (1, 2 or 5 times a power of ten) for about `ticks` ticks. */
double svg_nice_step(double range, int ticks);
/* Start an SVG document with a white background and a title line; end it
 * (closes f; returns 0, or -1 after printing an error). */
void svg_begin(FILE *f, int width, int height, const char *title);
int svg_end(FILE *f, const char *path);

/* A line chart: panels side by side sharing the x values (counts). */
int svg_line_chart(const char *path, const char *title, const char *xlabel,
                   const double *x, int n, const svg_panel *panels,
                   int npanels);

/* ---- traces (tracejson.c, cmd_timeline.c) ---- */

typedef struct tl_slice {
    int row;       /* Index into the rows. */
    char name[64]; /* Task name. */
    double begin_us, end_us;
} tl_slice;

typedef struct tl_row {
    long pid, tid;
    char name[64];
} tl_row;

typedef struct tl_trace {
    tl_slice *slices;
    int nslices;
    tl_row *rows;
    int nrows;
    double end_us; /* Latest end. */
} tl_trace;

/* Read a Chrome trace event file (the form juggle writes: B/E pairs, X
 * events, M thread_name/process_name metadata). Returns 0, or -1 after
 * printing "juggle: <path>: <reason>". */
int tl_load(const char *path, tl_trace *out);
void tl_free(tl_trace *t);
/* Draw the Gantt chart. Returns 0, or -1 after printing an error. */
int tl_draw(const tl_trace *t, const char *title, const char *svg_path);

/* ---- commands ---- */

int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_tour(int argc, char **argv);

/* The comparison behind `compare`, also used by the tour: runs every
 * model on the work and prints the table and the sentences. */
int compare_run(const lab_cli *o);
/* One demo by name ("threads", "processes", "async"). */
int demo_run(const char *which);

#endif /* JUGGLE_CLI_H */
