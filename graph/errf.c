/* Off-tape error messages: see errf.h for the convention. */
#include "errf.h"

#include <stdarg.h>
#include <stdio.h>

cr_status cr__errf(cr_status s, char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return s;
}
