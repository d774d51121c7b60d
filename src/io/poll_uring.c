/* SPDX-License-Identifier: MIT */
/* poll_uring.c - placeholder until the io_uring backend lands. */
#include <errno.h>

#include "io/poller.h"

static int ur_open(struct jg__poller *p, int nworkers) {
    (void)p;
    (void)nworkers;
    return -ENOTSUP;
}

const struct jg__poller_ops jg__poller_uring = {
    .name = "uring",
    .open = ur_open,
};
