/* The C API of librunnel, over the C++ API in runnel/log.h.
 *
 * Conventions:
 *  1. Objects are opaque handles (runnel_t, runnel_producer_t, ...), created by
 *     a *_open / *_create call and released by the matching *_close /
 *     *_destroy. Producers and readers must be destroyed before their log.
 *  2. Bytes are a pointer plus a length and may contain NUL. A NULL pointer
 *     for a key or value means "null" (a missing key, a tombstone).
 *  3. Every call that can fail takes `char** errptr`. On success *errptr is
 *     left alone; on failure it is set to a malloc'ed message naming what is
 *     at fault (a previous message there is freed first), and the call returns
 *     a non-zero RUNNEL_* code or NULL. Free messages with runnel_free.
 *  4. Strings and arrays returned to the caller are freed with runnel_free or
 *     the documented *_destroy call; views into a read batch stay valid until
 *     the batch is destroyed.
 *  5. Thread safety is that of the C++ API: a log and a producer may be used
 *     from any thread; a reader by one thread at a time.
 *  6. No C++ exception crosses this interface.
 */
#ifndef RUNNEL_C_H_
#define RUNNEL_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  RUNNEL_OK = 0,
  RUNNEL_NOT_FOUND,
  RUNNEL_ALREADY_EXISTS,
  RUNNEL_INVALID_ARGUMENT,
  RUNNEL_TOO_LARGE,
  RUNNEL_CORRUPTION,
  RUNNEL_IO_ERROR,
  RUNNEL_NO_SPACE,
  RUNNEL_READ_ONLY,
  RUNNEL_BUSY,
  RUNNEL_TIMED_OUT,
  RUNNEL_CLOSED,
  RUNNEL_NOT_SUPPORTED,
  RUNNEL_OUT_OF_RANGE,
};

enum { RUNNEL_START_EARLIEST = 0, RUNNEL_START_LATEST, RUNNEL_START_OFFSET, RUNNEL_START_TIMESTAMP };

typedef struct runnel_t runnel_t;
typedef struct runnel_topic_config_t runnel_topic_config_t;
typedef struct runnel_producer_t runnel_producer_t;
typedef struct runnel_reader_t runnel_reader_t;
typedef struct runnel_read_batch_t runnel_read_batch_t;

const char* runnel_version(void);
void runnel_free(void* ptr);

/* create_if_missing: non-zero creates the directory when needed. */
runnel_t* runnel_open(const char* dir, int create_if_missing, char** errptr);
void runnel_close(runnel_t* db);

runnel_topic_config_t* runnel_topic_config_create(void);
void runnel_topic_config_destroy(runnel_topic_config_t* c);
void runnel_topic_config_set_partitions(runnel_topic_config_t* c, int32_t n);
void runnel_topic_config_set_retention_ms(runnel_topic_config_t* c, int64_t ms);
void runnel_topic_config_set_retention_bytes(runnel_topic_config_t* c, int64_t bytes);
void runnel_topic_config_set_compact(runnel_topic_config_t* c, int compact);
void runnel_topic_config_set_max_message_bytes(runnel_topic_config_t* c, int32_t bytes);
void runnel_topic_config_set_segment_bytes(runnel_topic_config_t* c, int64_t bytes);
/* "always", "never" or "interval:MS". */
int runnel_topic_config_set_fsync(runnel_topic_config_t* c, const char* policy, char** errptr);

int runnel_topic_create(runnel_t* db, const char* name, size_t namelen,
                        const runnel_topic_config_t* config, char** errptr);
int runnel_topic_delete(runnel_t* db, const char* name, size_t namelen, char** errptr);
/* Number of partitions of a topic, or -1 with *errptr set. */
int32_t runnel_topic_partitions(runnel_t* db, const char* name, size_t namelen, char** errptr);
/* Offsets of one partition: first readable and next to be written. */
int runnel_partition_offsets(runnel_t* db, const char* name, size_t namelen, int32_t partition,
                             int64_t* start, int64_t* end, char** errptr);

/* auto_create: non-zero creates the topic with default settings. */
runnel_producer_t* runnel_producer_create(runnel_t* db, const char* topic, size_t topiclen,
                                          int auto_create, char** errptr);
void runnel_producer_destroy(runnel_producer_t* p);
/* Appends one record; *offset receives its offset once durable under the
 * topic's fsync policy. partition -1 picks one from the key. timestamp_ms < 0
 * means now. */
int runnel_produce(runnel_producer_t* p, int32_t partition, const char* key, size_t keylen,
                   const char* value, size_t valuelen, int64_t timestamp_ms, int64_t* offset,
                   char** errptr);
/* Appends n records with consecutive offsets; *base_offset gets the first. */
int runnel_produce_batch(runnel_producer_t* p, int32_t partition, size_t n,
                         const char* const* keys, const size_t* keylens,
                         const char* const* values, const size_t* valuelens,
                         int64_t* base_offset, char** errptr);

runnel_reader_t* runnel_reader_create(runnel_t* db, const char* topic, size_t topiclen,
                                      int32_t partition, int start_kind, int64_t start_value,
                                      char** errptr);
void runnel_reader_destroy(runnel_reader_t* r);
/* The records available now (up to about max_bytes); a batch of 0 records
 * means caught up. NULL with *errptr on error (a damaged range is reported
 * once and the reader moves past it). */
runnel_read_batch_t* runnel_reader_read(runnel_reader_t* r, size_t max_bytes, char** errptr);
/* 1 when data is ready, 0 on timeout, -1 with *errptr on error. */
int runnel_reader_poll(runnel_reader_t* r, int64_t timeout_ms, char** errptr);
int64_t runnel_reader_position(const runnel_reader_t* r);
int runnel_reader_seek(runnel_reader_t* r, int start_kind, int64_t start_value, char** errptr);

size_t runnel_read_batch_count(const runnel_read_batch_t* b);
int64_t runnel_read_batch_offset(const runnel_read_batch_t* b, size_t i);
int64_t runnel_read_batch_timestamp(const runnel_read_batch_t* b, size_t i);
/* NULL (and *len 0) for a null key/value. */
const char* runnel_read_batch_key(const runnel_read_batch_t* b, size_t i, size_t* len);
const char* runnel_read_batch_value(const runnel_read_batch_t* b, size_t i, size_t* len);
size_t runnel_read_batch_header_count(const runnel_read_batch_t* b, size_t i);
const char* runnel_read_batch_header_key(const runnel_read_batch_t* b, size_t i, size_t h,
                                         size_t* len);
const char* runnel_read_batch_header_value(const runnel_read_batch_t* b, size_t i, size_t h,
                                           size_t* len);
void runnel_read_batch_destroy(runnel_read_batch_t* b);

/* Retention and compaction of every topic, once. */
int runnel_steward_run(runnel_t* db, char** errptr);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* RUNNEL_C_H_ */
