/* SPDX-License-Identifier: MIT */
/*
 * fork.h - fork-join inside the core: the join that par.c builds on.
 */
#ifndef JG_CORE_FORK_H
#define JG_CORE_FORK_H

#include "juggle/par.h"

struct jg_task;

/* jg_par_join for a caller that is the running task self. */
int jg__par_join_task(struct jg_task *self, jg_par_fn fa, void *a,
                      jg_par_fn fb, void *b);

#endif /* JG_CORE_FORK_H */
