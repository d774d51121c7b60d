/* SPDX-License-Identifier: MIT */
/*
 * seed_async.c - the article's asyncio program in C. Three tasks start, each
 * sleeps 2 seconds, and they finish together: about 2.0 s in total, on one
 * thread, because a sleeping task gives the thread to the others.
 *
 * The Python it mirrors:
 *
 *     async def task(name):
 *         print(f"Task {name} started")
 *         await asyncio.sleep(2)
 *         print(f"Task {name} finished")
 *
 *     async def main():
 *         await asyncio.gather(task("A"), task("B"), task("C"))
 *         print("All tasks are done!")
 *
 *     asyncio.run(main())
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

static void *amain(void *arg) {
    (void)arg;
    static const char *names[] = {"A", "B", "C"};
    jg_task *tasks[3];
    for (int i = 0; i < 3; i++) {
        int rc = jg_spawn(&tasks[i], task, (void *)names[i], NULL);
        if (rc < 0) {
            fprintf(stderr, "seed_async: spawn: %s\n", jg_strerror(rc));
            return (void *)1;
        }
    }
    jg_gather(tasks, 3, NULL);
    printf("All tasks are done!\n");
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* Lines appear as they happen. */
    int64_t start = jg_now();
    /* One worker: the single-threaded event loop, as asyncio.run(). */
    jg_run_opts opts = {.workers = 1};
    void *failed = NULL;
    int rc = jg_run(amain, NULL, &opts, &failed);
    if (rc < 0) {
        fprintf(stderr, "seed_async: %s\n", jg_strerror(rc));
        return 1;
    }
    printf("(%.2f s in total)\n", (double)(jg_now() - start) / 1e9);
    return failed != NULL ? 1 : 0;
}
