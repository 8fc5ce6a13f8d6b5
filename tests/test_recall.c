/* test_recall.c -- unit tests of recall's pure parts (agents/builder/recall.c):
 * the tokenizer, BM25 with the skill boost, and the choice of lessons and
 * code. Figures are computed by hand from the formulas in recall.h.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agents/builder/recall.h"

/* The bag's terms as "term:tf term:tf ...", in order. */
static void bag_str(const struct recall_bag *b, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < b->n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s:%u",
                                 i ? " " : "", b->terms[i].text,
                                 b->terms[i].tf);
}

static void test_words(void **state)
{
    struct recall_bag b;
    char s[512];

    (void)state;
    assert_int_equal(recall_bag_init(&b, 64), 0);
    recall_bag_text(&b, "Write a function reverse_words(s) that returns the "
                        "words of s in reverse order.");
    bag_str(&b, s, sizeof s);
    /* "words" twice (folded), "reverse" twice; stopwords and "s" gone. */
    assert_string_equal(s, "reverse:2 word:2 order:1");
    assert_int_equal(b.length, 5);
    assert_int_equal(b.nwords, 3);
    recall_bag_free(&b);

    assert_int_equal(recall_bag_init(&b, 64), 0);
    recall_bag_text(&b, "isPalindrome(HTTPServer) parse_JSON x2 42 "
                        "entries classes boxes matches status analysis "
                        "caf\xc3\xa9");
    bag_str(&b, s, sizeof s);
    assert_string_equal(s, "palindrome:1 httpserver:1 parse:1 json:1 x2:1 "
                           "42:1 entry:1 class:1 box:1 match:1 status:1 "
                           "analysis:1 "
                           "caf\xc3\xa9:1");
    recall_bag_free(&b);

    /* Empty, NULL and separator-only texts add nothing. */
    assert_int_equal(recall_bag_init(&b, 64), 0);
    recall_bag_text(&b, NULL);
    recall_bag_text(&b, "");
    recall_bag_text(&b, " ,;()[] == != # ");
    assert_int_equal(b.n, 0);
    assert_int_equal(b.length, 0);
    recall_bag_free(&b);
}

static void test_words_cap_and_long(void **state)
{
    struct recall_bag b;
    char text[4096], longw[80];
    size_t used = 0;

    (void)state;
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "w%03d ",
                                 i);
    assert_int_equal(recall_bag_init(&b, 10), 0);
    recall_bag_text(&b, text);
    recall_bag_text(&b, "w005 w099");
    /* Ten distinct words kept, in order; all 102 counted in the length;
     * a kept word seen again is counted, a dropped one is not added. */
    assert_int_equal(b.nwords, 10);
    assert_int_equal(b.length, 102);
    assert_string_equal(b.terms[9].text, "w009");
    assert_int_equal(b.terms[5].tf, 2);
    recall_bag_free(&b);

    memset(longw, 'k', 70);
    longw[70] = '\0';
    assert_int_equal(recall_bag_init(&b, 10), 0);
    recall_bag_text(&b, longw);
    assert_int_equal(strlen(b.terms[0].text), RECALL_TERM_MAX);
    recall_bag_free(&b);
}

static void test_skills(void **state)
{
    struct recall_bag b;
    char s[256];

    (void)state;
    assert_int_equal(recall_bag_init(&b, 2), 0);
    recall_bag_text(&b, "strings and lists");
    recall_bag_skill(&b, "strings");
    recall_bag_skill(&b, "strings");
    recall_bag_skill(&b, "");
    recall_bag_skill(&b, NULL);
    recall_bag_text(&b, "more words past the cap");
    bag_str(&b, s, sizeof s);
    /* The skill is its own term, apart from the word "string". */
    assert_string_equal(s, "string:1 list:1 #strings:2");
    assert_int_equal(b.nwords, 2);
    assert_int_equal(b.terms[2].skill, 1);
    /* more, word, past, cap: counted though past the cap; skills not. */
    assert_int_equal(b.length, 2 + 4);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "skill%d", i);
        recall_bag_skill(&b, name);
    }
    assert_int_equal(b.n - b.nwords, RECALL_SKILLS_MAX);
    recall_bag_free(&b);
    recall_bag_free(&b);            /* freeing twice is safe */
}

