/* tagger.c -- keyword rules from a problem's text to the curriculum's skills.
 *
 * The text is first folded to lower-case words split on anything that is not
 * a letter or digit (so `is_palindrome(text: str)` reads "is palindrome text
 * str"), then each rule counts how often its keyword starts a word (a
 * keyword ending in '*' is a stem: "sort*" counts sort, sorted, sorting).
 * A rule adds its weight for each occurrence, at most twice, so that a
 * word repeated all over a long docstring cannot outvote everything else.
 * A skill needs MIN_SCORE to be given. Weights are 1 for words that only
 * hint ("list", "digit"), 2 for words that name the skill's matter
 * ("palindrome", "prime", "sorted"), 3 for words that all but settle it
 * ("recursive", "generator", "exception").
 */
#include "tagger.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SCORE  2    /* a skill needs at least this much evidence      */
#define MAX_COUNT  2    /* occurrences of one keyword that count          */

/* The skills in the curriculum's order, which also breaks ties. */
static const char *const SKILLS[] = {
    "strings", "lists", "dicts", "recursion", "sorting", "math", "parsing",
    "classes", "iterators", "error_handling",
};
#define NSKILLS (sizeof(SKILLS) / sizeof(SKILLS[0]))

enum { STRINGS, LISTS, DICTS, RECURSION, SORTING, MATH, PARSING, CLASSES,
       ITERATORS, ERRORS };

struct rule {
    int skill;
    const char *word;   /* lower case; may hold spaces; '*' at the end: stem */
    int weight;
};

static const struct rule RULES[] = {
    { STRINGS, "string*", 1 }, { STRINGS, "str", 1 },
    { STRINGS, "substring*", 2 }, { STRINGS, "character*", 1 },
    { STRINGS, "char", 1 }, { STRINGS, "chars", 1 },
    { STRINGS, "letter*", 1 }, { STRINGS, "vowel*", 2 },
    { STRINGS, "consonant*", 2 }, { STRINGS, "word", 1 },
    { STRINGS, "words", 1 }, { STRINGS, "palindrom*", 2 },
    { STRINGS, "uppercase", 2 }, { STRINGS, "lowercase", 2 },
    { STRINGS, "upper case", 2 }, { STRINGS, "lower case", 2 },
    { STRINGS, "prefix*", 1 }, { STRINGS, "suffix*", 1 },
    { STRINGS, "sentence*", 2 }, { STRINGS, "whitespace*", 1 },
    { STRINGS, "anagram*", 2 }, { STRINGS, "concatenat*", 1 },

    { LISTS, "list", 1 }, { LISTS, "lists", 1 }, { LISTS, "array*", 1 },
    { LISTS, "element*", 1 }, { LISTS, "sublist*", 2 },
    { LISTS, "index", 1 }, { LISTS, "indices", 1 }, { LISTS, "tuple*", 1 },
    { LISTS, "matrix", 1 }, { LISTS, "matrices", 1 },
    { LISTS, "duplicate*", 1 }, { LISTS, "flatten*", 1 },

    { DICTS, "dictionar*", 2 }, { DICTS, "dict", 2 }, { DICTS, "key", 1 },
    { DICTS, "keys", 1 }, { DICTS, "mapping*", 1 },
    { DICTS, "frequenc*", 1 }, { DICTS, "histogram", 2 },
    { DICTS, "occurrence*", 1 },

    { RECURSION, "recurs*", 3 }, { RECURSION, "fibonacci", 2 },
    { RECURSION, "fib", 2 }, { RECURSION, "fibfib", 2 },
    { RECURSION, "tribonacci", 2 }, { RECURSION, "factorial*", 2 },
    { RECURSION, "permutation*", 2 }, { RECURSION, "subset*", 2 },
    { RECURSION, "combination*", 1 }, { RECURSION, "tree*", 1 },
    { RECURSION, "hanoi", 2 }, { RECURSION, "backtrack*", 3 },

    { SORTING, "sort*", 2 }, { SORTING, "ascending", 2 },
    { SORTING, "descending", 2 }, { SORTING, "order", 1 },
    { SORTING, "ordered", 1 }, { SORTING, "median", 2 },
    { SORTING, "increasing", 1 }, { SORTING, "decreasing", 1 },

    { MATH, "prime*", 2 }, { MATH, "divisib*", 2 }, { MATH, "divisor*", 2 },
    { MATH, "gcd", 2 }, { MATH, "lcm", 2 }, { MATH, "common divisor", 2 },
    { MATH, "factor", 2 }, { MATH, "factors", 2 }, { MATH, "digit*", 1 },
    { MATH, "sum", 1 }, { MATH, "product", 1 }, { MATH, "integer*", 1 },
    { MATH, "square*", 1 }, { MATH, "cube*", 1 }, { MATH, "root*", 1 },
    { MATH, "power*", 1 }, { MATH, "modulo", 2 }, { MATH, "mod", 1 },
    { MATH, "even", 1 }, { MATH, "odd", 1 }, { MATH, "decimal*", 1 },
    { MATH, "binary", 1 }, { MATH, "base", 1 }, { MATH, "fraction*", 1 },
    { MATH, "average", 1 }, { MATH, "mean", 1 }, { MATH, "triangle*", 2 },
    { MATH, "area", 2 }, { MATH, "perimeter", 2 }, { MATH, "circle", 2 },
    { MATH, "radius", 2 }, { MATH, "polynomial*", 2 },
    { MATH, "multiple*", 1 }, { MATH, "multiply", 1 }, { MATH, "float*", 1 },
    { MATH, "arithmetic", 1 }, { MATH, "geometric", 1 },

    { PARSING, "pars*", 3 }, { PARSING, "bracket*", 2 },
    { PARSING, "parenthes*", 2 }, { PARSING, "paren", 1 },
    { PARSING, "brace*", 1 }, { PARSING, "expression*", 2 },
    { PARSING, "evaluat*", 1 }, { PARSING, "format*", 1 },
    { PARSING, "roman", 2 }, { PARSING, "numeral*", 1 },
    { PARSING, "token*", 2 }, { PARSING, "json", 2 }, { PARSING, "csv", 2 },
    { PARSING, "regex", 2 }, { PARSING, "regular expression*", 2 },
    { PARSING, "encod*", 1 }, { PARSING, "decod*", 1 },
    { PARSING, "encrypt*", 1 }, { PARSING, "decrypt*", 1 },
    { PARSING, "cipher", 1 }, { PARSING, "date", 1 }, { PARSING, "dates", 1 },
    { PARSING, "delimit*", 1 }, { PARSING, "split*", 1 },
    { PARSING, "separat*", 1 },

    { CLASSES, "class", 2 }, { CLASSES, "classes", 2 },
    { CLASSES, "object*", 1 }, { CLASSES, "method*", 1 },
    { CLASSES, "instance*", 1 }, { CLASSES, "attribute*", 1 },
    { CLASSES, "constructor*", 2 }, { CLASSES, "inherit*", 2 },

    { ITERATORS, "generator*", 3 }, { ITERATORS, "iterator*", 3 },
    { ITERATORS, "iterable*", 2 }, { ITERATORS, "yield*", 2 },
    { ITERATORS, "lazy", 2 }, { ITERATORS, "lazily", 2 },
    { ITERATORS, "sliding", 2 }, { ITERATORS, "window*", 1 },
    { ITERATORS, "consecutive", 1 }, { ITERATORS, "pairwise", 2 },
    { ITERATORS, "itertools", 2 }, { ITERATORS, "chunk*", 1 },

    { ERRORS, "raise*", 2 }, { ERRORS, "exception*", 3 },
    { ERRORS, "error", 1 }, { ERRORS, "errors", 1 },
    { ERRORS, "valueerror", 3 }, { ERRORS, "typeerror", 3 },
    { ERRORS, "keyerror", 3 }, { ERRORS, "invalid", 1 },
};
#define NRULES (sizeof(RULES) / sizeof(RULES[0]))

static bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

/* Whether the line at p (up to its '\n') is an import statement. */
static bool import_line(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return strncmp(p, "from ", 5) == 0 || strncmp(p, "import ", 7) == 0;
}

/* " word word ... word " in lower case, or NULL on ENOMEM. */
static char *fold(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 3), *q = out;
    bool at_line = true;

    if (!out)
        return NULL;
    *q++ = ' ';
    for (const char *p = text; *p; p++) {
        if (at_line && import_line(p)) {
            const char *nl = strchr(p, '\n');
            if (!nl)
                break;
            p = nl;
        }
        at_line = *p == '\n';
        unsigned char c = (unsigned char)*p;
        if (alnum(c))
            *q++ = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        else if (q[-1] != ' ')
            *q++ = ' ';
    }
    if (q[-1] != ' ')
        *q++ = ' ';
    *q = '\0';
    return out;
}

/* How often rule r's keyword starts a word of the folded text, at most
 * MAX_COUNT. */
static int count(const char *folded, const char *word)
{
    size_t n = strlen(word);
    bool stem = n && word[n - 1] == '*';
    char pat[64];
    int hits = 0;

    if (stem)
        n--;
    if (n + 2 >= sizeof(pat))
        return 0;
    pat[0] = ' ';
    memcpy(pat + 1, word, n);
    pat[n + 1] = stem ? '\0' : ' ';
    pat[n + 2] = '\0';
    for (const char *p = folded; (p = strstr(p, pat)); p += n + 1)
        if (++hits == MAX_COUNT)
            break;
    return hits;
}

size_t tagger_tag(const char *text, const char **out, size_t max)
{
    int score[NSKILLS] = { 0 };
    bool taken[NSKILLS] = { false };
    char *folded;
    size_t k = 0;

    if (!text || max == 0 || !(folded = fold(text)))
        return 0;
    for (size_t i = 0; i < NRULES; i++)
        score[RULES[i].skill] += RULES[i].weight * count(folded,
                                                         RULES[i].word);
    free(folded);
    while (k < max) {
        size_t best = NSKILLS;
        for (size_t s = 0; s < NSKILLS; s++)
            if (!taken[s] && score[s] >= MIN_SCORE &&
                (best == NSKILLS || score[s] > score[best]))
                best = s;
        if (best == NSKILLS)
            break;
        taken[best] = true;
        out[k++] = SKILLS[best];
    }
    return k;
}
