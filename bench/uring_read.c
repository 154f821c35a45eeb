// uring_read.c: how much batching the open/read/close of many small files
// through io_uring would save over one system call each, on this machine —
// the question left open for loading prescription trees (BENCHMARKS.md,
// "Loading prescriptions"). Not part of seshat; C with liburing, written to
// decide whether a Go io_uring reader was worth writing. It was: seshat's is
// internal/uring, which does the same per batch without liburing.
//
//   apt-get install -y liburing-dev
//   find prescriptions/ -name '*.yaml' -type f > files.txt
//   gcc -O2 -o /tmp/uring_read bench/uring_read.c -luring && /tmp/uring_read 64
//
// Reads every file named in files.txt twice, single-threaded: open/read/close
// per file, then in batches of N files, each an openat into a direct
// descriptor linked to a read and a close, one io_uring_enter per batch.
#define _GNU_SOURCE
#include <liburing.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
	int batch = argc > 1 ? atoi(argv[1]) : 64;
	if (batch < 1 || batch > 64) {
		fprintf(stderr, "batch must be 1..64 (larger batches lost reads here)\n");
		return 2;
	}
	FILE *f = fopen("files.txt", "r");
	char **paths = malloc(sizeof(char *) * 70000);
	int n = 0; char line[4096];
	while (fgets(line, sizeof line, f)) { line[strcspn(line, "\n")] = 0; paths[n++] = strdup(line); }
	static char buf[64][65536];
	long total = 0;
	double t0 = now();
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		ssize_t r = read(fd, buf[0], sizeof buf[0]);
		close(fd);
		total += r;
	}
	printf("plain: %.3f s, %ld bytes\n", now() - t0, total);

	struct io_uring ring;
	if (io_uring_queue_init(batch * 3, &ring, 0) < 0) { perror("init"); return 1; }
	if (io_uring_register_files_sparse(&ring, batch) < 0) { perror("sparse"); return 1; }
	total = 0;
	t0 = now();
	for (int base = 0; base < n; base += batch) {
		int m = n - base < batch ? n - base : batch;
		for (int j = 0; j < m; j++) {
			struct io_uring_sqe *s = io_uring_get_sqe(&ring);
			io_uring_prep_openat_direct(s, AT_FDCWD, paths[base + j], O_RDONLY, 0, j);
			s->flags |= IOSQE_IO_LINK; s->user_data = 0;
			s = io_uring_get_sqe(&ring);
			io_uring_prep_read(s, j, buf[j], sizeof buf[j], 0);
			s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK; s->user_data = 1;
			s = io_uring_get_sqe(&ring);
			io_uring_prep_close_direct(s, j); s->user_data = 0;
		}
		io_uring_submit_and_wait(&ring, m * 3);
		struct io_uring_cqe *c; unsigned head, cnt = 0;
		io_uring_for_each_cqe(&ring, head, c) { if (c->user_data == 1 && c->res > 0) total += c->res; cnt++; }
		io_uring_cq_advance(&ring, cnt);
	}
	printf("io_uring batch %d: %.3f s, %ld bytes\n", batch, now() - t0, total);
	return 0;
}
