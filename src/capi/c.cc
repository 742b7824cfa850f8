// Implements include/runnel/c.h over the C++ API. Every entry point catches
// everything: no exception crosses into C.
#include "runnel/c.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runnel/log.h"

using runnel::Log;
using runnel::Status;

struct runnel_t {
  std::unique_ptr<Log> log;
};
struct runnel_topic_config_t {
  runnel::TopicConfig config;
};
struct runnel_producer_t {
  std::unique_ptr<runnel::Producer> producer;
};
struct runnel_reader_t {
  std::unique_ptr<runnel::Reader> reader;
};
struct runnel_read_batch_t {
  runnel::ReadBatch batch;
};

namespace {

void SetError(char** errptr, const std::string& message) {
  if (!errptr) return;
  std::free(*errptr);
  *errptr = static_cast<char*>(std::malloc(message.size() + 1));
  if (*errptr) std::memcpy(*errptr, message.c_str(), message.size() + 1);
}

int Fail(char** errptr, const Status& st) {
  SetError(errptr, st.ToString());
  return static_cast<int>(st.code());
}

int Check(char** errptr, const Status& st) { return st.ok() ? RUNNEL_OK : Fail(errptr, st); }

int Crashed(char** errptr) {
  SetError(errptr, "internal error (exception)");
  return RUNNEL_IO_ERROR;
}

std::string_view View(const char* p, size_t n) { return std::string_view(p ? p : "", n); }

runnel::StartPosition Start(int kind, int64_t value) {
  switch (kind) {
    case RUNNEL_START_LATEST:
      return runnel::StartPosition::Latest();
    case RUNNEL_START_OFFSET:
      return runnel::StartPosition::Offset(value);
    case RUNNEL_START_TIMESTAMP:
      return runnel::StartPosition::Timestamp(value);
    default:
      return runnel::StartPosition::Earliest();
  }
}

const char* Bytes(const std::optional<std::string_view>& v, size_t* len) {
  if (len) *len = v ? v->size() : 0;
  return v ? v->data() : nullptr;
}

}  // namespace

