/* Helpers shared by the teaching surface of graph/ (print.c, trace.c, dot.c):
 * how numbers and tensors are named and written, and how a node's local
 * derivative is read off its own backward function. */
#ifndef CR_GRAPH_TEACH_INTERNAL_H
#define CR_GRAPH_TEACH_INTERNAL_H

#include "tape_internal.h"

/* Longest label cr_tensor_label accepts (bytes, without the NUL). */
#define CR_LABEL_MAX 63

/* Symbols used in printed text: UTF-8 by default, ASCII when the environment
 * variable CR_ASCII is set to anything but "0" (for consoles that are not UTF-8). */
typedef struct cr__glyphs {
    const char *d;      /* "∂" or "d" */
    const char *dot;    /* "·" or "*" */
} cr__glyphs;
cr__glyphs cr__glyphs_get(void);

/* Shortest decimal text that reads back as the same cr_real: "2", "0.1",
 * "162754.79"; "0" for -0; "nan", "inf", "-inf". Returns buf. */
char *cr__fmt_real(double v, char *buf, size_t size);
/* How x is called in printed text: its label, else "#id" for a tape tensor and
 * "param" / "const" for an unnamed heap tensor. Returns buf. */
char *cr__name(const cr_tensor *x, char *buf, size_t size);
/* Format a value summary of x (its data or grad) into buf. */
void cr__summary(const cr_tensor *x, const cr_real *v, char *buf, size_t size);
/* A scalar's exact value, or "[..summary..] (shape 2x3)" for a tensor. NULL v: "-". */
char *cr__describe(const cr_tensor *x, const cr_real *v, char *buf, size_t size);
/* x's gradient from the last backward pass of t, NULL if it has none (a tape
 * tensor's buffer only counts when that pass reached it). */
const cr_real *cr__grad_of(const cr_tape *t, const cr_tensor *x);

/* x's name as it appears after ∂: in parentheses unless it is a plain word, so
 * that ∂l/∂(1-p) reads right (trace.c). Returns buf. */
char *cr__operand(const cr_tensor *x, char *buf, size_t size);

/* A layer: the part of a label before its last '/' (or a parameter name before its
 * last '.'); len 0 for none. Not NUL-terminated at len (dot.c). */
typedef struct cr__scope {
    const char *s;
    size_t len;
} cr__scope;
cr__scope cr__own_scope(const cr_tensor *x);
/* Scopes of the tape's nodes, in order, into sc[0..n_nodes): a node's own, else
 * that of the first scoped parameter it reads, else its only input's when that is
 * an op (so x W + b and its activation land in their layer). */
void cr__node_scopes(const cr_tape *t, cr__scope *sc);

/* Local derivatives of node n (its output must be a scalar): runs the op's own
 * backward with incoming gradient 1 and scratch gradient buffers, so that
 * local[k] (size in[k]->size, caller-provided or NULL to skip) receives
 * d out / d in[k]. Inputs listed twice get the same (summed) buffer contents.
 * all_inputs = 0 skips inputs that need no gradient (left zero). Every pointer of
 * the node is restored afterwards; nothing else on the tape changes. Returns 1, or
 * 0 (locals untouched) when a node has so many inputs that memory ran out. */
int cr__local_derivatives(cr_tape *t, cr_node *n, cr_real *const *local, int all_inputs);

/* The page of cr_tape_html (graph/html_page.c): its style sheet, the body before
 * the data, and its script, as NULL-terminated arrays of lines. */
extern const char *const cr__html_css[];
extern const char *const cr__html_body[];
extern const char *const cr__html_js[];

#endif
