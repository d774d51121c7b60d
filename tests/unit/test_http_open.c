/* SPDX-License-Identifier: MIT */
/*
 * test_http_open.c - opening files beneath the HTTP example's --root:
 * neither a symbolic link to a directory outside the root nor one as the
 * last component gets out, with openat2 and with the fallback walk for
 * kernels without it. The fallback is reached two ways: by calling
 * http_open_walk() directly, and by making openat2 fail with ENOSYS or
 * EPERM through the wrapper of syscall() below.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http_open.h"

/* ---- openat2 made to fail ---- */

/*
 * The test links with -Wl,--wrap=syscall: calls to syscall() from the
 * objects of this binary (http_open.c's, the only ones) come here, those
 * of shared libraries go to libc as usual. Only openat2 is expected, so
 * exactly its four arguments are read (reading more than were passed is
 * undefined, and AddressSanitizer says so).
 */
static int fake_openat2_errno;    /* 0: the real syscall. */
static int fake_openat2_calls;

long __real_syscall(long n, ...);
long __wrap_syscall(long n, ...);

long __wrap_syscall(long n, ...) {
    if (n != SYS_openat2) {
        fprintf(stderr, "test_http_open: unexpected syscall %ld\n", n);
        abort();
    }
    va_list ap;
    va_start(ap, n);
    int dirfd = va_arg(ap, int);
    const char *path = va_arg(ap, const char *);
    void *how = va_arg(ap, void *);
    size_t size = va_arg(ap, size_t);
    va_end(ap);
    if (fake_openat2_errno != 0) {
        fake_openat2_calls++;
        errno = fake_openat2_errno;
        return -1;
    }
    return __real_syscall(n, dirfd, path, how, size);
}

/* ---- the tree ---- */

/*
 * base/outside/secret.txt     what must stay out of reach
 * base/root/                  the served directory:
 *   in/file.txt, in/index.html
 *   in/link.txt -> file.txt   a link as the last component, inside
 *   escape -> ../outside      a linked directory pointing outside
 *   out.txt -> ../outside/secret.txt
 */
static char base[64];
static int root_fd = -1;

static void put(const char *rel, const char *text) {
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "fopen %s: %s", p, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void link_to(const char *target, const char *rel) {
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p,
                 strerror(errno));
}

static void sub(const char *rel) {
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s: %s", p, strerror(errno));
}

static void make_tree(void) {
    snprintf(base, sizeof(base), "/tmp/jg_http_open.XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    sub("outside");
    put("outside/secret.txt", "secret");
    sub("root");
    sub("root/in");
    put("root/in/file.txt", "inside");
    put("root/in/index.html", "index");
    link_to("file.txt", "root/in/link.txt");
    link_to("../outside", "root/escape");
    link_to("../outside/secret.txt", "root/out.txt");
    char p[128];
    snprintf(p, sizeof(p), "%s/root", base);
    root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(root_fd, 0);
}

static void remove_tree(void) {
    static const char *const paths[] = {
        "root/out.txt", "root/escape", "root/in/link.txt",
        "root/in/index.html", "root/in/file.txt", "root/in", "root",
        "outside/secret.txt", "outside", "",
    };
    if (root_fd >= 0) {
        close(root_fd);
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", base, paths[i]);
        (void)remove(p);
    }
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

/* Open path with fn; expect the file's text, or (text NULL) a failure. */
typedef int (*open_fn)(int dirfd, const char *path);

static void expect(open_fn fn, const char *path, const char *text) {
    int fd = fn(root_fd, path);
    if (text == NULL) {
        cr_assert_lt(fd, 0, "'%s' opened (fd %d), must be refused", path,
                     fd);
        return;
    }
    cr_assert_geq(fd, 0, "'%s': %s", path, strerror(-fd));
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    cr_assert_str_eq(buf, text, "'%s': read %zd bytes '%s', want '%s'",
                     path, n, buf, text);
}

static void expect_dir(open_fn fn, const char *path) {
    int fd = fn(root_fd, path);
    cr_assert_geq(fd, 0, "'%s': %s", path, strerror(-fd));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert(S_ISDIR(st.st_mode), "'%s' is not a directory", path);
    close(fd);
}

static int walk(int dirfd, const char *path) {
    return http_open_walk(dirfd, path, O_RDONLY | O_CLOEXEC);
}

/* What every way of opening must do. */
static void common_cases(open_fn fn) {
    int before = count_fds();
    expect(fn, "in/file.txt", "inside");
    expect(fn, "in/index.html", "index");
    expect_dir(fn, ".");
    expect_dir(fn, "in");
    expect_dir(fn, "in/");
    expect(fn, "escape/secret.txt", NULL);
    expect(fn, "out.txt", NULL);
    expect(fn, "in/missing", NULL);
    expect(fn, "in/file.txt/", NULL);
    cr_assert_eq(count_fds(), before, "descriptors leaked: %d, then %d",
                 before, count_fds());
}

/* Each test makes the tree and removes it (no TestSuite .init/.fini: the
 * Criterion shim of the TSan build has none). */
Test(http_open, walk_follows_no_link) {
    make_tree();
    common_cases(walk);
    int before = count_fds();
    /* Stricter than RESOLVE_BENEATH: no link at all, even inside. */
    expect(walk, "in/link.txt", NULL);
    expect(walk, "escape", NULL);
    expect(walk, "escape/", NULL);
    cr_assert_eq(walk(root_fd, "escape/secret.txt"), -ENOTDIR);
    cr_assert_eq(walk(root_fd, "out.txt"), -ELOOP);
    cr_assert_eq(count_fds(), before);
    remove_tree();
}

Test(http_open, walk_refuses_odd_components) {
    make_tree();
    static const char *const bad[] = {
        "", "/etc/passwd", "in//file.txt", "./in/file.txt", "in/./file.txt",
        "in/../in/file.txt", "..", "../root/in/file.txt", "in/..",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = walk(root_fd, bad[i]);
        cr_assert_eq(fd, -EINVAL, "'%s': %d, want -EINVAL", bad[i], fd);
    }
    remove_tree();
}

/* The kernel's openat2 where it has one (else the fallback: still safe). */
Test(http_open, beneath) {
    make_tree();
    common_cases(http_open_beneath);
    expect(http_open_beneath, "escape", NULL);
    remove_tree();
}

Test(http_open, beneath_without_openat2) {
    make_tree();
    fake_openat2_errno = ENOSYS;
    common_cases(http_open_beneath);
    cr_assert_gt(fake_openat2_calls, 0, "openat2 was not tried");
    remove_tree();
}

Test(http_open, beneath_under_seccomp) {
    make_tree();
    fake_openat2_errno = EPERM;
    common_cases(http_open_beneath);
    cr_assert_gt(fake_openat2_calls, 0, "openat2 was not tried");
    remove_tree();
}
