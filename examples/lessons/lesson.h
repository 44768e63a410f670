/* Small helpers shared by the lessons (static: each lesson stays one program).
 *
 * Every lesson takes the same options:
 *   -o DIR   where the .dot picture goes (default build/graphs, created if missing)
 *   -q       quiet: only the "result" lines (what the tests read)
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
} lesson;

static inline int lesson_args(lesson *L, int argc, char **argv, const char *usage)
{
    L->dir = "build/graphs";
    L->quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) L->dir = argv[++i];
        else if (!strcmp(argv[i], "-q")) L->quiet = 1;
        else {
            fprintf(stderr, "usage: %s [-o DIR] [-q]\n%s\n"
                    "  -o DIR  write the .dot picture into DIR (default build/graphs)\n"
                    "  -q      print only the result lines\n", argv[0], usage);
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

/* Write the tape's picture to DIR/name.dot and say where it is. */
static inline void lesson_dot(const lesson *L, const cr_tape *t, const char *name)
{
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
