/* SPDX-License-Identifier: MIT */
/*
 * fork.h - fork-join inside the core: the join that par.c builds on.
 */
#ifndef JG_CORE_FORK_H
#define JG_CORE_FORK_H

#include "juggle/par.h"

struct jg_task;

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Forks stolen since the process started (a statistic, for tests). */
extern _Atomic uint64_t jg__forks_stolen;

/* jg_par_join; eager offers fb to other workers at once, for coarse forks
 * such as the halves of a loop. */
int jg__par_join_ex(jg_par_fn fa, void *a, jg_par_fn fb, void *b,
                    bool eager);

/* jg_par_join for a caller outside any runtime (par.c). */
int jg__par_join_outside(jg_par_fn fa, void *a, jg_par_fn fb, void *b);

#endif /* JG_CORE_FORK_H */
