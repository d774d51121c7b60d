/* SPDX-License-Identifier: MIT */
/*
 * cmd_timeline.c - `juggle timeline`: draw a Chrome trace file as a Gantt
 * chart. One row per worker (a pid/tid pair: a juggle worker, a thread, a
 * process), one bar per slice of time a task ran there, coloured by task
 * and labelled where it is wide enough. Bars that take turns on one row
 * are concurrency; bars at the same moment on several rows are
 * parallelism.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help_text[] =
    "Usage: juggle timeline TRACE.json [-o FILE.svg] [--title TEXT]\n"
    "\n"
    "Draw a trace written by 'juggle run --trace' (or any Chrome trace event\n"
    "file with B/E or X events) as a Gantt chart: one row per worker, one\n"
    "bar per stretch of time a task ran on it, coloured by task.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     the SVG to write (default: TRACE with .svg)\n"
    "  --title TEXT          the chart's title (default: the trace's name)\n"
    "  -h, --help            this help\n"
    "\n"
    "Prints one line: the SVG, its rows, slices and time span.\n";

/* Twelve colours that stay apart (after Paul Tol's and Tableau's). */
static const char *const palette[] = {
    "#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377",
    "#ee8866", "#44bb99", "#997700", "#9988dd", "#bb5566", "#77aadd",
};
#define NCOLOURS ((int)(sizeof(palette) / sizeof(palette[0])))

/* The colour of a task: by the number its name ends with ("task 7"), so a
 * task has the same colour in every chart; else by first appearance. */
static int colour_of(const char *name, char (*seen)[64], int *nseen) {
    size_t n = strlen(name);
    size_t d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') {
        d--;
    }
    if (d < n) {
        return (int)(strtol(name + d, NULL, 10) % NCOLOURS);
    }
    /* Other names ("main") take colours from the end of the palette. */
    for (int i = 0; i < *nseen; i++) {
        if (strcmp(seen[i], name) == 0) {
            return NCOLOURS - 1 - i % NCOLOURS;
        }
    }
    if (*nseen < 64) {
        snprintf(seen[*nseen], 64, "%s", name);
        return NCOLOURS - 1 - (*nseen)++ % NCOLOURS;
    }
    return 0;
}

/* Compare names with their trailing numbers by value. */
static int natural_cmp(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), da = la, db = lb;
    while (da > 0 && a[da - 1] >= '0' && a[da - 1] <= '9') {
        da--;
    }
    while (db > 0 && b[db - 1] >= '0' && b[db - 1] <= '9') {
        db--;
    }
    if (da == db && da < la && db < lb && strncmp(a, b, da) == 0) {
        long x = strtol(a + da, NULL, 10), y = strtol(b + db, NULL, 10);
        return x < y ? -1 : x > y;
    }
    return strcmp(a, b);
}

/* One swatch per task name (the first 16, in order of appearance), so
 * bars too narrow for a label can still be told apart. */
static void draw_legend(FILE *f, const tl_trace *t, double x0, double y,
                        double xmax) {
    char seen[64][64], shown[16][64];
    int colour[16], nseen = 0, nshown = 0;
    for (int i = 0; i < t->nslices && nshown < 16; i++) {
        const char *name = t->slices[i].name;
        int c = colour_of(name, seen, &nseen); /* As the bars' pass. */
        int dup = 0;
        for (int k = 0; k < nshown && !dup; k++) {
            dup = strcmp(shown[k], name) == 0;
        }
        if (!dup) {
            colour[nshown] = c;
            snprintf(shown[nshown++], 64, "%s", name);
        }
    }
    /* Names in natural order ("task 2" before "task 10"), insertion
     * sort: at most 16. */
    for (int i = 1; i < nshown; i++) {
        for (int k = i; k > 0 && natural_cmp(shown[k - 1], shown[k]) > 0;
             k--) {
            char tmp[64];
            int tc = colour[k];
            memcpy(tmp, shown[k], 64);
            memcpy(shown[k], shown[k - 1], 64);
            memcpy(shown[k - 1], tmp, 64);
            colour[k] = colour[k - 1];
            colour[k - 1] = tc;
        }
    }
    double x = x0;
    for (int i = 0; i < nshown; i++) {
        double w = 7.0 * (double)strlen(shown[i]) + 30;
        if (x + w > xmax) {
            break;
        }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                   "height=\"12\" fill=\"%s\"/>\n<text x=\"%.1f\" "
                   "y=\"%.1f\">", x, y - 10, palette[colour[i]], x + 16, y);
        svg_escape(f, shown[i]);
        fprintf(f, "</text>\n");
        x += w;
    }
}

/* Ticks drawn at most: svg_nice_step() gives 8 to 16 for any finite span;
 * the bound keeps the loop finite whatever the numbers (tl_load() rejects
 * non-finite times, so this is a second line of defence). */
#define AXIS_TICKS_MAX 32

/* Time axis: ticks in ms or s. */
static void draw_axis(FILE *f, double x0, double w, double y, double span_us) {
    double step = svg_nice_step(span_us, 8);
    int secs = span_us >= 2e6;
    for (int i = 0; i <= AXIS_TICKS_MAX && isfinite(span_us); i++) {
        double t = i * step;
        if (!(t <= span_us + step / 1e6)) {
            break;
        }
        double x = x0 + w * t / span_us;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#ddd\"/>\n", x, 44.0, x, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                   "%g %s</text>\n", x, y + 16, secs ? t / 1e6 : t / 1e3,
                secs ? "s" : "ms");
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"#444\"/>\n", x0, y, x0 + w, y);
}