static void test_stopwords(void **state)
{
    (void)state;
    assert_true(recall_stopword("the"));
    assert_true(recall_stopword("assert"));
    assert_true(recall_stopword("return"));
    assert_true(recall_stopword("a"));
    assert_true(recall_stopword("your"));
    assert_false(recall_stopword("reverse"));
    assert_false(recall_stopword("string"));
    assert_false(recall_stopword(""));
}

static void test_bm25(void **state)
{
    (void)state;
    /* idf = ln(1 + (N - df + 0.5) / (df + 0.5)) */
    assert_float_equal(recall_idf(100, 1), log(1 + 99.5 / 1.5), 1e-12);
    assert_float_equal(recall_idf(100, 100), log(1 + 0.5 / 100.5), 1e-12);
    assert_true(recall_idf(100, 1) > recall_idf(100, 10));
    assert_true(recall_idf(1, 1) > 0);
    /* At average length, tf 1 gives exactly idf; more tf saturates. */
    assert_float_equal(recall_bm25(2.0, 1, 10, 10.0), 2.0, 1e-12);
    double tf3 = 2.0 * 3 * 2.2 / (3 + 1.2);
    assert_float_equal(recall_bm25(2.0, 3, 10, 10.0), tf3, 1e-12);
    assert_true(recall_bm25(2.0, 100, 10, 10.0) < 2.0 * 2.2);
    /* A document twice the mean length weighs less. */
    double norm = 1 - 0.75 + 0.75 * 2;
    assert_float_equal(recall_bm25(2.0, 1, 20, 10.0), 2.0 * 2.2 / (1 + 1.2 *
                                                                   norm),
                       1e-12);
    assert_true(recall_bm25(2.0, 1, 20, 10.0) < recall_bm25(2.0, 1, 10, 10.0));
}

static void test_rank(void **state)
{
    struct recall_scores s;

    (void)state;
    assert_int_equal(recall_scores_init(&s, 6), 0);
    /* A query of 3 words (W = 4) and 1 skill; one call per word and doc. */
    assert_int_equal(recall_scores_add(&s, 7, 2.0, 0), 0);   /* 0.75     */
    assert_int_equal(recall_scores_add(&s, 7, 1.0, 0), 0);
    assert_int_equal(recall_scores_add(&s, 9, 1.0, 0), 0);   /* 0.375    */
    assert_int_equal(recall_scores_add(&s, 9, 0.5, 0), 0);   /* + skill  */
    assert_int_equal(recall_scores_add(&s, 9, 0, 1), 0);
    assert_int_equal(recall_scores_add(&s, 5, 0, 1), 0);     /* skill only */
    assert_int_equal(recall_scores_add(&s, 3, 0.2, 0), 0);   /* 0.075    */
    assert_int_equal(recall_scores_add(&s, 3, 0.1, 0), 0);
    assert_int_equal(recall_scores_add(&s, 6, 3.0, 0), 0);   /* one word */
    assert_int_equal(recall_scores_add(&s, 8, 4.0, 0), 0);   /* asking   */
    assert_int_equal(recall_scores_add(&s, 8, 1.0, 0), 0);
    assert_int_equal(recall_scores_add(&s, 10, 1.0, 0), -ENOSPC);
    assert_int_equal(s.c[0].nwords, 2);
    assert_int_equal(s.c[1].nwords, 2);
    assert_int_equal(s.c[1].skills, 1);
    recall_scores_rank(&s, 4.0, 3, 1, 8);
    /* Kept: 7 and 9. Dropped: 5 (a skill alone), 3 (under
     * RECALL_MIN_SCORE), 6 (one word of three, however rare), 8 (self). */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.c[0].doc, 7);
    assert_float_equal(s.c[0].score, 0.75, 1e-12);
    assert_int_equal(s.c[1].doc, 9);
    assert_float_equal(s.c[1].score, 0.375 + RECALL_SKILL_BOOST, 1e-12);
    recall_scores_free(&s);

    /* A one-word query: one shared word is enough. */
    assert_int_equal(recall_scores_init(&s, 2), 0);
    recall_scores_add(&s, 6, 3.0, 0);
    recall_scores_add(&s, 5, 0, 1);
    recall_scores_rank(&s, 4.0, 1, 1, 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].doc, 6);
    recall_scores_free(&s);

    /* Equal scores: the newer (higher id) first. */
    assert_int_equal(recall_scores_init(&s, 3), 0);
    recall_scores_add(&s, 2, 1.0, 0);
    recall_scores_add(&s, 6, 1.0, 0);
    recall_scores_add(&s, 4, 1.0, 0);
    recall_scores_rank(&s, 2.0, 1, 0, 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.c[0].doc, 6);
    assert_int_equal(s.c[1].doc, 4);
    assert_int_equal(s.c[2].doc, 2);
    recall_scores_free(&s);

    /* Many documents: the table holds them all. */
    assert_int_equal(recall_scores_init(&s, 5000), 0);
    for (uint64_t d = 1; d <= 5000; d++)
        assert_int_equal(recall_scores_add(&s, d, (double)d, 0), 0);
    for (uint64_t d = 1; d <= 5000; d += 7)
        assert_int_equal(recall_scores_add(&s, d, 1.0, 0), 0);
    assert_int_equal(s.n, 5000);
    recall_scores_rank(&s, 5000.0, 1, 0, 0);
    assert_int_equal(s.c[0].doc, 5000);
    assert_float_equal(s.c[0].score, 1.0, 1e-12);
    recall_scores_free(&s);
}

