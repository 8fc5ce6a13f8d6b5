/* tagger.h -- the skills a benchmark problem's text suggests.
 *
 * bt import gives an imported problem the skills of the seed curriculum
 * (docs/curriculum.md: strings, lists, dicts, recursion, sorting, math,
 * parsing, classes, iterators, error_handling) that its own words point
 * to, so that its result lands in the skill map next to the Builder's other
 * work on that skill -- never the name of its set or benchmark.
 *
 * The rules are a fixed table of weighted keywords (docs/import.md lists
 * them): pure text work, no I/O, no global state, safe from any thread.
 */
#ifndef BT_TAGGER_H
#define BT_TAGGER_H

#include <stddef.h>

/* At most this many skills are given to one problem. */
#define TAGGER_MAX_SKILLS 3

/* Fills out[0..max) with the skills that 'text' suggests, the strongest
 * first (ties in the curriculum's order), and returns how many (0 when no
 * skill has enough evidence: a problem is better left untagged than put
 * under a wrong skill). The strings are static; never free them. Lines of
 * text that start with "from " or "import " are ignored (every typed
 * HumanEval prompt imports List). Never fails; NULL text gives 0. */
size_t tagger_tag(const char *text, const char **out, size_t max);

#endif /* BT_TAGGER_H */
