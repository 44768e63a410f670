/* What the drivers of exported models share (export_driver.c, export_step_driver.c,
 * built with the macros listed in export_driver.c): the buffers, opening IN and
 * OUT, and one call that alternates the two entry points. */
#ifndef CR_TEST_EXPORT_DRIVER_H
#define CR_TEST_EXPORT_DRIVER_H

#include XHEADER

#include <stdio.h>

static float x[XIN], y[XOUT], scratch[XSCRATCH > 0 ? XSCRATCH : 1];

/* Open argv[1] for reading into *in and argv[2] for writing into *out; 0 with a
 * message on stderr when either cannot be opened (the caller exits 1). */
static int open_files(char **argv, FILE **in, FILE **out)
{
    *in = fopen(argv[1], "rb");
    *out = fopen(argv[2], "wb");
    if (*in && *out) return 1;
    fprintf(stderr, "%s: cannot open the files\n", argv[0]);
    return 0;
}

/* Sample (or step) n from x into y: even n through <name>_predict (its static
 * scratch), odd n through <name>_predict_scratch with this program's scratch, so
 * both entry points are exercised. Returns what the call returns. */
static int predict(long n)
{
    return n % 2 ? XPREDICT_S(x, y, scratch) : XPREDICT(x, y);
}

#endif
