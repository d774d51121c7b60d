/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for <criterion/criterion.h>, used only by the ThreadSanitizer
 * build: Criterion's runner cannot start under TSan (its shared arena
 * collides with TSan's memory layout; upstream Snaipe/Criterion#274, open).
 * It keeps the suite's meaning: the same Test() bodies, each run in its own
 * forked process with its timeout, an expected signal where the test names
 * one, and the assertions the suite uses. Nothing else of Criterion's is
 * imitated; every other build uses the real Criterion.
 */
#ifndef JG_TEST_SHIM_CRITERION_H
#define JG_TEST_SHIM_CRITERION_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct shim_opts {
    int timeout; /* Seconds; 0 = 60. */
    int signal;  /* The signal the test must die of; 0 = none. */
};

struct shim_test {
    const char *suite, *name;
    void (*fn)(void);
    struct shim_opts opts;
    struct shim_test *next;
};

static struct shim_test *shim_tests;

#define Test(suite, name, ...)                                                 \
    static void suite##_##name##_body(void);                                  \
    __attribute__((constructor)) static void suite##_##name##_reg(void) {      \
        static struct shim_test t = {#suite, #name, suite##_##name##_body,     \
                                     {__VA_ARGS__}, NULL};                     \
        t.next = shim_tests;                                                   \
        shim_tests = &t;                                                       \
    }                                                                          \
    static void suite##_##name##_body(void)

__attribute__((format(printf, 4, 5))) static void
shim_fail(const char *file, int line, const char *expr, const char *fmt, ...) {
    char msg[1024] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%d: Assertion failed: %s%s%s\n", file, line, expr,
            msg[0] ? ": " : "", msg);
    fflush(stderr);
    _exit(1); /* Not abort(): a test may expect SIGABRT for other reasons. */
}

#define SHIM_CHECK(cond, expr, ...)                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            shim_fail(__FILE__, __LINE__, expr, "" __VA_ARGS__);               \
        }                                                                      \
    } while (0)

#define cr_assert(cond, ...) SHIM_CHECK(cond, #cond, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) SHIM_CHECK((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) SHIM_CHECK((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...)                                             \
    SHIM_CHECK((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                            \
    SHIM_CHECK(strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_not(cond, ...) SHIM_CHECK(!(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_neq(a, b, ...) SHIM_CHECK((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) SHIM_CHECK((a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) SHIM_CHECK((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) SHIM_CHECK((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) SHIM_CHECK((a) <= (b), #a " <= " #b, __VA_ARGS__)

static int shim_run(struct shim_test *t) {
    pid_t pid = fork();
    if (pid == 0) {
        alarm((unsigned)(t->opts.timeout > 0 ? t->opts.timeout : 60));
        t->fn();
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (t->opts.signal != 0) {
        return WIFSIGNALED(status) && WTERMSIG(status) == t->opts.signal;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s::%s: killed by signal %d%s\n", t->suite, t->name,
                WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        }
    }
    int passed = 0, failed = 0;
    for (struct shim_test *t = shim_tests; t != NULL; t = t->next) {
        if (filter != NULL && strstr(filter, t->name) == NULL) {
            continue;
        }
        int ok = shim_run(t);
        printf("[%s] %s::%s\n", ok ? "PASS" : "FAIL", t->suite, t->name);
        fflush(stdout);
        ok ? passed++ : failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif /* JG_TEST_SHIM_CRITERION_H */
