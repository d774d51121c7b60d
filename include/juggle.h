/* SPDX-License-Identifier: MIT */
/*
 * juggle.h - the whole public API of juggle: concurrency and parallelism for
 * C. Include only this header. Each part lives in include/juggle/<part>.h and
 * is self-contained; this umbrella pulls them all in.
 */
#ifndef JUGGLE_H
#define JUGGLE_H

#include "juggle/base.h"
#include "juggle/task.h"
#include "juggle/par.h"
#include "juggle/exec.h"
#include "juggle/trace.h"
#include "juggle/io.h"

#endif /* JUGGLE_H */
