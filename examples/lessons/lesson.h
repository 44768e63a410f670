/* Small helpers shared by the lessons (static: each lesson stays one program).
 *
 * Every lesson takes the same options:
 *   -o DIR       where the .dot picture goes (default build/graphs, created if missing)
 *   -q           quiet: only the "result" lines (what the tests read)
 *   --html FILE  the interactive page of the lesson's (first) graph (cr_tape_html)
 *   --pages      every graph's page as DIR/<name>.html beside its .dot (make graphs)
 *   --lang L     words of the pages: en (default) or zh
 * and prints its key numbers as lines "result <name> = <value>", one per number,
 * so that `grep '^result'` gives a stable summary to compare with the notes. */
#ifndef CR_LESSON_H
#define CR_LESSON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chainrule.h"

typedef struct lesson {
    const char *dir;    /* output directory for pictures */
    int quiet;          /* 1: only result lines */
    FILE *out;          /* stdout, or /dev/null-like NULL when quiet */
    const char *html;   /* --html FILE, or NULL */
    int pages;          /* --pages */
    const char *lang;   /* --lang: "en" or "zh" */
} lesson;

static int lesson_html_written;   /* --html FILE holds the first graph only */

static inline int lesson_args(lesson *L, int argc, char **argv, const char *usage)
{
    L->dir = "build/graphs";
    L->quiet = 0;
    L->html = NULL;
    L->pages = 0;
    L->lang = "en";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) L->dir = argv[++i];
        else if (!strcmp(argv[i], "-q")) L->quiet = 1;
        else if (!strcmp(argv[i], "--html") && i + 1 < argc) L->html = argv[++i];
        else if (!strcmp(argv[i], "--pages")) L->pages = 1;
        else if (!strcmp(argv[i], "--lang") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "en") || !strcmp(argv[i + 1], "zh")))
            L->lang = argv[++i];
        else {
            fprintf(stderr, "usage: %s [-o DIR] [-q] [--html FILE] [--pages] [--lang en|zh]\n%s\n"
                    "  -o DIR       write the .dot picture into DIR (default build/graphs)\n"
                    "  -q           print only the result lines\n"
                    "  --html FILE  write the interactive page of the graph (open it in a browser)\n"
                    "  --pages      write each graph's page as DIR/<name>.html beside its .dot\n"
                    "  --lang L     words of the pages: en (default) or zh\n", argv[0], usage);
            return 0;
        }
    }
    L->out = L->quiet ? NULL : stdout;
    return 1;
}

/* printf to the lesson's output unless quiet. */
#define say(L, ...) do { if ((L)->out) fprintf((L)->out, __VA_ARGS__); } while (0)

/* A key number, in the stable form the tests read. */
static inline void result(const char *name, double v)
{
    printf("result %s = %.15g\n", name, v);
}

/* mkdir -p for a relative or absolute path (directories only). */
static inline int make_dirs(const char *path)
{
    char buf[512];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    return 0;
}

/* Write the tape's interactive page (the last backward pass) to path. */
static inline void lesson_page(const lesson *L, cr_tape *t, const char *path)
{
    cr_html_options o = { 0 };
    o.lang = L->lang;
    FILE *f = fopen(path, "w");
    cr_status s = f ? cr_tape_html(t, NULL, f, &o) : CR_ERR_IO;
    if ((f && fclose(f) != 0) || s != CR_OK) {
        fprintf(stderr, "cannot write %s: %s\n", path, cr_strerror(s == CR_OK ? CR_ERR_IO : s));
        return;
    }
    if (L->out) fprintf(L->out, "page %s (open it in a browser)\n", path);
}

/* The tape's page: to FILE for --html (the first graph only), to DIR/name.html
 * for --pages. */
static inline void lesson_html(const lesson *L, cr_tape *t, const char *name)
{
    char page[600];
    if (L->html && !lesson_html_written) {
        lesson_html_written = 1;
        lesson_page(L, t, L->html);
    }
    if (L->pages && make_dirs(L->dir) == 0) {
        snprintf(page, sizeof page, "%s/%s.html", L->dir, name);
        lesson_page(L, t, page);
    }
}

/* Write the tape's picture to DIR/name.dot and say where it is; its page too with
 * --html or --pages (lesson_html). */
static inline void lesson_dot(const lesson *L, cr_tape *t, const char *name)
{
    lesson_html(L, t, name);
    char path[600];
    snprintf(path, sizeof path, "%s/%s.dot", L->dir, name);
    FILE *f = make_dirs(L->dir) == 0 ? fopen(path, "w") : NULL;
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        return;
    }
    cr_status s = cr_tape_dot(t, f);
    if (fclose(f) != 0 || s != CR_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        return;
    }
    printf("picture %s (render: dot -Tsvg %s -o %s/%s.svg)\n", path, path, L->dir, name);
}

/* Stop with the tape's error, if any (lessons are short: no recovery). */
static inline int tape_ok(const cr_tape *t)
{
    if (!cr_tape_error(t)) return 1;
    fprintf(stderr, "error: %s\n", cr_tape_error(t));
    return 0;
}

#endif
