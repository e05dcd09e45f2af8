/* A small LRU of "this key chain is not revoked" verdicts keyed by a macaroon's final tail, so
 * repeated requests with one API key skip the per-tail revocation queries for a few seconds.
 * 4-way set-associative over a fixed table (no allocation, bounded memory), one mutex. A
 * revocation recorded through this process clears the whole table at once; one recorded by
 * another process sharing the database (an admin command, another API process) takes effect
 * here within the TTL. Only "not revoked" verdicts are cached. */
#include <pthread.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"

#define SETS 256
#define WAYS 4

struct entry {
    uint8_t tail[SAT_TAIL_SIZE];
    int64_t checked_at; /* 0 = empty */
    uint64_t used;      /* LRU clock */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry g_table[SETS][WAYS];
static uint64_t g_clock;
static int64_t g_ttl_s = SAT_REVOCATION_CACHE_TTL_S;

void sat_db_revocation_cache_set_ttl(int64_t ttl_s)
{
    pthread_mutex_lock(&g_mu);
    g_ttl_s = ttl_s < 0 ? 0 : ttl_s;
    memset(g_table, 0, sizeof g_table);
    pthread_mutex_unlock(&g_mu);
}

void sat_db_revocation_cache_clear(void)
{
    pthread_mutex_lock(&g_mu);
    memset(g_table, 0, sizeof g_table);
    pthread_mutex_unlock(&g_mu);
}

/* Tails are HMAC outputs: their first byte is as good as any hash. */
static struct entry *set_of(const uint8_t tail[SAT_TAIL_SIZE])
{
    return g_table[tail[0] % SETS];
}

bool sat_db_revocation_cache_hit(const uint8_t tail[SAT_TAIL_SIZE], int64_t now_s)
{
    bool hit = false;
    pthread_mutex_lock(&g_mu);
    struct entry *set = set_of(tail);
    for (int i = 0; i < WAYS && g_ttl_s > 0; i++) {
        if (set[i].checked_at != 0 && memcmp(set[i].tail, tail, SAT_TAIL_SIZE) == 0) {
            hit = now_s >= set[i].checked_at && now_s - set[i].checked_at < g_ttl_s;
            set[i].used = ++g_clock;
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return hit;
}

void sat_db_revocation_cache_store(const uint8_t tail[SAT_TAIL_SIZE], int64_t now_s)
{
    pthread_mutex_lock(&g_mu);
    struct entry *set = set_of(tail);
    struct entry *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].checked_at != 0 && memcmp(set[i].tail, tail, SAT_TAIL_SIZE) == 0) {
            victim = &set[i];
            break;
        }
        if (set[i].used < victim->used) {
            victim = &set[i];
        }
    }
    if (g_ttl_s > 0) {
        memcpy(victim->tail, tail, SAT_TAIL_SIZE);
        victim->checked_at = now_s;
        victim->used = ++g_clock;
    }
    pthread_mutex_unlock(&g_mu);
}
