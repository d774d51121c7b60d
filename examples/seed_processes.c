/* SPDX-License-Identifier: MIT */
/*
 * seed_processes.c - the article's multiprocessing program in C. Two child
 * processes start, each sleeps 2 seconds, and they finish together: about
 * 2.0 s in total. Each child has its own memory; here they only print.
 *
 * The Python it mirrors:
 *
 *     def task(name):
 *         print(f"Task {name} started")
 *         time.sleep(2)
 *         print(f"Task {name} finished")
 *
 *     p1 = multiprocessing.Process(target=task, args=("A",))
 *     p2 = multiprocessing.Process(target=task, args=("B",))
 *     p1.start(); p2.start()
 *     p1.join(); p2.join()
 *     print("Both tasks are done!")
 *
 * A child ends with _exit() and does not flush the stdio buffers it
 * inherited, so stdout is line-buffered (and the child flushes its own
 * lines as it prints them).
 */
#include <stdio.h>
#include <juggle.h>

static void *task(void *arg) {
    const char *name = arg;
    printf("Task %s started\n", name);
    jg_sleep(JG_SEC(2));
    printf("Task %s finished\n", name);
    fflush(stdout); /* Also when stdout is a pipe or a file. */
    return NULL;
}

static int join(jg_process *p) {
    jg_exit how;
    int rc = jg_process_join(p, NULL, &how);
    if (rc < 0) {
        char what[64];
        jg_exit_describe(&how, what, sizeof(what));
        fprintf(stderr, "seed_processes: a child %s\n", what);
    }
    return rc;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t start = jg_now();
    jg_process *p1, *p2;
    jg_process_opts a = {.name = "task-A"}, b = {.name = "task-B"};
    int rc = jg_process_start(&p1, task, "A", &a);
    if (rc == 0) {
        rc = jg_process_start(&p2, task, "B", &b);
        if (rc < 0) {
            join(p1);
        }
    }
    if (rc < 0) {
        fprintf(stderr, "seed_processes: %s\n", jg_strerror(rc));
        return 1;
    }
    int failed = (join(p1) < 0) + (join(p2) < 0);
    printf("Both tasks are done!\n");
    printf("(%.2f s in total)\n", (double)(jg_now() - start) / 1e9);
    return failed > 0 ? 1 : 0;
}
