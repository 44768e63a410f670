/* Throughput of a character-model training step on a recurrent layer: embedding
 * (V 96, E 64) -> 1-layer LSTM or GRU (H 256) -> linear -> softmax cross-entropy,
 * B 32 streams x T 64 steps per chunk, Adam 2e-3, the hidden state carried from
 * chunk to chunk (truncated BPTT). Tokens are uniform random (the cost does not
 * depend on them). Either the chunk is recorded once and replayed (write the
 * indices, cr_tape_forward, backward, step, copy the state) or re-recorded on a
 * reset tape every chunk: the difference is what replay saves.
 *
 *   cc -O2 -Iinclude bench/rnn_step.c build/float/libchainrule.a -lm -lpthread
 *   ./a.out [lstm|gru] [replay|record] [threads] [chunks]   (lstm replay 1 20)
 * Last line:  RESULT chars_per_s=<wall> cpu_chars_per_s=<process CPU> loss=<last> */
#include "chainrule.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { V = 96, E = 64, H = 256, B = 32, T = 64 };

static cr_tensor *record(cr_tape *t, cr_rnn *rnn, cr_tensor *table, cr_tensor *W, cr_tensor *b,
                         cr_tensor *idx, cr_tensor *y, cr_rnn_state *s)
{
    cr_tensor *h = cr_rnn_forward(t, rnn, cr_embedding(t, table, idx), 1, s, 1, NULL);
    int rows[2] = { B * T, H };
    return cr_softmax_cross_entropy(t, cr_linear(t, cr_reshape(t, h, 2, rows), W, b), y);
}

int main(int argc, char **argv)
{
    cr_rnn_kind kind = CR_LSTM;
    if (argc > 1 && cr_rnn_kind_from_name(argv[1], &kind) != CR_OK) {
        fprintf(stderr, "usage: %s [lstm|gru] [replay|record] [threads] [chunks]\n", argv[0]);
        return 2;
    }
    int replay = argc > 2 ? strcmp(argv[2], "record") != 0 : 1;
    int threads = argc > 3 ? atoi(argv[3]) : 1, chunks = argc > 4 ? atoi(argv[4]) : 20;
    if (threads < 1 || chunks < 1) return 2;
    char err[256];
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    cr_rnn *rnn = cr_rnn_new(kind, E, H, 1, 0, err, sizeof err);
    if (!rnn || cr_rnn_init(rnn, &rng, err, sizeof err) != CR_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int st[2] = { V, E }, sw[2] = { H, V }, nv = V;
    cr_tensor *table = cr_param_new(2, st), *W = cr_param_new(2, sw), *b = cr_param_new(1, &nv);
    cr_params *p = cr_params_new();
    if (!table || !W || !b || !p) return 1;
    cr_tensor_rand_normal(table, &rng, 0, 1);
    cr_tensor_rand_uniform(W, &rng, -0.0625f, 0.0625f);
    if (cr_params_add(p, table, "emb.weight", err, sizeof err) != CR_OK ||
        cr_params_extend(p, cr_rnn_params(rnn), "rnn.", err, sizeof err) != CR_OK ||
        cr_params_add(p, W, "out.W", err, sizeof err) != CR_OK ||
        cr_params_add(p, b, "out.b", err, sizeof err) != CR_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cr_optim_config oc = cr_optim_defaults(CR_OPTIM_ADAM);
    oc.lr = 2e-3;
    cr_optim *o = cr_optim_new(p, &oc, err, sizeof err);
    cr_pool *pool = cr_pool_new(threads);
    int si[2] = { B, T }, ny = B * T;
    cr_tensor *idx = cr_tensor_new(2, si), *y = cr_tensor_new(1, &ny);
    cr_rnn_state carry, s;
    cr_tape *t = cr_tape_new(0);
    if (!o || !pool || !idx || !y || !t ||
        cr_rnn_state_alloc(rnn, B, &carry, err, sizeof err) != CR_OK) {
        fprintf(stderr, "setup failed: %s\n", err);
        return 1;
    }
    cr_tape_set_pool(t, pool);
    cr_optim_set_pool(o, pool);
    cr_tensor *loss = NULL;
    double w0 = 0, c0 = 0;
    for (int k = 0; k < chunks + 2; k++) {   /* two warm-up chunks size the arenas */
        if (k == 2) {
            w0 = clock_s(CLOCK_MONOTONIC);
            c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        for (int i = 0; i < B * T; i++) {
            idx->data[i] = (cr_real)cr_rng_below(&rng, V);
            y->data[i] = (cr_real)cr_rng_below(&rng, V);
        }
        cr_optim_zero_grad(o);
        if (replay && loss) {
            if (cr_tape_forward(t) != CR_OK) loss = NULL;
        } else {
            cr_tape_reset(t);
            s = carry;
            loss = record(t, rnn, table, W, b, idx, y, &s);
        }
        if (!loss || cr_backward(t, loss) != CR_OK || cr_optim_step(o, err, sizeof err) != CR_OK ||
            cr_rnn_state_copy(&carry, &s, err, sizeof err) != CR_OK) {
            fprintf(stderr, "step failed: %s %s\n", cr_tape_error(t) ? cr_tape_error(t) : "", err);
            return 1;
        }
    }
    double wall = clock_s(CLOCK_MONOTONIC) - w0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double chars = (double)chunks * B * T;
    printf("%s %s, %d thread%s: %.0f chars/s wall, %.0f per CPU second (%zu nodes per chunk)\n",
           cr_rnn_kind_name(kind), replay ? "replay" : "re-record", threads,
           threads > 1 ? "s" : "", chars / wall, chars / cpu, cr_tape_size(t));
    printf("RESULT chars_per_s=%.0f cpu_chars_per_s=%.0f loss=%.4f\n", chars / wall, chars / cpu,
           (double)cr_item(loss));
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_tensor_free(idx);
    cr_tensor_free(y);
    cr_optim_free(o);
    cr_pool_free(pool);
    cr_params_free(p);
    cr_tensor_free(table);
    cr_tensor_free(W);
    cr_tensor_free(b);
    cr_rnn_free(rnn);
    return 0;
}
