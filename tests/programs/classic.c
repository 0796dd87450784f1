/* A stand-in for a student's program of the classic assignment, for testing `mpitorrent grade`:
 * every peer reads its in<R>.txt and writes client<R>_<file> for each file it wants, taking the
 * hashes straight from the owners' input files (all in the working folder) rather than from the
 * other ranks. Built four ways:
 *   (none)       correct outputs;
 *   -DWRONG      peer 1 writes one wrong hash in each output;
 *   -DHANG       with more than 10 files in the scenario, every rank waits forever;
 *   -DCRASH      peer 1 crashes;
 *   -DSPIN       correct, but peer 1 is slow, and the others wait for it in MPI_Barrier, which
 *                the default progress engines of Open MPI and MPICH busy-poll. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME 256
#define HASH 33

static int read_owned(const char *path, const char *want, char (**hashes)[HASH], int *count, int *files) {
    FILE *in = fopen(path, "r");
    if (!in) return 0;
    int owned = 0, found = 0;
    if (fscanf(in, "%d", &owned) != 1) owned = 0;
    for (int f = 0; f < owned; f++) {
        char name[NAME];
        int chunks = 0;
        if (fscanf(in, "%255s %d", name, &chunks) != 2) break;
        if (files) (*files)++;
        int match = want && strcmp(name, want) == 0 && !found;
        if (match) {
            *hashes = malloc(sizeof(**hashes) * (chunks ? chunks : 1));
            *count = chunks;
            found = 1;
        }
        for (int c = 0; c < chunks; c++) {
            char hash[HASH];
            if (fscanf(in, "%32s", hash) != 1) break;
            if (match) memcpy((*hashes)[c], hash, HASH);
        }
    }
    fclose(in);
    return found;
}

int main(int argc, char **argv) {
    int provided, rank, size;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
#ifdef HANG
    int files = 0;
    for (int r = 1; r < size; r++) {
        char path[NAME];
        snprintf(path, sizeof path, "in%d.txt", r);
        read_owned(path, NULL, NULL, NULL, &files);
    }
    /* Files owned by several peers are counted once per owner: an upper bound is enough here. */
    if (files > 10) {
        for (;;) pause();
    }
#endif
#ifdef CRASH
    if (rank == 1) abort();
#endif
#ifdef SPIN
    if (rank == 1) sleep(2);
#endif
    if (rank > 0) {
        char path[NAME];
        snprintf(path, sizeof path, "in%d.txt", rank);
        FILE *in = fopen(path, "r");
        int owned = 0;
        if (in && fscanf(in, "%d", &owned) == 1) {
            for (int f = 0; f < owned; f++) {
                char name[NAME];
                int chunks = 0;
                if (fscanf(in, "%255s %d", name, &chunks) != 2) break;
                for (int c = 0; c < chunks; c++) {
                    char hash[HASH];
                    if (fscanf(in, "%32s", hash) != 1) break;
                }
            }
            int wanted = 0;
            if (fscanf(in, "%d", &wanted) != 1) wanted = 0;
            for (int w = 0; w < wanted; w++) {
                char want[NAME];
                if (fscanf(in, "%255s", want) != 1) break;
                char (*hashes)[HASH] = NULL;
                int count = 0;
                for (int r = 1; r < size && !hashes; r++) {
                    char owner[NAME];
                    snprintf(owner, sizeof owner, "in%d.txt", r);
                    read_owned(owner, want, &hashes, &count, NULL);
                }
                char out[2 * NAME];
                snprintf(out, sizeof out, "client%d_%s", rank, want);
                FILE *o = fopen(out, "w");
                for (int c = 0; o && c < count; c++) {
#ifdef WRONG
                    if (rank == 1 && c == 0) hashes[c][0] = hashes[c][0] == '0' ? '1' : '0';
#endif
                    fprintf(o, "%s\n", hashes[c]);
                }
                if (o) fclose(o);
                free(hashes);
            }
        }
        if (in) fclose(in);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