/* Where the trace's time starts: its earliest slice (juggle's files start
 * at 0; other tools' may count from the epoch). */
static double tl_start(const tl_trace *t) {
    double t0 = t->nslices > 0 ? t->slices[0].begin_us : 0;
    for (int i = 1; i < t->nslices; i++) {
        t0 = t->slices[i].begin_us < t0 ? t->slices[i].begin_us : t0;
    }
    return t0;
}

int tl_draw(const tl_trace *t, const char *title, const char *path) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        cli_error(path, "%s", strerror(errno));
        return -1;
    }
    const double left = 130, top = 50, plot_w = 840, bar_h = 22, gap = 8;
    double t0 = tl_start(t);
    double span = t->end_us - t0 > 0 ? t->end_us - t0 : 1;
    double plot_h = t->nrows * (bar_h + gap);
    double height = top + plot_h + 88;
    svg_begin(f, (int)(left + plot_w + 30), (int)height, title);
    for (int r = 0; r < t->nrows; r++) {
        double y = top + r * (bar_h + gap);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\" fill=\"%s\"/>\n", left, y, plot_w,
                bar_h + gap, r % 2 ? "#ffffff" : "#f4f4f4");
        fprintf(f, "<text class=\"row\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"end\">", left - 8, y + gap / 2 + bar_h / 2 + 4);
        svg_escape(f, t->rows[r].name);
        fprintf(f, "</text>\n");
    }
    draw_axis(f, left, plot_w, top + plot_h, span);
    char seen[64][64];
    int nseen = 0;
    for (int i = 0; i < t->nslices; i++) {
        const tl_slice *s = &t->slices[i];
        double x = left + plot_w * (s->begin_us - t0) / span;
        double w = plot_w * (s->end_us - s->begin_us) / span;
        w = w < 1.5 ? 1.5 : w; /* Every slice stays visible. */
        double y = top + s->row * (bar_h + gap) + gap / 2;
        const char *fill = palette[colour_of(s->name, seen, &nseen)];
        fprintf(f, "<rect class=\"slice\" x=\"%.2f\" y=\"%.1f\" "
                   "width=\"%.2f\" height=\"%.1f\" fill=\"%s\" "
                   "stroke=\"white\" stroke-width=\"0.5\"><title>",
                x, y, w, bar_h, fill);
        svg_escape(f, s->name);
        fprintf(f, ": %.3f-%.3f ms</title></rect>\n", s->begin_us / 1e3,
                s->end_us / 1e3);
        /* About 7 px per character at 11 px. Where the name does not
         * fit, its number may ("task 12" -> "12"). */
        const char *label = s->name;
        if (w <= 7.0 * (double)strlen(label) + 6) {
            label = s->name + strlen(s->name);
            while (label > s->name && label[-1] >= '0' && label[-1] <= '9') {
                label--;
            }
        }
        if (*label != '\0' && w > 7.0 * (double)strlen(label) + 6) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                       "font-size=\"11\" fill=\"white\">", x + w / 2,
                    y + bar_h / 2 + 4);
            svg_escape(f, label);
            fprintf(f, "</text>\n");
        }
    }
    draw_legend(f, t, left, top + plot_h + 44, left + plot_w);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">One row per "
               "worker. Bars taking turns on one row: concurrency. Bars at "
               "the same moment on several rows: parallelism.</text>\n",
            left, top + plot_h + 74);
    return svg_end(f, path);
}

int cmd_timeline(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *title = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help_text, stdout);
            return EXIT_OK;
        } else if (c == 'o') {
            out = optarg;
        } else if (c == 't') {
            title = optarg;
        } else if (c == ':') {
            return cli_usage_error("timeline", "option '%s' needs a value",
                                   argv[optind - 1]);
        } else {
            return cli_usage_error("timeline", "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) {
        return cli_usage_error("timeline", optind == argc
                               ? "which trace file?"
                               : "one trace file at a time");
    }
    const char *in = argv[optind];
    char def[4096], def_title[4200];
    if (out == NULL) {
        size_t n = strlen(in);
        if (n > 5 && strcmp(in + n - 5, ".json") == 0) {
            n -= 5;
        }
        snprintf(def, sizeof(def), "%.*s.svg", (int)n, in);
        out = def;
    }
    if (title == NULL) {
        const char *base = strrchr(in, '/');
        snprintf(def_title, sizeof(def_title), "juggle timeline: %s",
                 base ? base + 1 : in);
        title = def_title;
    }
    tl_trace t;
    if (tl_load(in, &t) < 0) {
        return EXIT_FAIL;
    }
    int rc = tl_draw(&t, title, out);
    if (rc == 0) {
        double span = t.end_us - tl_start(&t);
        printf("%s: %d rows, %d slices, %.3f s\n", out, t.nrows, t.nslices,
               (span > 0 ? span : 0) / 1e6);
    }
    tl_free(&t);
    return rc < 0 ? EXIT_FAIL : EXIT_OK;
}