static void test_choose(void **state)
{
    size_t l[8], c[8], nl, nc;
    /* score, words, lesson, code */
    const struct recall_offer o[] = {
        { 0.90, 0.80, 1, 1 },       /* close, passed: code and lesson   */
        { 0.60, 0.60, 0, 1 },       /* close, no lesson: code only      */
        { 0.50, 0.40, 1, 1 },       /* third code: over RECALL_CODE_MAX */
        { 0.40, 0.25, 1, 1 },       /* words too weak for code          */
        { 0.15, 0.00, 1, 0 },       /* skill only: a lesson at most     */
    };

    (void)state;
    recall_choose(o, 5, 8, l, &nl, c, &nc);
    assert_int_equal(nc, 2);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    assert_int_equal(nl, 4);
    assert_int_equal(l[0], 0);
    assert_int_equal(l[1], 2);
    assert_int_equal(l[2], 3);
    assert_int_equal(l[3], 4);

    /* Room for 3: one piece of code (3 / 2), two lessons. */
    recall_choose(o, 5, 3, l, &nl, c, &nc);
    assert_int_equal(nc, 1);
    assert_int_equal(c[0], 0);
    assert_int_equal(nl, 2);
    /* Room for 1: a lesson, no code. */
    recall_choose(o, 5, 1, l, &nl, c, &nc);
    assert_int_equal(nc, 0);
    assert_int_equal(nl, 1);
    assert_int_equal(l[0], 0);

    /* Code must also be near the best: 0.4 < half of 0.9. */
    const struct recall_offer far[] = {
        { 0.90, 0.90, 0, 0 },
        { 0.40, 0.40, 0, 1 },
    };
    recall_choose(far, 2, 4, l, &nl, c, &nc);
    assert_int_equal(nc, 0);
    assert_int_equal(nl, 0);

    recall_choose(o, 0, 4, l, &nl, c, &nc);
    assert_int_equal(nl + nc, 0);
    recall_choose(o, 5, 0, l, &nl, c, &nc);
    assert_int_equal(nl + nc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_words_cap_and_long),
        cmocka_unit_test(test_skills),
        cmocka_unit_test(test_stopwords),
        cmocka_unit_test(test_bm25),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_choose),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