extern "C" {

const char* runnel_version(void) { return "0.1.0"; }
void runnel_free(void* ptr) { std::free(ptr); }

runnel_t* runnel_open(const char* dir, int create_if_missing, char** errptr) try {
  runnel::Options options;
  options.create_if_missing = create_if_missing != 0;
  auto log = Log::Open(dir ? dir : "", options);
  if (!log.ok()) {
    Fail(errptr, log.status());
    return nullptr;
  }
  return new runnel_t{std::move(*log)};
} catch (...) {
  Crashed(errptr);
  return nullptr;
}

void runnel_close(runnel_t* db) { delete db; }

runnel_topic_config_t* runnel_topic_config_create(void) { return new runnel_topic_config_t; }
void runnel_topic_config_destroy(runnel_topic_config_t* c) { delete c; }
void runnel_topic_config_set_partitions(runnel_topic_config_t* c, int32_t n) {
  c->config.partitions = n;
}
void runnel_topic_config_set_retention_ms(runnel_topic_config_t* c, int64_t ms) {
  c->config.retention_ms = ms;
}
void runnel_topic_config_set_retention_bytes(runnel_topic_config_t* c, int64_t bytes) {
  c->config.retention_bytes = bytes;
}
void runnel_topic_config_set_compact(runnel_topic_config_t* c, int compact) {
  c->config.compact = compact != 0;
}
void runnel_topic_config_set_max_message_bytes(runnel_topic_config_t* c, int32_t bytes) {
  c->config.max_message_bytes = bytes;
}
void runnel_topic_config_set_segment_bytes(runnel_topic_config_t* c, int64_t bytes) {
  c->config.segment_bytes = bytes;
}
int runnel_topic_config_set_fsync(runnel_topic_config_t* c, const char* policy,
                                  char** errptr) try {
  auto spec = runnel::FsyncSpec::Parse(policy ? policy : "");
  if (!spec.ok()) return Fail(errptr, spec.status());
  c->config.fsync = *spec;
  return RUNNEL_OK;
} catch (...) {
  return Crashed(errptr);
}

int runnel_topic_create(runnel_t* db, const char* name, size_t namelen,
                        const runnel_topic_config_t* config, char** errptr) try {
  runnel::TopicConfig c = config ? config->config : runnel::TopicConfig{};
  return Check(errptr, db->log->CreateTopic(View(name, namelen), c));
} catch (...) {
  return Crashed(errptr);
}

int runnel_topic_delete(runnel_t* db, const char* name, size_t namelen, char** errptr) try {
  return Check(errptr, db->log->DeleteTopic(View(name, namelen)));
} catch (...) {
  return Crashed(errptr);
}

int32_t runnel_topic_partitions(runnel_t* db, const char* name, size_t namelen,
                                char** errptr) try {
  auto info = db->log->DescribeTopic(View(name, namelen));
  if (!info.ok()) {
    Fail(errptr, info.status());
    return -1;
  }
  return info->config.partitions;
} catch (...) {
  Crashed(errptr);
  return -1;
}

int runnel_partition_offsets(runnel_t* db, const char* name, size_t namelen, int32_t partition,
                             int64_t* start, int64_t* end, char** errptr) try {
  auto info = db->log->DescribeTopic(View(name, namelen));
  if (!info.ok()) return Fail(errptr, info.status());
  if (partition < 0 || static_cast<size_t>(partition) >= info->partitions.size()) {
    return Fail(errptr, Status::NotFound("no partition " + std::to_string(partition)));
  }
  if (start) *start = info->partitions[partition].start_offset;
  if (end) *end = info->partitions[partition].end_offset;
  return RUNNEL_OK;
} catch (...) {
  return Crashed(errptr);
}

runnel_producer_t* runnel_producer_create(runnel_t* db, const char* topic, size_t topiclen,
                                          int auto_create, char** errptr) try {
  auto p = db->log->NewProducer(View(topic, topiclen), auto_create != 0);
  if (!p.ok()) {
    Fail(errptr, p.status());
    return nullptr;
  }
  return new runnel_producer_t{std::move(*p)};
} catch (...) {
  Crashed(errptr);
  return nullptr;
}

void runnel_producer_destroy(runnel_producer_t* p) {
  if (!p) return;
  try {
    (void)p->producer->Flush();
  } catch (...) {
  }
  delete p;
}

int runnel_produce(runnel_producer_t* p, int32_t partition, const char* key, size_t keylen,
                   const char* value, size_t valuelen, int64_t timestamp_ms, int64_t* offset,
                   char** errptr) try {
  runnel::RecordView r;
  if (key) r.key = std::string_view(key, keylen);
  if (value) r.value = std::string_view(value, valuelen);
  r.timestamp_ms = timestamp_ms;
  auto o = p->producer->Append(partition, r);
  if (!o.ok()) return Fail(errptr, o.status());
  if (offset) *offset = *o;
  return RUNNEL_OK;
} catch (...) {
  return Crashed(errptr);
}

int runnel_produce_batch(runnel_producer_t* p, int32_t partition, size_t n,
                         const char* const* keys, const size_t* keylens,
                         const char* const* values, const size_t* valuelens,
                         int64_t* base_offset, char** errptr) try {
  std::vector<runnel::RecordView> records(n);
  for (size_t i = 0; i < n; ++i) {
    if (keys && keys[i]) records[i].key = std::string_view(keys[i], keylens[i]);
    if (values && values[i]) records[i].value = std::string_view(values[i], valuelens[i]);
  }
  auto o = p->producer->Append(partition, records);
  if (!o.ok()) return Fail(errptr, o.status());
  if (base_offset) *base_offset = *o;
  return RUNNEL_OK;
} catch (...) {
  return Crashed(errptr);
}

runnel_reader_t* runnel_reader_create(runnel_t* db, const char* topic, size_t topiclen,
                                      int32_t partition, int start_kind, int64_t start_value,
                                      char** errptr) try {
  auto r = db->log->NewReader(View(topic, topiclen), partition, Start(start_kind, start_value));
  if (!r.ok()) {
    Fail(errptr, r.status());
    return nullptr;
  }
  return new runnel_reader_t{std::move(*r)};
} catch (...) {
  Crashed(errptr);
  return nullptr;
}

void runnel_reader_destroy(runnel_reader_t* r) { delete r; }

runnel_read_batch_t* runnel_reader_read(runnel_reader_t* r, size_t max_bytes,
                                        char** errptr) try {
  auto b = std::make_unique<runnel_read_batch_t>();
  Status st = r->reader->ReadInto(&b->batch, max_bytes ? max_bytes : (1 << 20));
  if (!st.ok()) {
    Fail(errptr, st);
    return nullptr;
  }
  return b.release();
} catch (...) {
  Crashed(errptr);
  return nullptr;
}

int runnel_reader_poll(runnel_reader_t* r, int64_t timeout_ms, char** errptr) try {
  Status st = r->reader->Poll(std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms));
  if (st.ok()) return 1;
  if (st.Is(runnel::StatusCode::kTimedOut)) return 0;
  Fail(errptr, st);
  return -1;
} catch (...) {
  Crashed(errptr);
  return -1;
}

int64_t runnel_reader_position(const runnel_reader_t* r) { return r->reader->position(); }

int runnel_reader_seek(runnel_reader_t* r, int start_kind, int64_t start_value,
                       char** errptr) try {
  return Check(errptr, r->reader->Seek(Start(start_kind, start_value)));
} catch (...) {
  return Crashed(errptr);
}

size_t runnel_read_batch_count(const runnel_read_batch_t* b) { return b->batch.size(); }
int64_t runnel_read_batch_offset(const runnel_read_batch_t* b, size_t i) {
  return b->batch[i].offset;
}
int64_t runnel_read_batch_timestamp(const runnel_read_batch_t* b, size_t i) {
  return b->batch[i].timestamp_ms;
}
const char* runnel_read_batch_key(const runnel_read_batch_t* b, size_t i, size_t* len) {
  return Bytes(b->batch[i].key, len);
}
const char* runnel_read_batch_value(const runnel_read_batch_t* b, size_t i, size_t* len) {
  return Bytes(b->batch[i].value, len);
}
size_t runnel_read_batch_header_count(const runnel_read_batch_t* b, size_t i) {
  return b->batch[i].headers.size();
}
const char* runnel_read_batch_header_key(const runnel_read_batch_t* b, size_t i, size_t h,
                                         size_t* len) {
  std::string_view k = b->batch[i].headers[h].key;
  if (len) *len = k.size();
  return k.data();
}
const char* runnel_read_batch_header_value(const runnel_read_batch_t* b, size_t i, size_t h,
                                           size_t* len) {
  return Bytes(b->batch[i].headers[h].value, len);
}
void runnel_read_batch_destroy(runnel_read_batch_t* b) { delete b; }

int runnel_steward_run(runnel_t* db, char** errptr) try {
  return Check(errptr, db->log->RunSteward());
} catch (...) {
  return Crashed(errptr);
}

}  // extern "C"
