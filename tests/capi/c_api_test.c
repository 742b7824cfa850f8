/* The C API from a C11 program: open, topics, produce, read back every byte,
 * errors with messages, poll timeout and wake-up from another thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runnel/c.h"

static int passed = 0, failed = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      passed++;                                                       \
    } else {                                                          \
      failed++;                                                       \
      fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void* late_producer(void* arg) {
  usleep(100 * 1000);
  char* err = NULL;
  int64_t off = -1;
  runnel_produce((runnel_producer_t*)arg, 0, NULL, 0, "wake", 4, -1, &off, &err);
  free(err);
  return NULL;
}

int main(void) {
  char dir[] = "/tmp/runnel-capi-XXXXXX";
  if (!mkdtemp(dir)) return 2;
  char* err = NULL;
  runnel_t* db = runnel_open(dir, 1, &err);
  CHECK(db != NULL && err == NULL);
  if (!db) return 1;

  runnel_topic_config_t* cfg = runnel_topic_config_create();
  runnel_topic_config_set_partitions(cfg, 2);
  CHECK(runnel_topic_config_set_fsync(cfg, "sometimes", &err) == RUNNEL_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(err, "sometimes") != NULL);
  runnel_free(err);
  err = NULL;
  CHECK(runnel_topic_config_set_fsync(cfg, "always", &err) == RUNNEL_OK);
  CHECK(runnel_topic_create(db, "t", 1, cfg, &err) == RUNNEL_OK);
  CHECK(runnel_topic_create(db, "", 0, cfg, &err) == RUNNEL_INVALID_ARGUMENT && err != NULL);
  runnel_free(err);
  err = NULL;
  runnel_topic_config_destroy(cfg);
  CHECK(runnel_topic_partitions(db, "t", 1, &err) == 2);

  runnel_producer_t* p = runnel_producer_create(db, "t", 1, 0, &err);
  CHECK(p != NULL);
  const char binary[] = {'a', 0, (char)0xff, 'z'};
  int64_t off = -1;
  CHECK(runnel_produce(p, 1, "k", 1, binary, sizeof binary, 1234, &off, &err) == RUNNEL_OK);
  CHECK(off == 0);
  CHECK(runnel_produce(p, 1, NULL, 0, NULL, 0, -1, &off, &err) == RUNNEL_OK);  /* tombstone */
  CHECK(off == 1);
  const char* values[3] = {"x", "yy", "zzz"};
  size_t lens[3] = {1, 2, 3};
  int64_t base = -1;
  CHECK(runnel_produce_batch(p, 1, 3, NULL, NULL, values, lens, &base, &err) == RUNNEL_OK);
  CHECK(base == 2);

  runnel_reader_t* r = runnel_reader_create(db, "t", 1, 1, RUNNEL_START_EARLIEST, 0, &err);
  CHECK(r != NULL);
  runnel_read_batch_t* b = runnel_reader_read(r, 0, &err);
  CHECK(b != NULL && runnel_read_batch_count(b) == 5);
  size_t len = 0;
  const char* v = runnel_read_batch_value(b, 0, &len);
  CHECK(len == sizeof binary && memcmp(v, binary, len) == 0);
  CHECK(runnel_read_batch_timestamp(b, 0) == 1234);
  const char* k = runnel_read_batch_key(b, 0, &len);
  CHECK(len == 1 && k[0] == 'k');
  CHECK(runnel_read_batch_key(b, 1, &len) == NULL && runnel_read_batch_value(b, 1, &len) == NULL);
  v = runnel_read_batch_value(b, 4, &len);
  CHECK(runnel_read_batch_offset(b, 4) == 4 && len == 3 && memcmp(v, "zzz", 3) == 0);
  runnel_read_batch_destroy(b);
  CHECK(runnel_reader_position(r) == 5);

  double t0 = now_ms();
  CHECK(runnel_reader_poll(r, 100, &err) == 0);
  CHECK(now_ms() - t0 >= 90);

  runnel_reader_t* r0 = runnel_reader_create(db, "t", 1, 0, RUNNEL_START_LATEST, 0, &err);
  pthread_t th;
  pthread_create(&th, NULL, late_producer, p);
  CHECK(runnel_reader_poll(r0, 10000, &err) == 1);
  pthread_join(th, NULL);
  b = runnel_reader_read(r0, 0, &err);
  CHECK(b != NULL && runnel_read_batch_count(b) == 1);
  if (b) runnel_read_batch_destroy(b);
  runnel_reader_destroy(r0);

  CHECK(runnel_reader_create(db, "missing", 7, 0, RUNNEL_START_EARLIEST, 0, &err) == NULL);
  CHECK(err != NULL && strstr(err, "missing") != NULL);
  runnel_free(err);
  err = NULL;

  runnel_reader_destroy(r);
  runnel_producer_destroy(p);
  CHECK(runnel_steward_run(db, &err) == RUNNEL_OK);
  CHECK(runnel_topic_delete(db, "t", 1, &err) == RUNNEL_OK);
  CHECK(runnel_topic_partitions(db, "t", 1, &err) == -1 && err != NULL);
  runnel_free(err);
  runnel_close(db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
