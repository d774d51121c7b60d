/* SPDX-License-Identifier: MIT */
/*
 * juggle/trace.h - timelines: which task ran on which worker, and when.
 *
 * A trace is a fixed-capacity buffer of slices. A runtime given a trace
 * (jg_run_opts.trace) records one slice for every stretch of time a task
 * ran on a worker without switching away: one row per worker, one bar per
 * slice. Programs can add slices of their own (a thread's or a child
 * process's work) with jg_trace_add(). The buffer is shared memory, so
 * children forked after jg_trace_new() add to the same trace as their
 * parent. When the buffer is full, later slices are dropped and counted.
 *
 * jg_trace_write() saves the trace in the Chrome trace event format (a JSON
 * file that Perfetto and chrome://tracing load): one "B"/"E" event pair per
 * slice, pid = process row, tid = worker row, with names for both.
 */
#ifndef JUGGLE_TRACE_H
#define JUGGLE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "juggle/base.h"

/* A trace buffer; see the top of this header. */
typedef struct jg_trace jg_trace;

/* Bytes kept of a slice's name and of a row's name (with the NUL). */
#define JG_TRACE_NAME 24

/* One slice: something named ran on a row from begin to end. */
typedef struct jg_trace_slice {
    /* Process row (e.g. the OS pid) and worker row within it (e.g. the
     * worker index or a thread number). Rows are drawn in this order. */
    int32_t pid;
    int32_t tid;
    /* Names of the row ("worker 0", "thread 3") and of the slice (the
     * task's name); truncated to JG_TRACE_NAME - 1 bytes. */
    char row[JG_TRACE_NAME];
    char name[JG_TRACE_NAME];
    /* Which task: slices with the same id belong to one task. */
    uint64_t id;
    /* jg_now() times, begin <= end. */
    int64_t begin, end;
} jg_trace_slice;

/*
 * Make an empty trace.
 *
 * out:      receives the trace; set only on success.
 * capacity: slices kept at most; 0 = 1,048,576 (88 MiB of slices).
 * Returns:  0.
 * Errors:   -EINVAL for a NULL out or a capacity above 2^28; -ENOMEM.
 * Thread:   any thread.
 * Blocks:   no.
 */
JG_API int jg_trace_new(jg_trace **out, size_t capacity);

/*
 * Free a trace. The caller must make sure nothing records into it any more
 * (the runtime that used it has returned, children that add to it have
 * been joined). NULL does nothing.
 *
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API void jg_trace_free(jg_trace *tr);

/*
 * Add one slice.
 *
 * s:       the slice; copied.
 * Returns: 0.
 * Errors:  -EINVAL for NULL arguments, begin < 0 or end < begin; -ENOSPC
 *          when the trace is full (the slice is counted in
 *          jg_trace_dropped()).
 * Thread:  any thread or child process, concurrently with other adders.
 * Blocks:  no.
 */
JG_API int jg_trace_add(jg_trace *tr, const jg_trace_slice *s);

/*
 * The number of slices held.
 *
 * Returns: the count (0 for NULL).
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API size_t jg_trace_count(const jg_trace *tr);

/*
 * The number of slices dropped because the trace was full.
 *
 * Returns: the count (0 for NULL).
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API size_t jg_trace_dropped(const jg_trace *tr);

/*
 * Copy out slice i, in the order they were added.
 *
 * Returns: 0.
 * Errors:  -EINVAL for NULL arguments; -ERANGE for i >= jg_trace_count().
 * Thread:  any thread; slices still being added may be missing.
 * Blocks:  no.
 */
JG_API int jg_trace_get(const jg_trace *tr, size_t i, jg_trace_slice *out);

/*
 * Write the trace as a Chrome trace event file (JSON). Timestamps are in
 * microseconds from the earliest slice; slices come out sorted by begin
 * time, each as a "B" and an "E" event on its row, so the pairs nest.
 *
 * path:    the file to create or replace.
 * Returns: 0.
 * Errors:  -EINVAL for NULL arguments; the negated errno of open/write
 *          (e.g. -ENOENT, -EACCES, -ENOSPC); -ENOMEM.
 * Thread:  any thread, once nothing adds to the trace any more.
 * Blocks:  the calling thread while it writes.
 */
JG_API int jg_trace_write(const jg_trace *tr, const char *path);

#endif /* JUGGLE_TRACE_H */
