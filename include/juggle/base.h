/* SPDX-License-Identifier: MIT */
/*
 * juggle/base.h - what every part of the API shares: the export macro, the
 * error convention, time in nanoseconds and the version.
 *
 * Errors: every fallible function returns an int (or ssize_t) that is >= 0 on
 * success and a negated errno value on failure (-EINVAL, -ENOMEM, -ECANCELED,
 * -ETIMEDOUT, ...). errno itself never crosses the API: tasks migrate between
 * threads and errno is per thread.
 *
 * Time: one unit everywhere, int64_t nanoseconds of the monotonic clock.
 * Deadlines are absolute (compare with jg_now()); JG_FOREVER means none.
 */
#ifndef JUGGLE_BASE_H
#define JUGGLE_BASE_H

#include <stdint.h>

#if defined(JG_BUILDING_LIBRARY)
#define JG_API __attribute__((visibility("default")))
#else
#define JG_API
#endif

#define JG_VERSION_MAJOR 0
#define JG_VERSION_MINOR 1
#define JG_VERSION_PATCH 0

/* A deadline that never passes. */
#define JG_FOREVER ((int64_t)-1)

/* Durations in nanoseconds, e.g. jg_sleep(JG_MS(250)). */
#define JG_NS(n) ((int64_t)(n))
#define JG_US(n) ((int64_t)(n) * 1000)
#define JG_MS(n) ((int64_t)(n) * 1000000)
#define JG_SEC(n) ((int64_t)(n) * 1000000000)

/*
 * The current time of the monotonic clock, in nanoseconds.
 *
 * Returns: nanoseconds since an arbitrary fixed point (boot); never negative
 *          and never decreasing.
 * Thread:  any thread, inside or outside the runtime.
 * Blocks:  no.
 */
JG_API int64_t jg_now(void);

/*
 * A short English description of an error code returned by juggle.
 *
 * rc:      a value returned by a juggle function; negative means an error
 *          (-errno), zero or positive means success.
 * Returns: a static string, never NULL; "success" for rc >= 0.
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API const char *jg_strerror(int rc);

#endif /* JUGGLE_BASE_H */
