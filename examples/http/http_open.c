/* SPDX-License-Identifier: MIT */
/*
 * http_open.c - open a file beneath the served directory (see
 * http_open.h): openat2's RESOLVE_BENEATH, or, on kernels without it, a
 * component-by-component walk that follows no symbolic link at all.
 *
 * Why the walk: openat(dirfd, "a/b/c", O_NOFOLLOW) checks only "c"; a
 * symbolic link "a" -> "/" inside the root would take the path out of it.
 * Opening each directory with O_NOFOLLOW | O_DIRECTORY relative to the
 * previous one checks every component, and no component is "..", so the
 * walk can only go down from dirfd.
 */
#define _GNU_SOURCE
#include "http_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
#define DIR_FLAGS (O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)
#define NAME_MAX_LEN 255    /* NAME_MAX of Linux file systems. */

int http_open_beneath(int dirfd, const char *path) {
    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd >= 0) {
        return fd;
    }
    /* ENOSYS: Linux < 5.6. EPERM: a seccomp filter older than openat2
     * (the walk is stricter, so falling back never loosens the check). */
    if (errno == ENOSYS || errno == EPERM) {
        return http_open_walk(dirfd, path, OPEN_FLAGS);
    }
    return -errno;
}

/* Open the component [name, name + len) of directory fd. */
static int open_component(int fd, const char *name, size_t len, int flags) {
    char comp[NAME_MAX_LEN + 1];
    if (len == 0 || len > NAME_MAX_LEN || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return -EINVAL;
    }
    memcpy(comp, name, len);
    comp[len] = '\0';
    int cfd = openat(fd, comp, flags);
    return cfd < 0 ? -errno : cfd;
}

int http_open_walk(int dirfd, const char *path, int flags) {
    flags |= O_NOFOLLOW;
    if (strcmp(path, ".") == 0) {
        int fd = openat(dirfd, ".", flags);
        return fd < 0 ? -errno : fd;
    }
    if (path[0] == '/') {
        return -EINVAL;
    }
    int fd = dirfd;    /* Borrowed while it is dirfd, owned after. */
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        /* The last component: nothing, or only a '/', after it. A
         * trailing '/' makes it a directory (and, as for open(2), must
         * not let a link be followed: "a/" would resolve "a"). */
        int last = slash == NULL || slash[1] == '\0';
        int cflags = last ? flags | (slash ? O_DIRECTORY : 0) : DIR_FLAGS;
        int next = open_component(fd, p, len, cflags);
        if (fd != dirfd) {
            close(fd);
        }
        if (next < 0 || last) {
            return next;
        }
        fd = next;
        p = slash + 1;
    }
}
