/*
 * Sequential read bandwidth probe: every OpenMP thread sums its own slice of one buffer far larger than the
 * last-level cache, several passes per trial. Compiled by the harness with gcc -O3 -march=native -fopenmp so
 * that the loop is vectorised the way the fastest decode kernels read weights.
 *
 * Usage: bandwidth THREADS MEGABYTES PASSES TRIALS
 * Prints one line per measured trial ("TRIAL gb_per_s") after one unmeasured trial that touches the pages.
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: bandwidth THREADS MEGABYTES PASSES TRIALS\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    long mb = atol(argv[2]);
    int passes = atoi(argv[3]);
    int trials = atoi(argv[4]);
    if (threads < 1 || mb < 1 || passes < 1 || trials < 1) {
        fprintf(stderr, "all arguments must be positive\n");
        return 2;
    }
    size_t n = (size_t) mb * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *a = NULL;
    if (posix_memalign((void **) &a, 64, n * sizeof(uint64_t)) != 0) {
        fprintf(stderr, "cannot allocate %ld MB\n", mb);
        return 1;
    }
    omp_set_num_threads(threads);
    /* First touch by the thread that later reads the page. */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = i;
    }
    uint64_t sink = 0;
    for (int t = 0; t <= trials; t++) {
        double start = now_s();
        uint64_t total = 0;
        for (int p = 0; p < passes; p++) {
            uint64_t s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
            for (size_t i = 0; i < n; i++) {
                s += a[i];
            }
            total += s;
        }
        double seconds = now_s() - start;
        sink += total;
        if (t > 0) {
            printf("TRIAL %.4f\n", (double) n * sizeof(uint64_t) * passes / seconds / 1e9);
        }
    }
    printf("CHECKSUM %llu\n", (unsigned long long) sink);
    free(a);
    return 0;
}
