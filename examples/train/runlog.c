/* A run's CSV log (train and train_text): one row per epoch after a header; every
 * write checked (a full disk must not pass silently); on --resume the rows of the
 * epochs the checkpoint holds are kept and the rest dropped, atomically. */
#include "train.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int run_log_check(FILE *f, const char *path, char *err, size_t errsize)
{
    if (!f || (fflush(f) == 0 && !ferror(f))) return 0;
    snprintf(err, errsize, "%s: cannot write the log: %s", path, strerror(errno));
    return EXIT_TRAIN_FAILED;
}

/* A resumed run's log: the header and the complete rows of epochs 1..kept, so that
 * rows written after the checkpoint (and a row cut by the kill) are not there
 * twice; rewritten through a temporary file and a rename, so that a kill now loses
 * nothing. Non-regular files (a pipe, /dev/...) are only appended to. */
static int log_trim(const char *path, const char *header, uint64_t kept, char *err,
                    size_t errsize)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    if (cr_memory_check((uint64_t)sb.st_size, "the log to resume", err, errsize) != CR_OK)
        return EXIT_TRAIN_FAILED;
    FILE *in = fopen(path, "rb");
    size_t cap = (size_t)sb.st_size + 1, n = 0, keep = 0;
    char *buf = malloc(cap), *tmp = malloc(strlen(path) + 32);
    int rc = 0;
    if (!in || !buf || !tmp) {
        snprintf(err, errsize, "%s: cannot read the log to resume it", path);
        rc = EXIT_TRAIN_FAILED;
        goto out;
    }
    n = fread(buf, 1, cap - 1, in);
    buf[n] = '\0';
    /* the header (written anew if a kill lost it), then the complete lines
     * "<epoch>,..." of epochs 1, 2, ... up to the checkpoint's */
    size_t hl = strlen(header), start = 0;
    if (n >= hl && memcmp(buf, header, hl) == 0) start = hl;
    keep = start;
    for (uint64_t e = 1; e <= kept; e++) {
        char *nl = memchr(buf + keep, '\n', n - keep);
        if (!nl || strtoull(buf + keep, NULL, 10) != e) break;
        keep = (size_t)(nl - buf) + 1;
    }
    snprintf(tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "wb");
    int bad = !out;
    if (out) {
        fputs(header, out);
        fwrite(buf + start, 1, keep - start, out);
        bad = fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
        bad |= fclose(out) != 0;
    }
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errsize, "%s: cannot rewrite the log to resume it", path);
        rc = EXIT_TRAIN_FAILED;
        remove(tmp);
    }
out:
    if (in) fclose(in);
    free(buf);
    free(tmp);
    return rc;
}

int run_log_open(FILE **f, const char *path, const char *header, int resume, uint64_t kept,
                 char *err, size_t errsize)
{
    *f = NULL;
    if (!path) return 0;
    int append = resume && access(path, F_OK) == 0;
    if (append && log_trim(path, header, kept, err, errsize)) return EXIT_TRAIN_FAILED;
    *f = fopen(path, append ? "a" : "w");
    if (!*f) {
        snprintf(err, errsize, "%s: cannot write the log", path);
        return EXIT_USAGE;
    }
    if (!append) fputs(header, *f);
    return run_log_check(*f, path, err, errsize);   /* the header is on disk first */
}

int run_log_close(FILE **f, const char *path, char *err, size_t errsize)
{
    if (!*f) return 0;
    int rc = run_log_check(*f, path, err, errsize);
    if (fclose(*f) != 0 && !rc) {
        snprintf(err, errsize, "%s: cannot write the log", path);
        rc = EXIT_TRAIN_FAILED;
    }
    *f = NULL;
    return rc;
}
