/* Text data (data/text.c): the strict UTF-8 reader with byte offsets in its
 * messages, the vocabulary (sorted code points, encode/decode, kept in a model
 * file's metadata), the last-10% hold-out and the B x T stream batcher (checked
 * against PyTorch's word_language_model batchify/get_batch layout, worked by hand
 * below). */
#include "data_helpers.h"

#define SENTINEL ((cr_text *)&sentinel_byte)
static char sentinel_byte;

static cr_text *load_ok(const char *bytes, size_t n)
{
    cr_text *t = NULL;
    char msg[256] = "";
    cr_status st = cr_text_load_mem(&t, bytes, n, "poem.txt", msg, sizeof msg);
    if (st != CR_OK) print_error("unexpected error: %s\n", msg);
    assert_int_equal(st, CR_OK);
    return t;
}

static void expect_bad(const char *bytes, size_t n, cr_status want, const char *needle)
{
    td_alloc a;
    td_alloc_install(&a);
    cr_text *t = SENTINEL;
    char msg[256] = "";
    cr_status st = cr_text_load_mem(&t, bytes, n, "poem.txt", msg, sizeof msg);
    td_alloc_remove();
    if (st != want) print_error("status %d, expected %d: %s\n", st, want, msg);
    assert_int_equal(st, want);
    assert_ptr_equal(t, SENTINEL);
    assert_msg_has(msg, needle);
    assert_int_equal(a.live, 0);
}

/* "a", "é" (C3 A9), "白" (E7 99 BD), "😀" (F0 9F 98 80), "\n": 1-, 2-, 3- and 4-byte
 * forms; the BOM in front is dropped. */
