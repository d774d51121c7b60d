/* SPDX-License-Identifier: MIT */
/*
 * cmd_demo.c - `juggle demo`: the article's three programs, with their
 * output lines and their timing. Each task prints that it started, waits
 * 2 s, and prints that it finished; all of them finish together, so every
 * program takes about 2.0 s:
 *
 *   threads    two OS threads (Python's threading.Thread);
 *   processes  two child processes (multiprocessing.Process);
 *   async      three juggle tasks on one worker (asyncio.gather).
 *
 * The task function is the same in all three: jg_sleep blocks a thread or
 * a child process, and suspends a juggle task.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help_text[] =
    "Usage: juggle demo threads|processes|async\n"
    "\n"
    "Run one of the article's programs. Each task prints \"Task X started\",\n"
    "waits 2 s and prints \"Task X finished\"; the tasks wait at the same\n"
    "time, so the program takes about 2.0 s, not 2 s per task.\n"
    "\n"
    "  threads    two OS threads, A and B\n"
    "  processes  two child processes, A and B\n"
    "  async      three juggle tasks, A, B and C, on one worker thread\n";

/*
 * Python's Thread.start() returns only once the new thread runs, so the
 * article's threads always print "A started" before "B started". The
 * demos do the same: a task writes a byte here once it has started, and
 * the starter waits for it before starting the next (-1: not used).
 */
static int started_pipe[2] = {-1, -1};

static void *task(void *arg) {
    const char *name = arg;
    printf("Task %s started\n", name);
    /* A child process ends with _exit, so its lines must leave now. */
    fflush(stdout);
    if (started_pipe[1] >= 0) {
        char c = 1;
        while (write(started_pipe[1], &c, 1) < 0 && errno == EINTR) {
        }
    }
    jg_sleep(JG_SEC(2));
    printf("Task %s finished\n", name);
    fflush(stdout);
    return NULL;
}

/* Wait until the task just started has printed its first line (at most
 * 5 s, so a child that died first cannot hang the demo). */
static void wait_started(void) {
    struct pollfd p = {.fd = started_pipe[0], .events = POLLIN};
    char c;
    if (poll(&p, 1, 5000) > 0) {
        while (read(started_pipe[0], &c, 1) < 0 && errno == EINTR) {
        }
    }
}

static int demo_threads(void) {
    jg_thread *t[2];
    static const char *const names[] = {"A", "B"};
    int rc = 0, started = 0;
    for (; started < 2; started++) {
        rc = jg_thread_start(&t[started], task, (void *)names[started], NULL);
        if (rc < 0) {
            cli_error("demo threads", "thread: %s", jg_strerror(rc));
            break;
        }
        wait_started();
    }
    for (int i = 0; i < started; i++) {
        jg_thread_join(t[i], NULL);
    }
    if (rc == 0) {
        printf("Both tasks are done!\n");
    }
    return rc;
}

static int demo_processes(void) {
    jg_process *p[2];
    static const char *const names[] = {"A", "B"};
    int rc = 0, started = 0;
    fflush(stdout);
    for (; started < 2; started++) {
        rc = jg_process_start(&p[started], task, (void *)names[started],
                              NULL);
        if (rc < 0) {
            cli_error("demo processes", "process: %s", jg_strerror(rc));
            break;
        }
        wait_started();
    }
    for (int i = 0; i < started; i++) {
        void *res;
        jg_exit how = {0};
        int jrc = jg_process_join(p[i], &res, &how);
        if (jrc == 0 && !(how.exited && how.code == 0)) {
            char why[128];
            jg_exit_describe(&how, why, sizeof(why));
            cli_error("demo processes", "task %s: %s", names[i], why);
            jrc = -ECHILD;
        }
        if (jrc < 0 && rc == 0) {
            rc = jrc;
        }
    }
    if (rc == 0) {
        printf("Both tasks are done!\n");
    }
    return rc;
}

static void *async_main(void *arg) {
    static const char *const names[] = {"A", "B", "C"};
    jg_task *t[3];
    int *rc = arg, spawned = 0;
    for (; spawned < 3; spawned++) {
        *rc = jg_spawn(&t[spawned], task, (void *)names[spawned], NULL);
        if (*rc < 0) {
            cli_error("demo async", "spawn: %s", jg_strerror(*rc));
            break;
        }
    }
    jg_gather(t, (size_t)spawned, NULL);
    if (*rc == 0) {
        printf("All tasks are done!\n");
    }
    return NULL;
}

static int demo_async(void) {
    /* One worker: the single-threaded event loop, as asyncio.run(). */
    jg_run_opts opts = {.workers = 1};
    int inner = 0;
    int rc = jg_run(async_main, &inner, &opts, NULL);
    if (rc < 0) {
        cli_error("demo async", "%s", jg_strerror(rc));
    }
    return rc < 0 ? rc : inner;
}

int demo_run(const char *which) {
    int64_t start = jg_now();
    int rc;
    if (strcmp(which, "threads") == 0 || strcmp(which, "processes") == 0) {
        if (pipe(started_pipe) < 0) {
            cli_error("pipe", "%s", strerror(errno));
            return EXIT_FAIL;
        }
        rc = which[0] == 't' ? demo_threads() : demo_processes();
        close(started_pipe[0]);
        close(started_pipe[1]);
        started_pipe[0] = started_pipe[1] = -1;
    } else {
        rc = demo_async();
    }
    if (rc < 0) {
        return EXIT_FAIL;
    }
    printf("(%.2f s in total)\n", (double)(jg_now() - start) / 1e9);
    return EXIT_OK;
}

int cmd_demo(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(help_text, stdout);
        return EXIT_OK;
    }
    if (argc != 2) {
        return cli_usage_error("demo", argc < 2 ? "which demo? threads, "
                               "processes or async" : "too many arguments");
    }
    if (strcmp(argv[1], "threads") != 0 && strcmp(argv[1], "processes") != 0 &&
        strcmp(argv[1], "async") != 0) {
        return cli_usage_error("demo", "unknown demo '%s' (threads, "
                               "processes, async)", argv[1]);
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* Lines appear as they happen. */
    return demo_run(argv[1]);
}
