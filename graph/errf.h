/* The one message helper of chainrule's off-tape functions (nn/, optim/, data/).
 *
 * The convention (also at the top of include/chainrule.h): a function that can
 * fail off the tape returns a cr_status, or a pointer that is NULL on failure, and
 * takes `char *err, size_t errsize` as its last two parameters; err may be NULL;
 * at most errsize bytes are written, always NUL-terminated; the message starts with
 * the module or the file ("optim: ...", "batcher: ...", "<path>: ..."); on failure
 * the caller's objects are untouched. Not installed, not public. */
#ifndef CR_ERRF_H
#define CR_ERRF_H

#include "chainrule.h"

/* printf the message into err[0..errsize) when err is non-NULL and errsize > 0
 * (truncated to fit, always NUL-terminated); returns s, so that a failure path is
 * `return cr__errf(CR_ERR_ARG, err, errsize, "batcher: batch_size is 0");`. */
cr_status cr__errf(cr_status s, char *err, size_t errsize, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
