/* SPDX-License-Identifier: MIT */
/*
 * http_open.h - opening a file of the served directory so that nothing
 * outside it can be reached, neither by ".." nor by a symbolic link:
 * openat2(2) with RESOLVE_BENEATH where the kernel has it, and a walk
 * that refuses every symbolic link where it does not.
 */
#ifndef JUGGLE_EXAMPLE_HTTP_OPEN_H
#define JUGGLE_EXAMPLE_HTTP_OPEN_H

/*
 * Open path beneath the directory dirfd, read-only (O_CLOEXEC, O_NOCTTY,
 * O_NONBLOCK). Uses openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
 * where openat2 fails with ENOSYS (Linux < 5.6) or EPERM (a seccomp filter
 * that does not know it), falls back to http_open_walk().
 *
 * dirfd:   a directory (O_PATH is enough); borrowed.
 * path:    relative, normalised (see http_path_normalize(): no "..", no
 *          "//"; "." for the directory itself; a trailing '/' allowed).
 * Returns: a new descriptor, or -errno.
 * Errors:  any of openat2(2) or openat(2); -ELOOP or -ENOTDIR for a
 *          symbolic link in the fallback; -EINVAL for a bad path there.
 * Thread:  any. Blocks: the thread (file system calls).
 */
int http_open_beneath(int dirfd, const char *path);

/*
 * The fallback of http_open_beneath(), exported so the tests can run it
 * on kernels that have openat2: walk path one component at a time with
 * openat(fd, component, O_NOFOLLOW | O_DIRECTORY) for the directories and
 * openat(fd, last, flags | O_NOFOLLOW) for the last one, so that no
 * symbolic link is followed anywhere on the path (stricter than
 * RESOLVE_BENEATH, which follows links that stay beneath dirfd).
 * Intermediate descriptors are closed.
 *
 * path:    as above; an empty component, "." (other than the whole path
 *          ".") or ".." is refused with -EINVAL. A trailing '/' requires
 *          the last component to be a directory.
 * flags:   open(2) flags for the last component; O_NOFOLLOW is added.
 * Returns: a new descriptor, or -errno.
 * Thread:  any. Blocks: the thread.
 */
int http_open_walk(int dirfd, const char *path, int flags);

#endif /* JUGGLE_EXAMPLE_HTTP_OPEN_H */
