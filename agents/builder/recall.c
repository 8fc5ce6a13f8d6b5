/* recall.c -- how close a past task is to a new one: words, BM25, choice.
 *
 * See recall.h for the rules. Both hash tables here are open addressing
 * with linear probing, sized once to twice their capacity, so an insert
 * never rehashes and a probe ends at the first free slot.
 */
#include "recall.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- words ------------------------------------------------------------------ */

/* Sorted, for bsearch. Function words carry no topic; the keywords and
 * helper names below are in nearly every test and solution, so they would
 * only add cost. */
static const char *const stopwords[] = {
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as",
    "assert", "at", "be", "been", "but", "by", "can", "def", "do", "does",
    "each", "echo", "elif", "else", "end", "expected", "false", "fi", "for",
    "from", "function", "given", "has", "have", "if", "import", "in",
    "include", "int", "into", "is", "it", "its", "main", "must", "none",
    "not", "null", "of", "on", "one", "or", "print", "printf", "program",
    "return", "returns", "self", "should", "so", "such", "test", "tests",
    "than", "that", "the", "their", "then", "there", "these", "this", "to",
    "true", "use", "using", "void", "was", "when", "which", "while", "will",
    "with", "write", "you", "your",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int recall_stopword(const char *word)
{
    return bsearch(word, stopwords, sizeof stopwords / sizeof stopwords[0],
                   sizeof stopwords[0], cmp_word) != NULL;
}

static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_word(unsigned char c)
{
    return is_lower(c) || is_upper(c) || is_digit(c) || c >= 0x80;
}

static int ends(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n > k + 1 && memcmp(w + n - k, suffix, k) == 0;
}

/* Folds a plural ending in place: "entries" -> "entry", "classes" ->
 * "class", "boxes" -> "box", "matches" -> "match", "lists" -> "list";
 * "class", "status", "analysis" keep theirs. */
static void fold_plural(char *w, size_t *len)
{
    size_t n = *len;

    if (ends(w, n, "ies")) {
        strcpy(w + n - 3, "y");
        *len = n - 2;
    } else if (ends(w, n, "sses") || ends(w, n, "xes") ||
               ends(w, n, "ches") || ends(w, n, "shes")) {
        w[n - 2] = '\0';
        *len = n - 2;
    } else if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's' &&
               w[n - 2] != 'u' && w[n - 2] != 'i') {
        w[n - 1] = '\0';
        *len = n - 1;
    }
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;       /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int recall_bag_init(struct recall_bag *b, size_t max_words)
{
    size_t cap = max_words + RECALL_SKILLS_MAX, slots = 16;

    memset(b, 0, sizeof *b);
    while (slots < 2 * cap)
        slots *= 2;
    b->terms = calloc(cap, sizeof *b->terms);
    b->slots = calloc(slots, sizeof *b->slots);
    if (!b->terms || !b->slots) {
        recall_bag_free(b);
        return -ENOMEM;
    }
    b->nslots = slots;
    b->max_words = max_words;
    return 0;
}

void recall_bag_free(struct recall_bag *b)
{
    free(b->terms);
    free(b->slots);
    memset(b, 0, sizeof *b);
}

/* Counts one term; adds it if it is new and there is room. */
static void bag_put(struct recall_bag *b, const char *text, int skill)
{
    size_t mask = b->nslots - 1, i;

    if (!b->terms)
        return;
    for (i = hash_str(text) & mask; b->slots[i]; i = (i + 1) & mask) {
        struct recall_term *t = &b->terms[b->slots[i] - 1];
        if (strcmp(t->text, text) == 0) {
            if (t->tf < UINT32_MAX)
                t->tf++;
            return;
        }
    }
    if (skill ? b->n - b->nwords >= RECALL_SKILLS_MAX
              : b->nwords >= b->max_words)
        return;
    struct recall_term *t = &b->terms[b->n];
    strcpy(t->text, text);
    t->tf = 1;
    t->skill = skill;
    b->slots[i] = (uint32_t)++b->n;
    if (!skill)
        b->nwords++;
}

/* Takes one word of len bytes (not NUL-ended) through the rules. */
static void bag_word(struct recall_bag *b, const char *s, size_t len)
{
    char w[RECALL_TERM_MAX + 1];

    if (len > RECALL_TERM_MAX)
        len = RECALL_TERM_MAX;
    for (size_t i = 0; i < len; i++)
        w[i] = is_upper((unsigned char)s[i]) ? (char)(s[i] - 'A' + 'a')
                                             : s[i];
    w[len] = '\0';
    if (len < 2 || recall_stopword(w))
        return;
    fold_plural(w, &len);
    if (recall_stopword(w))             /* "uses" -> "use" */
        return;
    if (b->length < UINT32_MAX)
        b->length++;
    bag_put(b, w, 0);
}

void recall_bag_text(struct recall_bag *b, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;

    if (!text)
        return;
    while (*p) {
        const unsigned char *start;

        while (*p && !is_word(*p))
            p++;
        start = p;
        while (*p && is_word(*p)) {
            /* camelCase: a capital after a small letter or digit starts a
             * new word ("isPalindrome"); "HTTPServer" stays one. */
            if (p > start && is_upper(p[0]) &&
                (is_lower(p[-1]) || is_digit(p[-1]))) {
                bag_word(b, (const char *)start, (size_t)(p - start));
                start = p;
            }
            p++;
        }
        if (p > start)
            bag_word(b, (const char *)start, (size_t)(p - start));
    }
}

void recall_bag_skill(struct recall_bag *b, const char *skill)
{
    char t[RECALL_TERM_MAX + 2];
    size_t n;

    if (!skill || !*skill)
        return;
    n = strlen(skill);
    if (n > RECALL_TERM_MAX)
        n = RECALL_TERM_MAX;
    t[0] = '#';
    memcpy(t + 1, skill, n);
    t[n + 1] = '\0';
    bag_put(b, t, 1);
}

/* --- BM25 ------------------------------------------------------------------- */

double recall_idf(uint64_t docs, uint64_t df)
{
    if (df > docs)
        df = docs;
    return log(1.0 + ((double)(docs - df) + 0.5) / ((double)df + 0.5));
}

double recall_bm25(double idf, uint32_t tf, uint32_t len, double avglen)
{
    double norm = 1.0 - RECALL_B +
                  RECALL_B * (avglen > 0 ? (double)len / avglen : 1.0);

    return idf * (double)tf * (RECALL_K1 + 1.0) /
           ((double)tf + RECALL_K1 * norm);
}

static uint32_t hash_u64(uint64_t x)
{
    x ^= x >> 33;                   /* murmur3's finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

int recall_scores_init(struct recall_scores *s, size_t cap)
{
    size_t slots = 16;

    memset(s, 0, sizeof *s);
    while (slots < 2 * cap)
        slots *= 2;
    s->c = malloc((cap ? cap : 1) * sizeof *s->c);
    s->slots = calloc(slots, sizeof *s->slots);
    if (!s->c || !s->slots) {
        recall_scores_free(s);
        return -ENOMEM;
    }
    s->cap = cap;
    s->nslots = slots;
    return 0;
}

void recall_scores_free(struct recall_scores *s)
{
    free(s->c);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

int recall_scores_add(struct recall_scores *s, uint64_t doc, double weight,
                      int skill)
{
    size_t mask = s->nslots - 1, i;
    struct recall_cand *c;

    if (!s->slots)
        return -ENOSPC;
    for (i = hash_u64(doc) & mask; s->slots[i]; i = (i + 1) & mask)
        if (s->c[s->slots[i] - 1].doc == doc)
            break;
    if (s->slots[i]) {
        c = &s->c[s->slots[i] - 1];
    } else {
        if (s->n == s->cap)
            return -ENOSPC;
        c = &s->c[s->n];
        *c = (struct recall_cand){ .doc = doc };
        s->slots[i] = (uint32_t)++s->n;
    }
    if (skill) {
        c->skills++;
    } else {
        c->words += weight;
        c->nwords++;
    }
    return 0;
}

static int by_score(const void *a, const void *b)
{
    const struct recall_cand *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->doc < y->doc) - (x->doc > y->doc);
}

void recall_scores_rank(struct recall_scores *s, double idf_sum,
                        size_t nwords, size_t nskills, uint64_t self)
{
    size_t kept = 0;
    size_t min_words = nwords < RECALL_MIN_WORDS ? nwords : RECALL_MIN_WORDS;

    for (size_t i = 0; i < s->n; i++) {
        struct recall_cand c = s->c[i];

        c.score = (idf_sum > 0 ? c.words / idf_sum : 0) +
                  (nskills ? RECALL_SKILL_BOOST * (double)c.skills /
                                 (double)nskills
                           : 0);
        if (c.doc != self && c.score >= RECALL_MIN_SCORE &&
            c.nwords >= min_words && c.nwords > 0)
            s->c[kept++] = c;
    }
    s->n = kept;
    /* The slots point at entries that moved: nothing may be added now. */
    memset(s->slots, 0, s->nslots * sizeof *s->slots);
    s->cap = s->n;
    qsort(s->c, s->n, sizeof *s->c, by_score);
}

/* --- choice ------------------------------------------------------------------ */

void recall_choose(const struct recall_offer *o, size_t n, size_t max_items,
                   size_t *lessons, size_t *nl, size_t *code, size_t *nc)
{
    size_t code_max = max_items / 2;

    *nl = *nc = 0;
    if (n == 0 || max_items == 0)
        return;
    if (code_max > RECALL_CODE_MAX)
        code_max = RECALL_CODE_MAX;
    for (size_t i = 0; i < n && *nc < code_max; i++)
        if (o[i].has_code && o[i].words >= RECALL_CODE_SCORE &&
            o[i].score >= RECALL_CODE_SHARE * o[0].score)
            code[(*nc)++] = i;
    for (size_t i = 0; i < n && *nl + *nc < max_items; i++)
        if (o[i].has_lesson)
            lessons[(*nl)++] = i;
}
