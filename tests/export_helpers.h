/* Shared by the export tests (test_export, test_export_step): a scratch directory
 * for the generated files (scratch_dir.h: made by setup, removed by teardown),
 * whether a C compiler is on PATH, and building and running an exported model with a
 * driver. */
#ifndef CR_TEST_EXPORT_HELPERS_H
#define CR_TEST_EXPORT_HELPERS_H

#include "scratch_dir.h"

#include <sys/wait.h>

static int have_cc(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

/* Compile g_dir/name.c (cr_export_c's output for name) with the driver
 * tests/<driver>.c and its macros (tests/export_driver.c) into g_dir/<name>-<tag>,
 * with cc and the extra flags; 0 on success (the command is shown on failure). */
static int build_driver(const char *cc, const char *flags, const char *name, const char *tag,
                        const char *driver, char *bin, size_t binsize)
{
    char up[64], cmd[2048];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof up; i++)
        up[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 32) : name[i];
    up[i] = 0;
    snprintf(bin, binsize, "%s/%s-%s", g_dir, name, tag);
    snprintf(cmd, sizeof cmd,
             "%s -std=c99 -O2 -Wall -Wextra -pedantic -Werror %s -I%s -DXHEADER='\"%s.h\"' "
             "-DXPREDICT=%s_predict -DXPREDICT_S=%s_predict_scratch -DXIN=%s_IN_SIZE "
             "-DXOUT=%s_OUT_SIZE -DXSCRATCH=%s_SCRATCH_SIZE -o %s %s/%s.c "
             "tests/%s.c -lm 2>&1",
             cc, flags, g_dir, name, name, name, up, up, up, bin, g_dir, name, driver);
    int st = system(cmd);
    if (st != 0) print_message("failed: %s\n", cmd);
    return st;
}

/* Run the driver bin on n records of in floats; reads up to n records of out floats
 * into y. Returns the exit status (-1 if it did not exit or the files failed) and
 * the records read in *got. */
static int run_driver(const char *bin, const float *x, size_t n, size_t in, float *y,
                      size_t out, size_t *got)
{
    char fin[128], fout[128], cmd[512];
    snprintf(fin, sizeof fin, "%s/in.bin", g_dir);
    snprintf(fout, sizeof fout, "%s/out.bin", g_dir);
    FILE *f = fopen(fin, "wb");
    if (!f || fwrite(x, sizeof *x, n * in, f) != n * in) return -1;
    if (fclose(f) != 0) return -1;
    snprintf(cmd, sizeof cmd, "%s %s %s", bin, fin, fout);
    int st = system(cmd);
    f = fopen(fout, "rb");
    if (!f) return -1;
    *got = fread(y, sizeof *y * out, n, f);
    fclose(f);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
