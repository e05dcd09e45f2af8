/*
 * Replay driver for libFuzzer targets when clang's fuzzer runtime is not used: runs
 * LLVMFuzzerTestOneInput on every file of the corpus directory given as argv[1], plus a fixed set
 * of generated inputs (empty, all-zero, all-0xff, pseudo-random of several lengths) so a target
 * with an empty corpus still executes. Under ASan+UBSan this turns each corpus into a test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_FILE_MAX (1u << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_FILE_MAX);
    size_t n = buf ? fread(buf, 1, REPLAY_FILE_MAX, f) : 0;
    fclose(f);
    if (buf == NULL) {
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static void replay_generated(void)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 7, 16, 33, 64, 255, 256, 1000, 4096};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *buf = malloc(n + 1);
        memset(buf, 0, n + 1);
        LLVMFuzzerTestOneInput(buf, n);
        memset(buf, 0xff, n + 1);
        LLVMFuzzerTestOneInput(buf, n);
        for (int round = 0; round < 8; round++) {
            for (size_t j = 0; j < n; j++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[j] = (uint8_t)x;
            }
            LLVMFuzzerTestOneInput(buf, n);
        }
        free(buf);
    }
}

int main(int argc, char **argv)
{
    int files = 0;
    if (argc > 1) {
        DIR *d = opendir(argv[1]);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.') {
                    continue;
                }
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
                if (replay_file(path) == 0) {
                    files++;
                }
            }
            closedir(d);
        }
    }
    replay_generated();
    printf("replayed %d corpus files and the generated inputs\n", files);
    return 0;
}
