/* Runs a model written by cr_export_c over a file of inputs:
 *     driver IN OUT      IN: n x XIN floats (raw, native order); OUT gets n x XOUT
 * Even samples go through <name>_predict (static scratch), odd ones through
 * <name>_predict_scratch with this program's own scratch, so both entry points are
 * exercised. Built by tests/test_export.c and .ci/run with
 *     -I<dir> -DXHEADER='"name.h"' -DXPREDICT=name_predict
 *     -DXPREDICT_S=name_predict_scratch -DXIN=NAME_IN_SIZE -DXOUT=NAME_OUT_SIZE
 *     -DXSCRATCH=NAME_SCRATCH_SIZE
 * Exit status 0, 1 on a read/write error or a predict call that fails. */
#include "export_driver.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 1;
    }
    FILE *in, *out;
    if (!open_files(argv, &in, &out)) return 1;
    long n = 0;
    int rc = 0;
    while (fread(x, sizeof x[0], XIN, in) == XIN) {
        if (predict(n) != 0 || fwrite(y, sizeof y[0], XOUT, out) != XOUT) {
            rc = 1;
            break;
        }
        n++;
    }
    if (XPREDICT(NULL, y) != -1 || XPREDICT_S(x, y, NULL) != -1) rc = 1;
    fclose(in);
    if (fclose(out) != 0) rc = 1;
    return rc;
}
