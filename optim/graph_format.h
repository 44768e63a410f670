/* Internal to the graph-file reader and writer (optim/graph_save.c,
 * optim/graph_load.c): the GRPH section's constants (docs/FORMAT.md, "Graph
 * files"). */
#ifndef CR_OPTIM_GRAPH_FORMAT_H
#define CR_OPTIM_GRAPH_FORMAT_H

#define CR__TAG_GRAPH "GRPH"
#define CR__GRAPH_VERSION 1
#define CR__GNAME_MAX 63        /* input, output, parameter and op names: 1..63 bytes */
#define CR__GRNG_MAX 1024       /* generators per graph */

/* What a value of the graph is (u32 in the file). */
enum {
    CR__GV_INPUT = 1,           /* fed by the caller; shape only */
    CR__GV_PARAM = 2,           /* a parameter: its data is the PARM record of its name */
    CR__GV_CONST = 3,           /* a heap constant: data in the section */
    CR__GV_LEAF_CONST = 4,      /* a tape leaf without gradient (cr_const): data */
    CR__GV_LEAF_VAR = 5,        /* a tape leaf with gradient (cr_var): data */
    CR__GV_OP = 6               /* a recorded op node */
};
#define CR__GV_FLAG_GRAD 1u     /* input / parameter: needs a gradient */

#endif
