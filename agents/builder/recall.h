/* recall.h -- how close a past task is to a new one: words, BM25, choice.
 *
 * Pure: no store, no I/O. memory.c feeds it the store's text index (see
 * store.h, "Text index") and shows what it picks; docs/builder.md
 * ("Relevant memory") explains the ranking with its constants.
 *
 * Words. A text becomes a bag of terms: runs of letters and digits (bytes
 * >= 0x80 count as letters, so UTF-8 words stay whole), split at
 * snake_case underscores and camelCase humps, lowercased (ASCII), cut to
 * RECALL_TERM_MAX bytes; terms of one byte and stopwords (English function
 * words, and the keywords every test is full of: assert, def, return, ...)
 * are dropped; a plural "s" / "ies" is folded ("lists" -> "list",
 * "entries" -> "entry"). A skill becomes one term "#skill": the tokenizer
 * never makes a term that starts with '#', so skills and words never meet.
 *
 * Ranking. score(d) = bm25(q, d) / W + RECALL_SKILL_BOOST * s(d) / |S|
 * where bm25 is Okapi BM25 (k1 = RECALL_K1, b = RECALL_B, idf =
 * ln(1 + (N - df + 0.5) / (df + 0.5))) over the query's words, W the sum of
 * the idf of all the query's words, those no task holds included (so a
 * document matching every word once at average length scores about 1
 * whatever the query's length, and one matching a word or two of a query
 * that is mostly new scores little), s(d) the query's skills d shares and
 * |S| the query's skills. A document is recalled only if it shares at
 * least RECALL_MIN_WORDS distinct words with the query (fewer if the query
 * has fewer) and scores at least RECALL_MIN_SCORE: a skill alone, or one
 * common word, never recalls a task.
 *
 * Threads: everything here is re-entrant; a struct is used by one thread.
 */
#ifndef BT_RECALL_H
#define BT_RECALL_H

#include <stddef.h>
#include <stdint.h>

#define RECALL_TERM_MAX     32      /* bytes of a term; longer ones are cut */
#define RECALL_DOC_TERMS    256     /* distinct words indexed per task      */
#define RECALL_QUERY_TERMS  64      /* distinct words of a query            */
#define RECALL_SKILLS_MAX   16      /* skills of a task or a query          */
#define RECALL_K1           1.2     /* BM25 term-frequency saturation       */
#define RECALL_B            0.75    /* BM25 length normalisation            */
#define RECALL_SKILL_BOOST  0.15    /* score of sharing all the skills      */
#define RECALL_MIN_SCORE    0.10    /* below: not recalled at all           */
#define RECALL_MIN_WORDS    2       /* distinct query words a task must hold */
#define RECALL_CODE_SCORE   0.35    /* words alone must reach this for code */
#define RECALL_CODE_SHARE   0.5     /* ... and the score this share of the
                                       best candidate's                     */
#define RECALL_CODE_MAX     2       /* solved code shown, at most           */

/* One term of a bag: the text (NUL-ended) and how often it occurs. */
struct recall_term {
    char text[RECALL_TERM_MAX + 2];     /* room for '#' and the NUL         */
    uint32_t tf;
    int skill;                          /* 1: a "#skill" term               */
};

/* A bag of terms with a cap on distinct words. */
struct recall_bag {
    struct recall_term *terms;      /* in order of first occurrence        */
    size_t n;                       /* distinct terms (words and skills)   */
    size_t nwords;                  /* of which words                      */
    size_t max_words;               /* cap on distinct words               */
    uint32_t length;                /* words counted, also those past the
                                       cap: the document's length          */
    uint32_t *slots;                /* hash: index + 1 into terms, 0 free  */
    size_t nslots;                  /* a power of two                      */
};

/* Prepares an empty bag holding up to max_words distinct words and
 * RECALL_SKILLS_MAX skills. Returns 0 or -ENOMEM (then the bag is empty
 * and recall_bag_free is still safe). */
int recall_bag_init(struct recall_bag *b, size_t max_words);

/* Adds the words of text (NULL: none). Words past the cap still count in
 * the length. Can't fail. */
void recall_bag_text(struct recall_bag *b, const char *text);

/* Adds a skill (once; NULL, empty or past RECALL_SKILLS_MAX: ignored).
 * Can't fail. */
void recall_bag_skill(struct recall_bag *b, const char *skill);

/* Frees the bag's storage. Accepts a zeroed or freed bag. */
void recall_bag_free(struct recall_bag *b);

/* Whether a lowercase word is a stopword. */
int recall_stopword(const char *word);

/* BM25's idf of a term held by df of docs documents (> 0 for df <= docs). */
double recall_idf(uint64_t docs, uint64_t df);

/* BM25's weight of a term with frequency tf in a document of length len,
 * the mean length being avglen. */
double recall_bm25(double idf, uint32_t tf, uint32_t len, double avglen);

/* A candidate document and what the query's terms gave it. */
struct recall_cand {
    uint64_t doc;                   /* the task id                         */
    double words;                   /* sum of bm25 over shared words       */
    unsigned nwords;                /* distinct query words it holds       */
    unsigned skills;                /* query skills it shares              */
    double score;                   /* set by recall_scores_rank           */
};

/* Candidates, accumulated term by term. */
struct recall_scores {
    struct recall_cand *c;
    size_t n, cap;
    uint32_t *slots;                /* hash: index + 1 into c, 0 free      */
    size_t nslots;
};

/* Prepares for up to cap distinct documents. 0 or -ENOMEM. */
int recall_scores_init(struct recall_scores *s, size_t cap);

/* Adds a word's weight (skill 0) or one shared skill (skill 1) to doc;
 * call it once per distinct query term and document.
 * Returns 0, or -ENOSPC past the capacity (the document is then left
 * out: the caller sized the table for every posting it reads). */
int recall_scores_add(struct recall_scores *s, uint64_t doc, double weight,
                      int skill);

/* Computes each score (see the top of this file; idf_sum is W, nwords the
 * query's distinct words, nskills |S|), drops document 'self' and the
 * candidates under RECALL_MIN_SCORE or sharing fewer than
 * min(RECALL_MIN_WORDS, nwords) words, and sorts the rest best first
 * (ties: the newer, higher id, first). */
void recall_scores_rank(struct recall_scores *s, double idf_sum,
                        size_t nwords, size_t nskills, uint64_t self);

void recall_scores_free(struct recall_scores *s);

/* What is known of a ranked candidate when choosing what to show. */
struct recall_offer {
    double score;                   /* its ranking score                   */
    double words;                   /* the word part: bm25 / W             */
    int has_lesson;                 /* its reflection has lessons          */
    int has_code;                   /* it passed, with archived code       */
};

/* Chooses, from candidates best first, the lessons and the code to show
 * in max_items: code only of candidates whose word part reaches
 * RECALL_CODE_SCORE and whose score is at least RECALL_CODE_SHARE of the
 * best one's, at most min(RECALL_CODE_MAX, max_items / 2) of them; then
 * lessons, best first, in the rest of max_items. Writes indexes into
 * lessons[] (*nl) and code[] (*nc), each with room for max_items. The
 * caller shows the lessons first, then the code: the prompt drops items
 * from the end when its budget is short, and code is the long part. */
void recall_choose(const struct recall_offer *o, size_t n, size_t max_items,
                   size_t *lessons, size_t *nl, size_t *code, size_t *nc);

#endif /* BT_RECALL_H */
