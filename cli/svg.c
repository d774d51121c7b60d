/* SPDX-License-Identifier: MIT */
/*
 * svg.c - plain SVG output for the lab's pictures: escaping, "nice" axis
 * steps, and the line chart of `juggle sweep` (panels side by side that
 * share the x axis: time against the count, speed-up against the count
 * with the ideal line). No library: a chart is a few dozen elements.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli.h"

size_t cli_utf8_decode(const char *s, size_t n, unsigned *cp) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0], v, min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD; /* A continuation byte, 0xC0, 0xC1 or 0xF5-0xFF. */
        return 1;
    }
    if (n < len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (u[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF
     * are not UTF-8 (RFC 3629). */
    if (v < min || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

size_t cli_utf8_encode(unsigned cp, char out[4]) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void svg_escape(FILE *f, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        unsigned cp;
        size_t k = cli_utf8_decode(s, n, &cp);
        char b[4];
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            /* XML 1.0 allows neither control characters (but tab and
             * line ends, replaced too so labels stay on one line) nor
             * U+FFFE and U+FFFF; bytes that are not UTF-8 came back from
             * the decoder as U+FFFD. */
            if (cp < 0x20) {
                fputc('?', f);
            } else {
                cp = cp == 0xFFFE || cp == 0xFFFF ? 0xFFFD : cp;
                fwrite(b, 1, cli_utf8_encode(cp, b), f);
            }
            break;
        }
        s += k;
        n -= k;
    }
}

double svg_nice_step(double range, int ticks) {
    if (!(range > 0)) {
        return 1;
    }
    double raw = range / ticks;
    double mag = pow(10, floor(log10(raw)));
    double m = raw / mag;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * mag;
}

void svg_begin(FILE *f, int width, int height, const char *title) {
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"12\">\n",
            width, height, width, height);
    fprintf(f, "<title>");
    svg_escape(f, title);
    fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" "
               "font-size=\"16\" font-weight=\"bold\">", width / 2);
    svg_escape(f, title);
    fprintf(f, "</text>\n");
}

int svg_end(FILE *f, const char *path) {
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_error(path, "write failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Geometry of one panel's plotting area. */
struct area {
    double x0, y0, w, h;          /* Top-left corner and size. */
    double xmin, xmax, ymax;
    int logx;
};

static double px(const struct area *a, double x) {
    if (a->xmax <= a->xmin) {
        return a->x0 + a->w / 2;
    }
    if (a->logx) {
        return a->x0 + a->w * (log2(x) - log2(a->xmin)) /
                           (log2(a->xmax) - log2(a->xmin));
    }
    return a->x0 + a->w * (x - a->xmin) / (a->xmax - a->xmin);
}

static double py(const struct area *a, double y) {
    return a->y0 + a->h - a->h * y / a->ymax;
}

static void draw_axes(FILE *f, const struct area *a, const double *x, int n,
                      const char *xlabel, const svg_panel *p) {
    double step = svg_nice_step(a->ymax, 5);
    for (double y = 0; y <= a->ymax + step / 1e6; y += step) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#e4e4e4\"/>\n",
                a->x0, py(a, y), a->x0 + a->w, py(a, y));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g"
                   "</text>\n", a->x0 - 6, py(a, y) + 4, y);
    }
    for (int i = 0; i < n; i++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#e4e4e4\"/>\n",
                px(a, x[i]), a->y0, px(a, x[i]), a->y0 + a->h);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g"
                   "</text>\n", px(a, x[i]), a->y0 + a->h + 16, x[i]);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
               "fill=\"none\" stroke=\"#444\"/>\n", a->x0, a->y0, a->w, a->h);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            a->x0 + a->w / 2, a->y0 + a->h + 34);
    svg_escape(f, xlabel);
    fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
               "font-weight=\"bold\">", a->x0 + a->w / 2, a->y0 - 10);
    svg_escape(f, p->title);
    fprintf(f, "</text>\n<text transform=\"translate(%.1f,%.1f) "
               "rotate(-90)\" text-anchor=\"middle\">", a->x0 - 44,
            a->y0 + a->h / 2);
    svg_escape(f, p->ylabel);
    fprintf(f, "</text>\n");
}

static void draw_series(FILE *f, const struct area *a, const double *x,
                        int n, const svg_series *s, int index) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
               "points=\"", s->colour,
            s->dashed ? " stroke-dasharray=\"6,4\"" : "");
    for (int i = 0; i < n; i++) {
        if (s->y[i] >= 0) {
            fprintf(f, "%.1f,%.1f ", px(a, x[i]), py(a, s->y[i]));
        }
    }
    fprintf(f, "\"/>\n");
    for (int i = 0; i < n && !s->dashed; i++) {
        if (s->y[i] >= 0) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                       "fill=\"%s\"/>\n", px(a, x[i]), py(a, s->y[i]),
                    s->colour);
        }
    }
    /* Legend, top left inside the panel. */
    double ly = a->y0 + 16 + 16 * index;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"%s\" stroke-width=\"2\"%s/>\n", a->x0 + 8, ly - 4,
            a->x0 + 30, ly - 4, s->colour,
            s->dashed ? " stroke-dasharray=\"6,4\"" : "");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", a->x0 + 36, ly);
    svg_escape(f, s->label);
    fprintf(f, "</text>\n");
}

int svg_line_chart(const char *path, const char *title, const char *xlabel,
                   const double *x, int n, const svg_panel *panels,
                   int npanels) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        cli_error(path, "%s", strerror(errno));
        return -1;
    }
    const int pw = 420, ph = 300, left = 70, top = 60, gap = 90;
    int width = left + npanels * pw + (npanels - 1) * gap + 30;
    svg_begin(f, width, top + ph + 60, title);
    for (int p = 0; p < npanels; p++) {
        struct area a = {.x0 = left + p * (pw + gap), .y0 = top, .w = pw,
                         .h = ph, .xmin = x[0], .xmax = x[n - 1]};
        a.logx = x[0] > 0 && x[n - 1] / x[0] >= 8;
        double ymax = 0;
        for (int s = 0; s < panels[p].nseries; s++) {
            for (int i = 0; i < n; i++) {
                double v = panels[p].series[s].y[i];
                ymax = v > ymax ? v : ymax;
            }
        }
        double step = svg_nice_step(ymax * 1.1, 5);
        a.ymax = ceil(ymax * 1.1 / step) * step;
        a.ymax = a.ymax > 0 ? a.ymax : 1;
        draw_axes(f, &a, x, n, xlabel, &panels[p]);
        for (int s = 0; s < panels[p].nseries; s++) {
            draw_series(f, &a, x, n, &panels[p].series[s], s);
        }
    }
    return svg_end(f, path);
}
