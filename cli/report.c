/* SPDX-License-Identifier: MIT */
/*
 * report.c - results on stdout: an aligned table for people, or JSON (an
 * array with one object per result) or CSV (a header, one row per result)
 * for scripts. The keys are the same in JSON and CSV and documented in
 * docs/cli.md.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

const char *fmt_bytes(int64_t bytes, char *buf, size_t size) {
    if (bytes <= 0) {
        snprintf(buf, size, "-");
    } else if (bytes < 1024 * 1024) {
        snprintf(buf, size, "%.0f KiB", (double)bytes / 1024);
    } else {
        snprintf(buf, size, "%.1f MiB", (double)bytes / (1024.0 * 1024));
    }
    return buf;
}

const char *fmt_seconds(double s, char *buf, size_t size) {
    if (s < 0.010) {
        snprintf(buf, size, "%.2f ms", s * 1e3);
    } else {
        snprintf(buf, size, "%.3f s", s);
    }
    return buf;
}

static const char *check_text(const lab_result *r, char *buf, size_t size) {
    if (r->work.workload == WL_IO) {
        snprintf(buf, size, "%s %d/%d done", r->ok ? "ok" : "FAIL",
                 r->completed, r->work.tasks);
    } else {
        snprintf(buf, size, "%s sum %" PRIu64, r->ok ? "ok" : "FAIL",
                 r->sum);
    }
    return buf;
}

static double cpu_s(const lab_result *r) {
    return r->user_s + r->sys_s;
}

static int rounds(const lab_work *w) {
    return w->rounds > 0 ? w->rounds : 1;
}

static double util(const lab_result *r) {
    return r->wall_s > 0 ? cpu_s(r) / r->wall_s : 0;
}

static void print_table(FILE *f, const lab_result *r, int n, int speedup) {
    fprintf(f, "%-15s %-8s %5s %7s %10s %10s %6s %10s %10s", "model",
            "workload", "tasks", "workers", "wall", "cpu", "cpu%",
            "peak RSS", "child RSS");
    if (speedup) {
        fprintf(f, " %8s", "speed-up");
    }
    fprintf(f, "  %s\n", "check");
    for (int i = 0; i < n; i++) {
        char label[32], wall[24], cpu[24], rss[24], crss[24], check[64];
        fprintf(f, "%-15s %-8s %5d %7d %10s %10s %5.0f%% %10s %10s",
                lab_label(&r[i].work, label, sizeof(label)),
                lab_workload_name(r[i].work.workload), r[i].work.tasks,
                r[i].workers, fmt_seconds(r[i].wall_s, wall, sizeof(wall)),
                fmt_seconds(cpu_s(&r[i]), cpu, sizeof(cpu)),
                100 * util(&r[i]),
                fmt_bytes(r[i].rss_bytes, rss, sizeof(rss)),
                fmt_bytes(r[i].child_rss_bytes, crss, sizeof(crss)));
        if (speedup) {
            fprintf(f, " %7.2fx", r[i].speedup);
        }
        fprintf(f, "  %s\n", check_text(&r[i], check, sizeof(check)));
    }
    for (int i = 0; i < n; i++) {
        if (r[i].work.trace_path != NULL && r[i].trace_dropped > 0) {
            fprintf(f, "trace %s: incomplete, %" PRIu64 " slices kept, %"
                       PRIu64 " dropped (the trace was full)\n",
                    r[i].work.trace_path, r[i].trace_slices,
                    r[i].trace_dropped);
        }
    }
}

static void print_json(FILE *f, const lab_result *r, int n, int speedup) {
    fprintf(f, "[\n");
    for (int i = 0; i < n; i++) {
        const lab_work *w = &r[i].work;
        fprintf(f,
                "  {\"model\": \"%s\", \"gil\": %s, \"workload\": \"%s\", "
                "\"tasks\": %d, \"workers\": %d, \"sleep_s\": %.6g, "
                "\"fib\": %d, \"rounds\": %d, \"wall_s\": %.6f, "
                "\"cpu_s\": %.6f, "
                "\"user_s\": %.6f, \"sys_s\": %.6f, \"cpu_util\": %.4f, "
                "\"peak_rss_bytes\": %" PRId64 ", "
                "\"peak_child_rss_bytes\": %" PRId64 ", "
                "\"completed\": %d, \"sum\": %" PRIu64 ", "
                "\"expected_sum\": %" PRIu64 ", \"ok\": %s",
                lab_model_name(w->model), w->gil ? "true" : "false",
                lab_workload_name(w->workload), w->tasks, r[i].workers,
                (double)w->sleep_ns / 1e9, w->fib_n, rounds(w), r[i].wall_s,
                cpu_s(&r[i]), r[i].user_s, r[i].sys_s, util(&r[i]),
                r[i].rss_bytes, r[i].child_rss_bytes, r[i].completed,
                r[i].sum, r[i].expect_sum, r[i].ok ? "true" : "false");
        if (speedup) {
            fprintf(f, ", \"speedup\": %.4f", r[i].speedup);
        }
        if (w->trace_path != NULL) {
            fprintf(f, ", \"trace_slices\": %" PRIu64 ", "
                       "\"trace_dropped\": %" PRIu64, r[i].trace_slices,
                    r[i].trace_dropped);
        }
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "]\n");
}

static void print_csv(FILE *f, const lab_result *r, int n, int speedup) {
    fprintf(f, "model,gil,workload,tasks,workers,sleep_s,fib,rounds,wall_s,"
               "cpu_s,"
               "user_s,sys_s,cpu_util,peak_rss_bytes,peak_child_rss_bytes,"
               "completed,sum,expected_sum,ok%s\n",
            speedup ? ",speedup" : "");
    for (int i = 0; i < n; i++) {
        const lab_work *w = &r[i].work;
        fprintf(f,
                "%s,%d,%s,%d,%d,%.6g,%d,%d,%.6f,%.6f,%.6f,%.6f,%.4f,%" PRId64
                ",%" PRId64 ",%d,%" PRIu64 ",%" PRIu64 ",%d",
                lab_model_name(w->model), w->gil ? 1 : 0,
                lab_workload_name(w->workload), w->tasks, r[i].workers,
                (double)w->sleep_ns / 1e9, w->fib_n, rounds(w), r[i].wall_s,
                cpu_s(&r[i]), r[i].user_s, r[i].sys_s, util(&r[i]),
                r[i].rss_bytes, r[i].child_rss_bytes, r[i].completed,
                r[i].sum, r[i].expect_sum, r[i].ok ? 1 : 0);
        if (speedup) {
            fprintf(f, ",%.4f", r[i].speedup);
        }
        fputc('\n', f);
    }
}

void report_print(FILE *f, out_format fmt, const lab_result *r, int n,
                  int with_speedup) {
    switch (fmt) {
    case OUT_JSON:
        print_json(f, r, n, with_speedup);
        break;
    case OUT_CSV:
        print_csv(f, r, n, with_speedup);
        break;
    default:
        print_table(f, r, n, with_speedup);
        break;
    }
}
