/* Runs a recurrent step written by cr_export_c_multi over a sequence, feeding its
 * state back:
 *     driver IN OUT      IN: T floats, the index read at each step; OUT gets T x XOUT
 * x is [index, state (XIN - 1 floats)]; the state starts at zero and after each step
 * is the XIN - 1 floats of y from offset XSTATE_Y (the new state). Even steps go
 * through <name>_predict, odd ones through <name>_predict_scratch. Built by
 * tests/test_export_step.c with the macros of tests/export_driver.c and
 * -DXSTATE_Y=<offset>. Exit status 0; 3 when a step returns -2 (a bad index; the
 * steps before it are written); 1 on any other failure. */
#include "export_driver.h"

#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3 || XOUT - XSTATE_Y != XIN - 1) {
        fprintf(stderr, "usage: %s IN OUT (and a state of XIN - 1 floats at XSTATE_Y)\n",
                argv[0]);
        return 1;
    }
    FILE *in, *out;
    if (!open_files(argv, &in, &out)) return 1;
    long n = 0;
    int rc = 0;
    memset(x, 0, sizeof x);
    while (fread(x, sizeof x[0], 1, in) == 1) {
        int r = predict(n);
        if (r != 0) {
            rc = r == -2 ? 3 : 1;
            break;
        }
        if (fwrite(y, sizeof y[0], XOUT, out) != XOUT) {
            rc = 1;
            break;
        }
        memcpy(x + 1, y + XSTATE_Y, (XIN - 1) * sizeof x[0]);
        n++;
    }
    fclose(in);
    if (fclose(out) != 0) rc = 1;
    return rc;
}
