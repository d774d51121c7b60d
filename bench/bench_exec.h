/* SPDX-License-Identifier: MIT */
/* bench_exec.h - juggle-bench's subcommands for src/exec (bench_exec.c). */
#ifndef JG_BENCH_EXEC_H
#define JG_BENCH_EXEC_H

int jg__bench_threads(int argc, char **argv);
int jg__bench_processes(int argc, char **argv);
int jg__bench_map(int argc, char **argv);
int jg__bench_fib4(int argc, char **argv);

#endif /* JG_BENCH_EXEC_H */
