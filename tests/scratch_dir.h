/* A scratch directory for one test program's files, as cmocka group fixtures:
 * setup makes it (g_dir, under /tmp), teardown removes it with what is in it.
 * Shared by test_html, test_lessons and the export tests (export_helpers.h). */
#ifndef CR_TEST_SCRATCH_DIR_H
#define CR_TEST_SCRATCH_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/cr_test_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
