/* SPDX-License-Identifier: MIT */
/*
 * lab_names.c - the lab's models and workloads by name, and what each
 * model's defaults come to: tasks, workers, the label in tables and
 * sentences.
 */
#include <string.h>

#include "cli.h"

static const char *const model_names[MODEL_COUNT] = {
    "serial", "async", "threads", "processes", "hybrid", "forkjoin",
};
static const char *const workload_names[] = {"io", "cpu", "mixed"};

const char *lab_model_name(lab_model m) {
    return (unsigned)m < MODEL_COUNT ? model_names[m] : "?";
}

const char *lab_workload_name(lab_workload w) {
    return (unsigned)w <= WL_MIXED ? workload_names[w] : "?";
}

int lab_model_parse(const char *s, lab_model *out) {
    for (int i = 0; i < MODEL_COUNT; i++) {
        if (strcmp(s, model_names[i]) == 0) {
            *out = (lab_model)i;
            return 0;
        }
    }
    return -1;
}

int lab_workload_parse(const char *s, lab_workload *out) {
    for (int i = 0; i <= WL_MIXED; i++) {
        if (strcmp(s, workload_names[i]) == 0) {
            *out = (lab_workload)i;
            return 0;
        }
    }
    return -1;
}

int lab_tasks_default(void) {
    /* Enough tasks to keep every core busy, at least 4, and few enough
     * that the serial runs of the tour stay short on big machines. */
    int n = cli_ncpu();
    return n < 4 ? 4 : n > 16 ? 16 : n;
}

int lab_workers(const lab_work *w) {
    switch (w->model) {
    case MODEL_SERIAL:
    case MODEL_ASYNC:
        return 1;
    case MODEL_THREADS:
    case MODEL_PROCESSES:
        /* One per task by default, as the article's programs; never more
         * than there are tasks (the rest would only wait). */
        if (w->workers <= 0 || w->workers > w->tasks) {
            return w->tasks;
        }
        return w->workers;
    default:
        return w->workers > 0 ? w->workers : cli_ncpu();
    }
}

const char *lab_label(const lab_work *w, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", lab_model_name(w->model),
             w->model == MODEL_THREADS && w->gil ? " +gil" : "");
    return buf;
}
