/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `juggle run`: one model on one workload, measured.
 */
#include "cli.h"

static const char help_text[] =
    "Usage: juggle run --model MODEL [options]\n"
    "\n"
    "Run TASKS copies of one task under one model and measure the run: wall\n"
    "time, CPU time (user+sys, this run and its children), CPU use, peak RSS\n"
    "and a check of the results.\n"
    "\n"
    "Models:\n"
    "  serial     one task after another on one thread\n"
    "  async      juggle tasks on one worker (concurrency)\n"
    "  threads    OS threads (default: one per task)\n"
    "  processes  child processes (default: one per task)\n"
    "  hybrid     juggle tasks on WORKERS workers (concurrency + parallelism)\n"
    "  forkjoin   jg_par_for over the tasks on WORKERS workers\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL     the model (required)\n"
    "  --workload KIND       io (each task sleeps), cpu (each computes a\n"
    "                        naive fib), mixed (sleeps, then computes);\n"
    "                        default io\n"
    "  --tasks N             number of tasks (default: CPUs, 4 to 16)\n"
    "  --workers W           threads, processes or workers (default: one\n"
    "                        per task for threads/processes, one per CPU\n"
    "                        for hybrid/forkjoin)\n"
    "  --sleep SECONDS       io/mixed: each task's wait (default 0.5)\n"
    "  --fib N               cpu/mixed: each task computes fib(N) (default "
    "39)\n"
    "  --rounds R            each task waits and computes in R rounds, each\n"
    "                        1/R of the wait and about 1/R of fib(N), so\n"
    "                        timelines show tasks taking turns (default 1)\n"
    "  --gil                 threads: compute only while holding one global\n"
    "                        lock, handed over every 5 ms to a waiting\n"
    "                        thread, as CPython's GIL\n"
    "  --trace FILE          write a timeline (Chrome trace JSON) to FILE;\n"
    "                        draw it with 'juggle timeline FILE'\n"
    "  --json, --csv         machine-readable output\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 ok, 1 the run or its result check failed, 2 usage.\n";

int cmd_run(int argc, char **argv) {
    lab_cli o;
    int help;
    int rc = lab_cli_parse("run", argc, argv, &o, &help);
    if (rc != 0) {
        return rc;
    }
    if (help) {
        fputs(help_text, stdout);
        return EXIT_OK;
    }
    lab_result r;
    if (lab_measure(&o.work, &r) < 0) {
        return EXIT_FAIL;
    }
    report_print(stdout, o.format, &r, 1, 0);
    if (!r.ok) {
        cli_error("run", "result check failed: %d of %d tasks done, %d "
                  "with a wrong result, sum %llu, expected %llu",
                  r.completed, r.work.tasks, r.wrong,
                  (unsigned long long)r.sum,
                  (unsigned long long)r.expect_sum);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
