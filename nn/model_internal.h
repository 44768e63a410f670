/* Shared between nn/spec.c (the text form of layers, shape inference) and nn/model.c
 * (the layer stack). Not part of the public API. */
#ifndef CR_NN_MODEL_INTERNAL_H
#define CR_NN_MODEL_INTERNAL_H

#include "chainrule.h"

#define CR__LAYER_TEXT 64   /* a layer's text as quoted in messages (truncated) */

/* One parsed layer: its description and the text it came from (for messages). */
typedef struct cr__layer_text {
    cr_layer l;
    char text[CR__LAYER_TEXT];
} cr__layer_text;

/* Parse spec into at most max layers (*n set). Messages name "layer <first + i>".
 * CR_ERR_ARG with a message on any syntax or range error; nothing else happens. */
cr_status cr__spec_parse(const char *spec, int first, cr__layer_text *out, int max, int *n,
                         char *err, size_t errsize);
/* Check l's fields (ranges, kind) and infer its output shape per sample from the input
 * (ndim 1: features, 3: C x H x W); *nparams gets its trainable parameter count.
 * pos and text name the layer in messages. CR_ERR_ARG (bad field) or CR_ERR_SHAPE. */
cr_status cr__layer_infer(const cr_layer *l, int pos, const char *text, int in_ndim,
                          const int *in, int *out_ndim, int *out, size_t *nparams, char *err,
                          size_t errsize);
/* The canonical text of l ("conv 16 3x3 pad 1"), which parses back to the same
 * layer; always NUL-terminated. */
void cr__layer_format(const cr_layer *l, char *buf, size_t size);
/* "8x13x13" */
void cr__dims_str(int ndim, const int *d, char *buf, size_t size);
/* snprintf into err when it is not NULL; returns s */
cr_status cr__model_errf(cr_status s, char *err, size_t errsize, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
