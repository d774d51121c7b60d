/* SPDX-License-Identifier: MIT */
/*
 * main.c - `juggle`, the lab: runs the article's experiments on concurrency
 * and parallelism and shows what each model buys. This file dispatches to
 * the commands (cmd_<name>.c) and holds the message helpers they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"tour", cmd_tour, "the guided tour: demos, comparisons, timelines"},
    {"demo", cmd_demo, "the article's programs: threads, processes, async"},
    {"run", cmd_run, "run one model on one workload and measure it"},
    {"compare", cmd_compare, "run every model on the same work, one table"},
    {"sweep", cmd_sweep, "vary the workers or tasks; table and SVG chart"},
    {"timeline", cmd_timeline, "draw a trace file as a Gantt chart (SVG)"},
};

static void usage(FILE *f) {
    fprintf(f, "Usage: juggle <command> [options]\n\n"
               "The lab of juggle: what concurrency and parallelism buy for "
               "I/O-bound\nand CPU-bound work, measured on this machine.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nRun 'juggle <command> --help' for a command's options.\n"
               "Start with 'juggle tour'.\n");
}

void cli_error(const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "juggle: %s: ", what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "juggle: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'juggle %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* Underflow ("1e-400") is ERANGE too, with a result of at most
     * DBL_MIN: a number that small is as good as itself (or 0). */
    if (errno == ERANGE && fabs(v) <= DBL_MIN) {
        errno = 0;
    }
    if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
        v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_check_writable(const char *path) {
    bool existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        return -errno;
    }
    close(fd);
    if (!existed) {
        unlink(path); /* Written for real after the run. */
    }
    return 0;
}

int cli_ncpu(void) {
    /* The CPUs this process may use (taskset, a container's cpuset), as
     * the runtime counts them for its default worker count. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
        return CPU_COUNT(&set);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("juggle %d.%d.%d\n", JG_VERSION_MAJOR, JG_VERSION_MINOR,
               JG_VERSION_PATCH);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) == 0) {
            /* The command sees its own name as argv[0], as getopt wants. */
            int rc = commands[i].fn(argc - 1, argv + 1);
            if (fflush(stdout) != 0 && rc == EXIT_OK) {
                cli_error("stdout", "%s", strerror(errno));
                rc = EXIT_FAIL;
            }
            return rc;
        }
    }
    cli_error(name, "no such command");
    fprintf(stderr, "Try 'juggle --help'.\n");
    return EXIT_USAGE;
}
