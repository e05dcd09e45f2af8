/*
 * Internals shared by the files of core/macaroon (not part of the API): the parser builds a
 * macaroon from presented bytes without computing its chain, since only the satellite (holding
 * the secret) can check it.
 */
#ifndef TS_MACAROON_INTERNAL_H
#define TS_MACAROON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "macaroon/macaroon.h"

/* An empty macaroon with the given head and a zero tail. */
TS_WARN_UNUSED ts_err ts_macaroon_new_untrusted(const uint8_t head[TS_MACAROON_HEAD_SIZE],
                                                struct ts_macaroon **out);
/* Appends a caveat as presented, leaving the tail alone; the limits of add_caveat apply. */
TS_WARN_UNUSED ts_err ts_macaroon_add_caveat_untrusted(struct ts_macaroon *m, const uint8_t *caveat,
                                                       size_t len);
/* Sets the presented tail. */
void ts_macaroon_set_tail_untrusted(struct ts_macaroon *m,
                                    const uint8_t tail[TS_MACAROON_TAIL_SIZE]);

#endif
