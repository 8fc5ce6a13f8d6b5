/* bt_err.h -- bt's one way to report a problem: "bt: " + message + "\n"
 * on stderr. Defined in bt.c; every file of bt uses it, so each message
 * looks the same. */
#ifndef BT_ERR_H
#define BT_ERR_H

void bt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says "bt: out of memory" and returns 1 (EXIT_FAIL). */
int bt_oom(void);

#endif /* BT_ERR_H */
