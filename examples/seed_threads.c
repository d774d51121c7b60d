/* SPDX-License-Identifier: MIT */
/*
 * seed_threads.c - the article's threading program in C. Two OS threads
 * start, each sleeps 2 seconds, and they finish together: about 2.0 s in
 * total, because a sleeping thread leaves the CPU to the other.
 *
 * The Python it mirrors:
 *
 *     def task(name):
 *         print(f"Task {name} started")
 *         time.sleep(2)
 *         print(f"Task {name} finished")
 *
 *     t1 = threading.Thread(target=task, args=("A",))
 *     t2 = threading.Thread(target=task, args=("B",))
 *     t1.start(); t2.start()
 *     t1.join(); t2.join()
 *     print("Both tasks are done!")
 *
 * The task function is the same one a juggle task would run: on a plain
 * thread, jg_sleep() simply blocks the thread.
 */
#include <stdio.h>
#include <juggle.h>

static void *task(void *arg) {
    const char *name = arg;
    printf("Task %s started\n", name);
    jg_sleep(JG_SEC(2));
    printf("Task %s finished\n", name);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* Lines appear as they happen. */
    int64_t start = jg_now();
    jg_thread *t1, *t2;
    jg_thread_opts a = {.name = "task-A"}, b = {.name = "task-B"};
    int rc = jg_thread_start(&t1, task, "A", &a);
    if (rc == 0) {
        rc = jg_thread_start(&t2, task, "B", &b);
        if (rc < 0) {
            jg_thread_join(t1, NULL);
        }
    }
    if (rc < 0) {
        fprintf(stderr, "seed_threads: %s\n", jg_strerror(rc));
        return 1;
    }
    jg_thread_join(t1, NULL);
    jg_thread_join(t2, NULL);
    printf("Both tasks are done!\n");
    printf("(%.2f s in total)\n", (double)(jg_now() - start) / 1e9);
    return 0;
}
