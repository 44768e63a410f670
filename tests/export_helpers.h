/* Shared by the export tests (test_export, test_export_step): a scratch directory
 * for the generated files (scratch_dir.h: made by setup, removed by teardown) and
 * whether a C compiler is on PATH. */
#ifndef CR_TEST_EXPORT_HELPERS_H
#define CR_TEST_EXPORT_HELPERS_H

#include "scratch_dir.h"

static int have_cc(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

#endif