static void test_utf8_decodes_one_to_four_byte_characters(void **state)
{
    (void)state;
    static const char s[] = "\xef\xbb\xbf" "a\xc3\xa9\xe7\x99\xbd\xf0\x9f\x98\x80\n";
    cr_text *t = load_ok(s, sizeof s - 1);
    static const uint32_t want[] = { 0x61, 0xE9, 0x767D, 0x1F600, 0x0A };
    assert_int_equal(t->n, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(t->cp[i], want[i]);
    cr_text_free(t);
    cr_text_free(NULL);
}

static void test_invalid_utf8_names_the_byte_offset(void **state)
{
    (void)state;
    expect_bad("ab\xc3(", 4, CR_ERR_FORMAT, "poem.txt: invalid UTF-8 at byte 2 (0xC3 0x28): a lead "
               "byte not followed");
    expect_bad("abc\x80", 4, CR_ERR_FORMAT, "at byte 3 (0x80): a continuation byte");
    expect_bad("\xc0\xaf", 2, CR_ERR_FORMAT, "at byte 0 (0xC0 0xAF): an overlong encoding");
    expect_bad("x\xe0\x80\xaf", 4, CR_ERR_FORMAT, "at byte 1 (0xE0 0x80 0xAF): an overlong");
    expect_bad("\xed\xa0\x80", 3, CR_ERR_FORMAT, "at byte 0 (0xED 0xA0 0x80): a UTF-16 surrogate");
    expect_bad("\xf4\x90\x80\x80", 4, CR_ERR_FORMAT, "above U+10FFFF");
    expect_bad("ok\xe7\x99", 4, CR_ERR_FORMAT, "at byte 2 (0xE7 0x99): the file ends inside");
    expect_bad("\xff", 1, CR_ERR_FORMAT, "never appears in UTF-8");
}

static void test_empty_file_is_refused(void **state)
{
    (void)state;
    expect_bad("", 0, CR_ERR_FORMAT, "poem.txt: empty file");
    expect_bad("\xef\xbb\xbf", 3, CR_ERR_FORMAT, "poem.txt: empty file");
}

static void test_files_gzip_missing_file_and_memory_limit(void **state)
{
    (void)state;
    static const char s[] = "white sun\n\xe7\x99\xbd\xe6\x97\xa5\n";
    const char *p = td_path("poem.txt");
    td_write(p, s, sizeof s - 1);
    cr_text *t = NULL;
    char msg[256] = "";
    assert_int_equal(cr_text_load(&t, p, msg, sizeof msg), CR_OK);
    assert_int_equal(t->n, 13);
    assert_int_equal(t->cp[10], 0x767D);
    cr_text_free(t);
#ifdef CR_HAVE_ZLIB
    const char *pz = td_path("poem.txt.gz");
    td_write_gz(pz, s, sizeof s - 1);
    t = NULL;
    assert_int_equal(cr_text_load(&t, pz, msg, sizeof msg), CR_OK);
    assert_int_equal(t->n, 13);
    assert_int_equal(t->cp[11], 0x65E5);
    cr_text_free(t);
#endif
    t = SENTINEL;
    assert_int_equal(cr_text_load(&t, td_path("absent.txt"), msg, sizeof msg), CR_ERR_IO);
    assert_ptr_equal(t, SENTINEL);
    assert_msg_has(msg, "absent.txt");
    /* 13 bytes held + 4 bytes per character = 65 > 40 */
    cr_set_memory_limit(40);
    assert_int_equal(cr_text_load(&t, p, msg, sizeof msg), CR_ERR_NOMEM);
    cr_set_memory_limit(0);
    assert_ptr_equal(t, SENTINEL);
    assert_msg_has(msg, "above the memory limit");
}

static void test_allocation_failure_leaks_nothing(void **state)
{
    (void)state;
    static const char s[] = "\xe7\x99\xbd\xe6\x97\xa5 sun";
    td_alloc a;
    td_alloc_install(&a);
    cr_text *t = load_ok(s, sizeof s - 1);
    cr_text_free(t);
    long total = a.count;
    td_alloc_remove();
    assert_true(total >= 3);
    for (long k = 1; k <= total; k++) {
        td_alloc_install(&a);
        a.fail_at = k;
        t = SENTINEL;
        cr_status st = cr_text_load_mem(&t, s, sizeof s - 1, NULL, NULL, 0);
        if (st == CR_OK) cr_text_free(t);     /* the shrinking realloc may fail harmlessly */
        td_alloc_remove();
        assert_true(st == CR_ERR_NOMEM || st == CR_OK);
        if (st != CR_OK) assert_ptr_equal(t, SENTINEL);
        assert_int_equal(a.live, 0);
    }
}

/* "banana!" -> sorted distinct {'!', 'a', 'b', 'n'}: ids 0..3; encode, decode. */
static void test_vocab_is_sorted_distinct_code_points(void **state)
{
    (void)state;
    static const uint32_t s[] = { 'b', 'a', 'n', 'a', 'n', 'a', '!', 0x767D };
    cr_vocab *v = NULL;
    char msg[256] = "";
    assert_int_equal(cr_vocab_build(&v, s, 8, msg, sizeof msg), CR_OK);
    assert_int_equal(v->size, 5);
    static const uint32_t want[] = { '!', 'a', 'b', 'n', 0x767D };
    for (int i = 0; i < 5; i++) assert_int_equal(v->cp[i], want[i]);
    assert_int_equal(cr_vocab_id(v, 'n'), 3);
    assert_int_equal(cr_vocab_id(v, 'z'), -1);
    int ids[8];
    assert_int_equal(cr_vocab_encode(v, s, 8, ids, msg, sizeof msg), CR_OK);
    static const int want_ids[] = { 2, 1, 3, 1, 3, 1, 0, 4 };
    for (int i = 0; i < 8; i++) assert_int_equal(ids[i], want_ids[i]);
    char buf[32];
    assert_int_equal(cr_vocab_decode(v, ids, 8, buf, sizeof buf), 10);
    assert_string_equal(buf, "banana!\xe7\x99\xbd");
    /* cut as snprintf; a bad id is U+FFFD */
    assert_int_equal(cr_vocab_decode(v, ids, 8, buf, 4), 10);
    assert_string_equal(buf, "ban");
    int bad[2] = { 1, 7 };
    assert_int_equal(cr_vocab_decode(v, bad, 2, buf, sizeof buf), 4);
    assert_string_equal(buf, "a\xef\xbf\xbd");
    static const uint32_t other[] = { 'a', 0xE9 };
    ids[1] = -5;
    assert_int_equal(cr_vocab_encode(v, other, 2, ids, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "character U+00E9 at position 1 is not in the vocabulary of 5");
    assert_int_equal(ids[1], -5);
    static const uint32_t sur[] = { 'a', 0xD800 };
    cr_vocab *w = NULL;
    assert_int_equal(cr_vocab_build(&w, sur, 2, msg, sizeof msg), CR_ERR_ARG);
    assert_null(w);
    assert_msg_has(msg, "cp[1] = 0xD800");
    assert_int_equal(cr_vocab_build(&w, sur, 0, msg, sizeof msg), CR_ERR_ARG);
    cr_vocab_free(v);
}

static void test_utf8_put_round_trips_through_the_reader(void **state)
{
    (void)state;
    static const uint32_t cps[] = { 0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF,
                                    0x10000, 0x10FFFF };
    char buf[64];
    size_t k = 0;
    for (int i = 0; i < 10; i++) k += (size_t)cr_utf8_put(cps[i], buf + k);
    assert_int_equal(k, 1 + 1 + 2 + 2 + 3 + 3 + 3 + 3 + 4 + 4);
    cr_text *t = load_ok(buf, k);
    assert_int_equal(t->n, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(t->cp[i], cps[i]);
    cr_text_free(t);
    assert_int_equal(cr_utf8_put(0xD800, buf), 0);
    assert_int_equal(cr_utf8_put(0x110000, buf), 0);
}

/* Saved in the metadata of a model file and read back, with an odd size (the last
 * u64 holds one code point). */
static void test_vocab_survives_a_model_file(void **state)
{
    (void)state;
    static const uint32_t s[] = { 0x767D, 0x65E5, 0x4F9D, 0x5C71, 0x5C3D, 'x', '\n' };
    cr_vocab *v = NULL, *back = NULL;
    char msg[256] = "";
    assert_int_equal(cr_vocab_build(&v, s, 7, msg, sizeof msg), CR_OK);
    cr_meta *m = cr_meta_new(), *m2 = cr_meta_new();
    assert_int_equal(cr_vocab_to_meta(v, m, msg, sizeof msg), CR_OK);
    cr_params *p = cr_params_new();
    int shape[1] = { 3 };
    assert_int_equal(cr_params_add_owned(p, cr_param_new(1, shape), "w", msg, sizeof msg), CR_OK);
    const char *path = td_path("vocab.crm");
    assert_int_equal(cr_save(path, p, NULL, m, msg, sizeof msg), CR_OK);
    assert_int_equal(cr_load(path, p, NULL, m2, msg, sizeof msg), CR_OK);
    assert_int_equal(cr_vocab_from_meta(&back, m2, msg, sizeof msg), CR_OK);
    assert_int_equal(back->size, 7);
    for (int i = 0; i < 7; i++) assert_int_equal(back->cp[i], v->cp[i]);
    cr_vocab_free(back);
    back = NULL;
    /* missing, lying and unsorted vocabularies are format errors */
    cr_meta_clear(m2);
    assert_int_equal(cr_vocab_from_meta(&back, m2, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "no vocabulary");
    assert_int_equal(cr_meta_set_u64(m, "vocab.size", 1000000), CR_OK);
    assert_int_equal(cr_vocab_from_meta(&back, m, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "vocab.size = 1000000");
    assert_int_equal(cr_meta_set_u64(m, "vocab.size", 7), CR_OK);
    assert_int_equal(cr_meta_set_u64(m, "vocab.1", (uint64_t)0x4F9D << 32 | 0x65E5), CR_OK);
    assert_int_equal(cr_vocab_from_meta(&back, m, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "entry 3 (0x4F9D) is not a code point above the previous one");
    assert_null(back);
    cr_meta_free(m);
    cr_meta_free(m2);
    cr_params_free(p);
    cr_vocab_free(v);
}

/* n = 1000: 100 held out (the last ones). 19 and 0.1: 1 held out. */
static void test_split_holds_out_the_last_tenth(void **state)
{
    (void)state;
    size_t tr = 7, va = 7;
    char msg[256] = "";
    assert_int_equal(cr_text_split(1000, 0.1, &tr, &va, msg, sizeof msg), CR_OK);
    assert_int_equal(tr, 900);
    assert_int_equal(va, 100);
    assert_int_equal(cr_text_split(19, 0.1, &tr, &va, msg, sizeof msg), CR_OK);
    assert_int_equal(tr, 18);
    assert_int_equal(va, 1);
    tr = va = 7;
    assert_int_equal(cr_text_split(2, 0.5, &tr, &va, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "leave 1 for training");
    assert_int_equal(cr_text_split(100, 1.0, &tr, &va, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "val_fraction = 1 is outside [0, 1)");
    assert_int_equal(tr, 7);
    assert_int_equal(va, 7);
}

/* ids 0..22 (n = 23), B = 3, T = 3. PyTorch's batchify: 23 // 3 = 7 per stream,
 * streams [0..6], [7..13], [14..20] (21, 22 dropped). get_batch(0): data rows
 * (time) = [0 7 14], [1 8 15], [2 9 16], targets one ahead; get_batch(3): rows
 * [3 10 17], [4 11 18], [5 12 19]. (L - 1) / T = 2 full chunks; PyTorch's would
 * also give none more (its i runs over 0 and 3, both full). */
static void test_seq_batcher_matches_batchify_layout(void **state)
{
    (void)state;
    int ids[23];
    for (int i = 0; i < 23; i++) ids[i] = i;
    char msg[256] = "";
    cr_seq_batcher *b = cr_seq_batcher_new(ids, 23, 3, 3, msg, sizeof msg);
    assert_non_null(b);
    ids[0] = 99;                                     /* copied: no effect */
    assert_int_equal(cr_seq_batcher_chunks(b), 2);
    int shape[2] = { 3, 3 };
    cr_tensor *x = cr_tensor_new(2, shape), *y = cr_tensor_new(2, shape);
    static const double x0[] = { 0, 7, 14, 1, 8, 15, 2, 9, 16 }, y0[] = { 1, 8, 15, 2, 9, 16,
                                                                          3, 10, 17 };
    static const double x1[] = { 3, 10, 17, 4, 11, 18, 5, 12, 19 },
                        y1[] = { 4, 11, 18, 5, 12, 19, 6, 13, 20 };
    assert_int_equal(cr_seq_batcher_get(b, 1, x, y, msg, sizeof msg), CR_OK);
    assert_all_close(x->data, x1, 9, 0, 0);
    assert_all_close(y->data, y1, 9, 0, 0);
    assert_int_equal(cr_seq_batcher_get(b, 0, x, NULL, msg, sizeof msg), CR_OK);
    assert_all_close(x->data, x0, 9, 0, 0);
    assert_all_close(y->data, y1, 9, 0, 0);          /* y NULL: untouched */
    assert_int_equal(cr_seq_batcher_get(b, 0, x, y, msg, sizeof msg), CR_OK);
    assert_all_close(y->data, y0, 9, 0, 0);
    assert_int_equal(cr_seq_batcher_get(b, 2, x, y, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "chunk 2 is past the last (2 chunks)");
    int small[1] = { 8 };
    cr_tensor *z = cr_tensor_new(1, small);
    assert_int_equal(cr_seq_batcher_get(b, 0, z, y, msg, sizeof msg), CR_ERR_SHAPE);
    assert_msg_has(msg, "need 3 x 3 = 9 values, have 8 and 9");
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_tensor_free(z);
    cr_seq_batcher_free(b);
    cr_seq_batcher_free(NULL);
    /* 23 ids in 4 streams of 5: T = 5 needs 6 */
    assert_null(cr_seq_batcher_new(ids, 23, 4, 5, msg, sizeof msg));
    assert_msg_has(msg, "23 ids make 4 streams of 5; a chunk of 5 steps needs streams of at least 6");
    assert_null(cr_seq_batcher_new(ids, 23, 0, 5, msg, sizeof msg));
    assert_msg_has(msg, "batch 0 and steps 5 must be >= 1");
}

/* The same 3 streams as above, chunk 1, one worker's share: streams 1..2 are the
 * last two columns of the full chunk ([10 17], [11 18], [12 19]; targets one
 * ahead); stream ranges outside 0..2 are refused and write nothing. */
static void test_seq_batcher_streams_are_columns_of_the_full_chunk(void **state)
{
    (void)state;
    int ids[23];
    for (int i = 0; i < 23; i++) ids[i] = i;
    char msg[256] = "";
    cr_seq_batcher *b = cr_seq_batcher_new(ids, 23, 3, 3, msg, sizeof msg);
    assert_non_null(b);
    int shape[2] = { 3, 2 };
    cr_tensor *x = cr_tensor_new(2, shape), *y = cr_tensor_new(2, shape);
    static const double x12[] = { 10, 17, 11, 18, 12, 19 }, y12[] = { 11, 18, 12, 19, 13, 20 };
    assert_int_equal(cr_seq_batcher_get_streams(b, 1, 1, 2, x, y, msg, sizeof msg), CR_OK);
    assert_all_close(x->data, x12, 6, 0, 0);
    assert_all_close(y->data, y12, 6, 0, 0);
    static const double x0[] = { 0, 1, 2 };       /* stream 0 alone, chunk 0, no y */
    assert_int_equal(cr_seq_batcher_get_streams(b, 0, 0, 1, x, NULL, msg, sizeof msg), CR_OK);
    assert_all_close(x->data, x0, 3, 0, 0);
    assert_all_close(y->data, y12, 6, 0, 0);
    assert_int_equal(cr_seq_batcher_get_streams(b, 0, 2, 2, x, y, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "streams 2 to 3 are not within the 3 streams");
    assert_int_equal(cr_seq_batcher_get_streams(b, 0, -1, 1, x, y, msg, sizeof msg), CR_ERR_ARG);
    assert_int_equal(cr_seq_batcher_get_streams(b, 0, 0, 0, x, y, msg, sizeof msg), CR_ERR_ARG);
    assert_all_close(y->data, y12, 6, 0, 0);
    int one[1] = { 5 };
    cr_tensor *z = cr_tensor_new(1, one);
    assert_int_equal(cr_seq_batcher_get_streams(b, 0, 1, 2, z, NULL, msg, sizeof msg),
                     CR_ERR_SHAPE);
    assert_msg_has(msg, "need 3 x 2 = 6 values, have 5");
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_tensor_free(z);
    cr_seq_batcher_free(b);
}

/* train_text's loop in miniature: one recorded chunk (embedding -> LSTM -> dense ->
 * cross-entropy) replayed on every chunk of the batcher, state carried by copy.
 * After two warm-up chunks, eight more allocate nothing, and the loss on the
 * first chunk has fallen after them (the replay does train). */
static void test_batcher_tbptt_loop_allocates_nothing_per_chunk(void **state)
{
    (void)state;
    enum { V = 5, E = 4, H = 6, B = 3, T = 4 };
    int ids[200];
    for (int i = 0; i < 200; i++) ids[i] = (i * 7 + i / 5) % V;
    char msg[256] = "";
    cr_seq_batcher *sb = cr_seq_batcher_new(ids, 200, B, T, msg, sizeof msg);
    assert_non_null(sb);
    cr_rnn *r = cr_rnn_new(CR_LSTM, E, H, 1, 0, msg, sizeof msg);
    assert_non_null(r);
    cr_rng rng;
    cr_rng_seed(&rng, 5);
    assert_int_equal(cr_rnn_init(r, &rng, msg, sizeof msg), CR_OK);
    int se[2] = { V, E }, sw[2] = { H, V }, sv[1] = { V }, sx[2] = { T, B }, sy[1] = { T * B };
    cr_tensor *emb = cr_param_new(2, se), *W = cr_param_new(2, sw), *bias = cr_param_new(1, sv);
    cr_tensor_rand_uniform(emb, &rng, -1, 1);
    cr_tensor_rand_uniform(W, &rng, -0.5, 0.5);
    cr_params *p = cr_params_new();
    assert_int_equal(cr_params_extend(p, cr_rnn_params(r), "rnn.", msg, sizeof msg), CR_OK);
    assert_int_equal(cr_params_add(p, emb, "emb", msg, sizeof msg), CR_OK);
    assert_int_equal(cr_params_add(p, W, "W", msg, sizeof msg), CR_OK);
    assert_int_equal(cr_params_add(p, bias, "b", msg, sizeof msg), CR_OK);
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_ADAM);
    cfg.lr = 0.05;
    cr_optim *o = cr_optim_new(p, &cfg, msg, sizeof msg);
    assert_non_null(o);
    cr_tensor *x = cr_tensor_new(2, sx), *y = cr_tensor_new(1, sy);
    cr_rnn_state carry, s;
    assert_int_equal(cr_rnn_state_alloc(r, B, &carry, msg, sizeof msg), CR_OK);
    cr_tape *t = cr_tape_new(0);
    s = carry;
    int flat[2] = { T * B, H };
    cr_tensor *h = cr_rnn_forward(t, r, cr_embedding(t, emb, x), 0, &s, 1, &rng);
    cr_tensor *loss = cr_softmax_cross_entropy(t, cr_linear(t, cr_reshape(t, h, 2, flat), W, bias), y);
    assert_non_null(loss);
    size_t nc = cr_seq_batcher_chunks(sb);
    assert_int_equal(nc, 16);                     /* 200 / 3 = 66 per stream, 65 / 4 */
    double first = 0, again = 0;
    cr_test_alloc counter = { 0 };
    for (int k = 0; k < 10; k++) {
        if (k == 2) cr_test_alloc_install(&counter);
        size_t c = (size_t)k % nc;
        if (c == 0) cr_rnn_state_zero(&carry);
        assert_int_equal(cr_seq_batcher_get(sb, c, x, y, msg, sizeof msg), CR_OK);
        assert_int_equal(cr_tape_forward(t), CR_OK);
        if (k == 0) first = cr_item(loss);
        cr_optim_zero_grad(o);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_optim_step(o, msg, sizeof msg), CR_OK);
        assert_int_equal(cr_rnn_state_copy(&carry, &s, msg, sizeof msg), CR_OK);
    }
    cr_test_alloc_remove();
    assert_int_equal(counter.mallocs + counter.reallocs, 0);
    cr_rnn_state_zero(&carry);
    cr_seq_batcher_get(sb, 0, x, y, NULL, 0);
    cr_tape_forward(t);
    again = cr_item(loss);
    if (!(again < first)) print_error("loss on chunk 0: %g, then %g\n", first, again);
    assert_true(again < first);
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_optim_free(o);
    cr_params_free(p);
    cr_tensor_free(emb);
    cr_tensor_free(W);
    cr_tensor_free(bias);
    cr_rnn_free(r);
    cr_seq_batcher_free(sb);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decodes_one_to_four_byte_characters),
        cmocka_unit_test(test_invalid_utf8_names_the_byte_offset),
        cmocka_unit_test(test_empty_file_is_refused),
        cmocka_unit_test(test_files_gzip_missing_file_and_memory_limit),
        cmocka_unit_test(test_allocation_failure_leaks_nothing),
        cmocka_unit_test(test_vocab_is_sorted_distinct_code_points),
        cmocka_unit_test(test_utf8_put_round_trips_through_the_reader),
        cmocka_unit_test(test_vocab_survives_a_model_file),
        cmocka_unit_test(test_split_holds_out_the_last_tenth),
        cmocka_unit_test(test_seq_batcher_matches_batchify_layout),
        cmocka_unit_test(test_seq_batcher_streams_are_columns_of_the_full_chunk),
        cmocka_unit_test(test_batcher_tbptt_loop_allocates_nothing_per_chunk),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
