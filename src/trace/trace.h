/* SPDX-License-Identifier: MIT */
/*
 * trace/trace.h - what the scheduler calls to record timelines
 * (juggle/trace.h is the public side).
 */
#ifndef JG_TRACE_TRACE_H
#define JG_TRACE_TRACE_H

#include <stdint.h>

#include "juggle/trace.h"

/* Record that task `id` named `name` ran on worker `worker` of process
 * `pid` from begin to end. Never fails: a full trace counts a drop. */
void jg__trace_task(jg_trace *tr, int pid, int worker, uint64_t id,
                    const char *name, int64_t begin, int64_t end);

#endif /* JG_TRACE_TRACE_H */
