/*
 * Unsafe libc calls, banned at compile time (as git's banned.h does). Included last by base.h so
 * every Tessera source file sees it. Use snprintf, memcpy with explicit sizes, strtol/strtoull with
 * end checks, and strtok_r-free parsing instead.
 */
#ifndef TS_BASE_BANNED_H
#define TS_BASE_BANNED_H

#define TS_BANNED(func) sorry_##func##_is_banned_in_tessera

#undef strcpy
#define strcpy(x, y) TS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) TS_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) TS_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) TS_BANNED(strncat)
#undef sprintf
#define sprintf(...) TS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) TS_BANNED(strtok)
#undef atoi
#define atoi(x) TS_BANNED(atoi)
#undef atol
#define atol(x) TS_BANNED(atol)
#undef gets
#define gets(x) TS_BANNED(gets)

#endif
