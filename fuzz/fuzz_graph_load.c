/* libFuzzer harness: rebuilding a recorded graph from a graph file image
 * (cr_graph_load_buffer, docs/FORMAT.md "Graph files").
 *
 * The input is the file, loaded as it is and, when it starts with the magic, again
 * with its size field and CRC-32 repaired (so that mutations get past the
 * checksum into the graph section). Checked besides ASan/UBSan: a failure says why and returns
 * NULL; a success has at least one output, every input and output a tensor of its
 * tape; the tape replays (cr_tape_forward) without a tape error other than a
 * numeric or memory one; a batch change either succeeds or leaves the graph's
 * tape, inputs and batch exactly as they were. The memory limit is 16 MiB (the
 * loader checks what a file declares against it, and caps the tape's arena at it),
 * and the library allocates through a 256 MB budget: past either the load must fail
 * cleanly. Files are loaded with an op registry holding a custom op "fz_double",
 * so files naming it load.
 * Seeds (fuzz/corpus/graph_load/): cr_graph_save of an MLP with its loss, a small
 * CNN (conv, batch norm in evaluation mode, max and average pools, dropout in
 * training mode), the shape and reduction ops, and a graph with the custom op,
 * float and double builds (fuzz/make_seeds.c). */
#include "fuzz_util.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* y = 2x (any shape of the same size) */
static void fz_double(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)user;
    for (size_t i = 0; n_in > 0 && i < out->size && i < in[0]->size; i++)
        out->data[i] = 2 * in[0]->data[i];
}

static void load_one(const uint8_t *data, size_t size, const cr_op_registry *ops)
{
    char msg[256];
    memset(msg, 'x', sizeof msg);
    cr_graph *g = cr_graph_load_buffer_with(data, size, "fuzz.crg", ops, msg, sizeof msg);
    if (!g) {
        fuzz_check_message(CR_ERR_FORMAT, msg, sizeof msg);
        return;
    }
    cr_tape *t = cr_graph_tape(g);
    FUZZ_CHECK(t && cr_graph_n_outputs(g) >= 1, "a loaded graph without outputs");
    for (int k = 0; k < cr_graph_n_inputs(g); k++) {
        cr_tensor *x = cr_graph_input(g, k);
        FUZZ_CHECK(x && x->tape == t && cr_graph_input_name(g, k), "input %d", k);
        cr_tensor_fill(x, (cr_real)0.25);
    }
    for (int k = 0; k < cr_graph_n_outputs(g); k++)
        FUZZ_CHECK(cr_graph_output(g, k) && cr_graph_output_name(g, k), "output %d", k);
    cr_status s = cr_tape_forward(t);
    FUZZ_CHECK(s == CR_OK || s == CR_ERR_NUMERIC || s == CR_ERR_NOMEM ||
               s == CR_ERR_ARG || s == CR_ERR_SHAPE, "replay: %s", cr_tape_error(t));
    if (s == CR_OK && cr_graph_batch(g) > 0) {
        cr_tensor *in0 = cr_graph_input(g, 0);
        int batch = cr_graph_batch(g);
        s = cr_graph_set_batch(g, batch == 1 ? 2 : 1, msg, sizeof msg);
        if (s != CR_OK) {
            fuzz_check_message(s, msg, sizeof msg);
            FUZZ_CHECK(cr_graph_tape(g) == t && cr_graph_input(g, 0) == in0 &&
                       cr_graph_batch(g) == batch, "a failed batch change changed the graph");
        } else {
            FUZZ_CHECK(cr_graph_input(g, 0)->shape[0] == (batch == 1 ? 2 : 1), "batch");
        }
    }
    cr_graph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cr_op_registry *ops;    /* made once, kept for the process */
    if (!ops) {
        cr_allocator a = { fuzz_malloc, fuzz_realloc, fuzz_free, NULL };
        cr_set_allocator(&a);
        cr_set_memory_limit((size_t)16 << 20);
        char msg[256];
        ops = cr_op_registry_new();
        FUZZ_CHECK(ops && cr_op_registry_add(ops, "fz_double", fz_double, NULL, NULL, msg,
                                             sizeof msg) == CR_OK, "cannot register");
    }
    load_one(data, size, ops);
    /* the same with the size field and CRC-32 repaired, so that mutations reach the
     * graph section instead of stopping at the checksum */
    uint8_t *fixed = fuzz_repaired_copy(data, size);
    if (fixed) {
        load_one(fixed, size, ops);
        free(fixed);
    }
    return 0;
}
