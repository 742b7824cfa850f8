#include "broker/streams/stream_store.h"

#include "broker/streams/log_start_mover.h"
#include "broker/streams/stream_store_internal.h"
#include "util/status_macros.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace runnel::broker::streams {

std::vector<std::string_view> MetaWords(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

bool ToI64(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool ToU64(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool ToId(std::string_view s, StreamId* id) {
  auto r = ParseStreamId(s, MissingSeq::kZero, false);
  if (!r) return false;
  *id = *r;
  return true;
}

Outcome StorageError(const Status& st) { return {StreamError::kStorage, st.message()}; }

}  // namespace

StreamStore::StreamStore(Log* log, const TopicRules* rules)
    : log_(log), rules_(rules), mover_(std::make_unique<LogStartMover>(log)) {
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

StreamStore::~StreamStore() {
  {
    std::lock_guard lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  timer_thread_.join();
  // Appends in flight hold their Stream; their producers finish here.
  decltype(streams_) streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_);
  }
  for (auto& [name, s] : streams) {
    std::unique_ptr<Producer> p;
    {
      std::lock_guard lock(s->mu);
      p = std::move(s->producer);
    }
    if (p) (void)p->Flush();
  }
  if (meta_) (void)meta_->Flush();
  mover_.reset();  // applies the raises the last meta commits asked for
}

Result<std::unique_ptr<StreamStore>> StreamStore::Open(Log* log, const TopicRules* rules) {
  std::unique_ptr<StreamStore> store(new StreamStore(log, rules));
  auto d = log->DescribeTopic(kMetaTopic);
  if (!d.ok()) {
    if (!d.status().Is(StatusCode::kNotFound)) return d.status();
    TopicConfig config;
    config.fsync.policy = FsyncPolicy::kAlways;  // rare, small writes
    Status st = log->CreateTopic(kMetaTopic, config);
    if (!st.ok() && !st.Is(StatusCode::kAlreadyExists)) return st;
  }
  // One steward pass first: every partition's writer loads, recomputing its
  // end from the log and publishing it (docs/format/hwm.md). Until a writer
  // has loaded, readers stop at the old hwm, and records the log holds past
  // it — fsynced by a process killed before it published them, or after a
  // power failure an hwm older than the log — would be missed by the meta
  // replay and by each stream's load scan (hidden as another writer's in
  // this run, entries again in the next, possibly out of ID order).
  Status tended = log->RunSteward();
  if (!tended.ok()) return tended;
  auto meta = log->NewProducer(kMetaTopic, /*auto_create=*/false);
  if (!meta.ok()) return meta.status();
  store->meta_ = std::move(*meta);
  Status st = store->ReplayMeta();
  if (!st.ok()) return st;
  auto topics = log->ListTopics();
  if (!topics.ok()) return topics.status();
  for (const TopicInfo& t : *topics) {
    if (!IsInternalTopic(t.name)) store->durable_.insert(t.name);
  }
  store->durable_count_ = store->durable_.size();
  return store;
}

Status StreamStore::ReplayMeta() {
  auto reader = log_->NewReader(kMetaTopic, 0, StartPosition::Earliest());
  if (!reader.ok()) return reader.status();
  ReadBatch batch;
  for (;;) {
    Status st = (*reader)->ReadInto(&batch);
    if (!st.ok()) return st;
    if (batch.empty()) break;
    for (const RecordView& r : batch.records()) {
      if (!r.key || !r.value) continue;
      const std::string name(*r.key);
      auto w = MetaWords(*r.value);
      if (w.size() < 2) continue;
      if (w[0] == "2" && IsGroupEvent(w[1])) {
        auto& gm = meta_state_[name];
        if (!gm) gm = std::make_unique<MetaState>();
        if (!ApplyGroupEvent(&gm->groups, w)) {
          return Status::Corruption("bad stream group event at offset " + std::to_string(r.offset));
        }
        continue;
      }
      if (w[0] != "1") {
        return Status::Corruption("stream meta event of unknown version '" + std::string(w[0]) +
                                  "' at offset " + std::to_string(r.offset));
      }
      auto& m = meta_state_[name];
      if (!m) m = std::make_unique<MetaState>();
      const std::string_view kind = w[1];
      bool good = true;
      if (kind == "R") {
        m = std::make_unique<MetaState>();
      } else if (kind == "D") {
        for (size_t i = 2; i + 1 < w.size(); i += 2) {
          int64_t off;
          StreamId id;
          if (!ToI64(w[i], &off) || !ToId(w[i + 1], &id)) {
            good = false;
            break;
          }
          m->deleted[off] = id;
          m->max_deleted = std::max(m->max_deleted, id);
        }
      } else if (kind == "T" && w.size() == 3) {
        int64_t start;
        good = ToI64(w[2], &start);
        if (good) m->start = std::max(m->start, start);
      } else if (kind == "S" && w.size() == 6) {
        good = ToId(w[2], &m->set_last) && ToU64(w[3], &m->set_added) &&
               ToId(w[4], &m->max_deleted) && ToI64(w[5], &m->set_end);
        m->has_set = good;
      } else {
        good = false;
      }
      if (!good) {
        return Status::Corruption("bad stream meta event at offset " + std::to_string(r.offset));
      }
    }
  }
  return Status::OK();
}

std::shared_ptr<StreamStore::Stream> StreamStore::Slot(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(key);
  if (it != streams_.end()) return it->second;
  auto s = std::make_shared<Stream>();
  s->name = std::string(key);
  streams_.emplace(s->name, s);
  return s;
}

Result<std::shared_ptr<StreamStore::Stream>> StreamStore::Get(std::string_view key, bool create) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<Stream> s = Slot(key);
    std::lock_guard lock(s->mu);
    if (s->dead) continue;  // deleted meanwhile: the map has its successor
    if (!s->loaded) {
      Status st = LoadLocked(*s, create);
      if (!st.ok()) return st;
    }
    if (!s->loaded) return std::shared_ptr<Stream>();
    return s;
  }
  return Status::Busy("stream deleted while being opened");
}

Status StreamStore::LoadLocked(Stream& s, bool create) {
  auto d = log_->DescribeTopic(s.name);
  if (!d.ok()) {
    if (!d.status().Is(StatusCode::kNotFound)) return d.status();
    if (!create) return Status::OK();  // missing: stays unloaded
    if (rules_) {
      // A stream is one partition whatever the rule says (Kafka topics may
      // have more; the store then uses partition 0).
      TopicConfig config = rules_->ConfigFor(s.name);
      config.partitions = 1;
      Status st = log_->CreateTopic(s.name, config);
      if (!st.ok() && !st.Is(StatusCode::kAlreadyExists)) return st;
    }
  }
  auto producer = log_->NewProducer(s.name, create);
  if (!producer.ok()) {
    if (producer.status().Is(StatusCode::kNotFound) && !create) return Status::OK();
    return producer.status();
  }
  // Described again now that this process has a writer: its first load
  // recomputes the end from the log and publishes it (docs/format/hwm.md).
  // The hwm read before may be older than the log — records fsynced by a
  // process killed before it published them, or an hwm older than the log
  // after a power failure — and records past it would otherwise be hidden
  // as another writer's in this run and come back as entries in the next.
  d = log_->DescribeTopic(s.name);
  if (!d.ok()) return d.status();
  const int64_t physical_start = d->partitions.empty() ? 0 : d->partitions[0].start_offset;
  const int64_t end = d->partitions.empty() ? 0 : d->partitions[0].end_offset;

  std::unique_ptr<MetaState> none;
  const MetaState* m = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = meta_state_.find(s.name);
    if (it != meta_state_.end()) m = it->second.get();
  }
  MetaState empty;
  if (m == nullptr) m = &empty;

  s.producer = std::move(*producer);
  s.start = std::max(physical_start, m->start);
  s.end = physical_start;
  s.hidden.clear();
  s.index.clear();
  s.last_indexed = -(1LL << 62);
  RETURN_IF_ERROR(ScanLocked(s, *m, physical_start, end));
  if (s.records()) {
    // Every record is an entry: nothing to learn by scanning on (a Kafka
    // topic may be large). Offsets compaction removed are not known
    // without a scan and count in XLEN (docs/protocols/resp.md).
    s.end = end;
    s.last_id = end > 0 ? RecordIdAt(end - 1) : StreamId::Min();
    s.entries_added = static_cast<uint64_t>(end);
  }
  for (const auto& [off, id] : m->deleted) {
    if (off >= s.start && off < s.end) s.hidden.insert(off);
  }
  s.hidden.erase(s.hidden.begin(), s.hidden.lower_bound(s.start));
  s.length = std::max<int64_t>(0, s.end - s.start - static_cast<int64_t>(s.hidden.size()));
  s.max_deleted = m->max_deleted;
  s.assigned_last = s.last_id;
  s.groups = m->groups;
  s.loaded = true;
  // A crash between a trim's meta commit and its log start raise (or data
  // from before raises existed) leaves the log start behind: catch up.
  s.token = next_token_.fetch_add(1);
  s.start_asked = physical_start;
  mover_->Register(s.name, s.token);
  if (auto start = TakeNewLogStartLocked(s)) mover_->Raise(s.name, s.token, *start);
  {
    // XDELed entries whose records a crash (or the active segment) kept.
    std::vector<int64_t> purge;
    for (const auto& [off, id] : m->deleted) {
      if (off >= s.start) purge.push_back(off);
    }
    mover_->Purge(s.name, s.token, purge);
  }
  {
    std::unique_lock lock(durable_mu_);
    if (durable_.insert(s.name).second) durable_count_ = durable_.size();
  }
  return Status::OK();
}

// Loading a stream: its first record decides what the topic is (s.kind);
// a stream's scan goes on to find the entries (the rest are hidden), the
// sparse index, last-generated-id and entries-added. A record topic's scan
// stops at that first record.
Status StreamStore::ScanLocked(Stream& s, const MetaState& m, int64_t physical_start,
                               int64_t end) {
  StreamId last_entry, last_after_set;
  bool any_after_set = false;
  uint64_t entries = 0, entries_after_set = 0;
  // Records below the physical start were reclaimed; count them as entries.
  uint64_t reclaimed = static_cast<uint64_t>(physical_start);

  s.kind = Stream::Kind::kUndecided;
  RETURN_IF_ERROR(ForEachRecord(s.name, physical_start, end, [&](const RecordView& r) {
    auto id = EntryIdOf(r);
    if (s.kind == Stream::Kind::kUndecided) {
      s.kind = id ? Stream::Kind::kEntries : Stream::Kind::kRecords;
      if (s.records()) return false;
    }
    for (int64_t o = s.end; o < r.offset; ++o) s.hidden.insert(o);  // compaction gaps
    s.end = r.offset + 1;
    if (!id) {
      s.hidden.insert(r.offset);
      return true;
    }
    ++entries;
    last_entry = std::max(last_entry, *id);
    if (r.offset >= m.set_end) {
      ++entries_after_set;
      last_after_set = std::max(last_after_set, *id);
      any_after_set = true;
    }
    s.IndexLocked(*id, r.offset);
    return true;
  }));
  if (s.records()) return Status::OK();
  for (int64_t o = s.end; o < end; ++o) s.hidden.insert(o);
  s.end = std::max(s.end, end);
  if (m.has_set) {
    s.last_id = any_after_set ? last_after_set : m.set_last;
    s.entries_added = m.set_added + entries_after_set;
  } else {
    s.last_id = last_entry;
    s.entries_added = reclaimed + entries;
  }
  return Status::OK();
}

Status StreamStore::ForEachRecord(const std::string& name, int64_t from, int64_t end,
                                  const std::function<bool(const RecordView&)>& fn) {
  if (from >= end) return Status::OK();
  auto reader = log_->NewReader(name, 0, StartPosition::Offset(from));
  if (!reader.ok()) return reader.status();
  ReadBatch batch;
  while ((*reader)->position() < end) {
    RETURN_IF_ERROR((*reader)->ReadInto(&batch));
    if (batch.empty()) break;
    for (const RecordView& r : batch.records()) {
      if (r.offset < from) continue;
      if (r.offset >= end || !fn(r)) return Status::OK();
    }
  }
  return Status::OK();
}

void StreamStore::AdvanceRecordsLocked(Stream& s, int64_t end) {
  if (end <= s.end) return;
  const int64_t n = end - s.end;
  s.end = end;
  s.length += n;
  s.entries_added += static_cast<uint64_t>(n);
  s.last_id = RecordIdAt(end - 1);
  s.assigned_last = s.last_id;
}

void StreamStore::CommitLocked(Stream& s, int64_t offset, std::optional<StreamId> id) {
  if (s.records()) return AdvanceRecordsLocked(s, offset + 1);
  // Offsets this process did not write (another writer) are not entries.
  for (int64_t o = s.end; o < offset; ++o) s.hidden.insert(o);
  s.end = std::max(s.end, offset + 1);
  if (!id) {
    s.hidden.insert(offset);
    return;
  }
  s.last_id = std::max(s.last_id, *id);
  ++s.entries_added;
  ++s.length;
  s.IndexLocked(*id, offset);
}

std::vector<std::function<void()>> StreamStore::TakeWakeableLocked(Stream& s) {
  std::vector<std::function<void()>> wake;
  auto it = std::remove_if(s.waiters.begin(), s.waiters.end(), [&](Stream::Waiter& w) {
    if (!(s.last_id > w.after)) return false;
    wake.push_back(std::move(w.wake));
    return true;
  });
  s.waiters.erase(it, s.waiters.end());
  return wake;
}

int64_t StreamStore::FloorOffsetLocked(const Stream& s, StreamId id) const {
  if (s.records()) return std::clamp(RecordOffsetFloor(id), s.start, std::max(s.start, s.end));
  auto it = std::upper_bound(s.index.begin(), s.index.end(), id,
                             [](StreamId v, const auto& p) { return v < p.first; });
  if (it == s.index.begin()) return s.start;
  return std::max(std::prev(it)->second, s.start);
}

int64_t StreamStore::BlockBeforeLocked(const Stream& s, int64_t hi) const {
  if (s.records()) return std::max(s.start, hi - kIndexEvery);
  auto it = std::lower_bound(s.index.begin(), s.index.end(), hi,
                             [](const auto& p, int64_t off) { return p.second < off; });
  return it == s.index.begin() ? s.start : std::max(std::prev(it)->second, s.start);
}

int64_t StreamStore::StartAfterEvictingLocked(const Stream& s, int64_t k) const {
  int64_t candidate = s.start + k;
  for (auto it = s.hidden.lower_bound(s.start); it != s.hidden.end() && *it < candidate; ++it) {
    ++candidate;
  }
  return candidate;
}

std::optional<int64_t> StreamStore::TakeNewLogStartLocked(Stream& s) {
  // The first offset at or past the start that is not hidden.
  int64_t first = s.start;
  for (auto it = s.hidden.lower_bound(first); it != s.hidden.end() && *it == first; ++it) ++first;
  first = std::min(first, s.end);
  if (first <= s.start_asked) return std::nullopt;
  s.start_asked = first;
  return first;
}

StreamStore::Done StreamStore::RaiseAfter(const Stream& s, std::optional<int64_t> start,
                                          Done done) {
  return [mover = mover_.get(), name = s.name, token = s.token, start,
          done = std::move(done)](Outcome o) {
    // Only once the event is durable: the log must keep what durable
    // stream state still counts as live.
    if (o.ok() && start) mover->Raise(name, token, *start);
    if (done) done(std::move(o));
  };
}

void StreamStore::FlushLogStarts() { mover_->Flush(); }

Status StreamStore::Scan(const std::shared_ptr<Stream>& s, int64_t from, int64_t to,
                         const std::function<bool(Entry&&)>& fn) {
  if (from >= to) return Status::OK();
  auto reader = log_->NewReader(s->name, 0, StartPosition::Offset(from));
  if (!reader.ok()) return reader.status();
  bool records;  // decided before `to` was read: fixed for these offsets
  {
    std::lock_guard lock(s->mu);
    records = s->records();
  }
  ReadBatch batch;
  std::vector<Entry> found;
  while ((*reader)->position() < to) {
    Status st = (*reader)->ReadInto(&batch);
    if (!st.ok()) return st;
    if (batch.empty()) break;
    found.clear();
    for (const RecordView& r : batch.records()) {
      if (r.offset >= to) break;
      if (r.offset < from) continue;
      if (records) {
        found.push_back(RecordAsEntry(r));
      } else if (auto e = DecodeEntry(r)) {
        found.push_back(std::move(*e));
      }
    }
    {
      std::lock_guard lock(s->mu);
      std::erase_if(found, [&](const Entry& e) {
        return e.offset < s->start || s->hidden.count(e.offset) > 0;
      });
    }
    for (Entry& e : found) {
      if (!fn(std::move(e))) return Status::OK();
    }
  }
  return Status::OK();
}

Result<std::vector<Entry>> StreamStore::Range(std::string_view key, StreamId start, StreamId end,
                                              size_t count, bool reverse) {
  std::vector<Entry> out;
  if (start > end) return out;
  auto g = Get(key, false);
  if (!g.ok()) return g.status();
  std::shared_ptr<Stream> s = *g;
  if (!s) return out;
  auto full = [&] { return count != 0 && out.size() >= count; };
  if (!reverse) {
    int64_t from, to;
    {
      std::lock_guard lock(s->mu);
      from = FloorOffsetLocked(*s, start);
      to = s->end;
    }
    Status st = Scan(s, from, to, [&](Entry&& e) {
      if (e.id < start) return true;
      if (e.id > end) return false;
      out.push_back(std::move(e));
      return !full();
    });
    if (!st.ok()) return st;
    return out;
  }
  // Backwards, one sparse-index block at a time.
  int64_t lo, hi, floor;
  {
    std::lock_guard lock(s->mu);
    hi = s->end;
    lo = FloorOffsetLocked(*s, end);
    floor = s->start;
  }
  std::vector<Entry> block;
  for (;;) {
    block.clear();
    bool below_start = false;
    Status st = Scan(s, lo, hi, [&](Entry&& e) {
      if (e.id < start) {
        below_start = true;
        return true;
      }
      if (e.id > end) return false;
      block.push_back(std::move(e));
      return true;
    });
    if (!st.ok()) return st;
    for (auto it = block.rbegin(); it != block.rend() && !full(); ++it) {
      out.push_back(std::move(*it));
    }
    if (full() || below_start || lo <= floor) break;
    hi = lo;
    std::lock_guard lock(s->mu);
    lo = BlockBeforeLocked(*s, hi);
    floor = s->start;
    if (lo >= hi) break;
  }
  return out;
}

int64_t StreamStore::Length(std::string_view key) {
  auto g = Get(key, false);
  if (!g.ok() || !*g) return 0;
  std::lock_guard lock((*g)->mu);
  return (*g)->length;
}

bool StreamStore::Exists(std::string_view key) {
  auto g = Get(key, false);
  return g.ok() && *g;
}

std::optional<StreamId> StreamStore::LastId(std::string_view key) {
  auto g = Get(key, false);
  if (!g.ok() || !*g) return std::nullopt;
  std::lock_guard lock((*g)->mu);
  return (*g)->last_id;
}

std::optional<StreamInfo> StreamStore::Info(std::string_view key) {
  auto g = Get(key, false);
  if (!g.ok() || !*g) return std::nullopt;
  StreamInfo info;
  {
    std::lock_guard lock((*g)->mu);
    const Stream& s = **g;
    info.length = s.length;
    info.last_id = s.last_id;
    info.max_deleted = s.max_deleted;
    info.entries_added = s.entries_added;
    info.index_entries = static_cast<int64_t>(s.index.size());
    info.groups = static_cast<int64_t>(s.groups.size());
  }
  auto first = Range(key, StreamId::Min(), StreamId::Max(), 1, false);
  if (first.ok() && !first->empty()) info.first = std::move(first->front());
  auto last = Range(key, StreamId::Min(), StreamId::Max(), 1, true);
  if (last.ok() && !last->empty()) info.last = std::move(last->front());
  auto d = log_->DescribeTopic(key);
  if (d.ok() && !d->partitions.empty()) info.segments = d->partitions[0].segments;
  return info;
}

void StreamStore::Add(std::string_view key, bool nomkstream, const AddIdSpec& spec,
                      std::span<const std::string_view> fields, const TrimSpec& trim,
                      AddDone done) {
  const AddRequest request{spec, fields};
  AddBatch(key, nomkstream, trim, std::span<const AddRequest>(&request, 1),
           [done = std::move(done)](std::vector<AddResult> results) {
             done(std::move(results[0].outcome), results[0].id);
           });
}

void StreamStore::AddBatch(std::string_view key, bool nomkstream, const TrimSpec& trim,
                           std::span<const AddRequest> requests, AddBatchDone done) {
  std::vector<AddResult> results(requests.size());
  auto fail_all = [&](Outcome o) {
    for (AddResult& r : results) r.outcome = o;
    done(std::move(results));
  };
  auto g = Get(key, !nomkstream);
  if (!g.ok()) return fail_all(StorageError(g.status()));
  std::shared_ptr<Stream> s = *g;
  if (!s) return fail_all({StreamError::kNoKey, {}});
  std::lock_guard lock(s->mu);
  if (s->records()) return fail_all({StreamError::kWrongType, {}});
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  // Reserved up front: the record views point into the encoded entries.
  std::vector<EncodedEntry> encoded;
  encoded.reserve(requests.size());
  std::vector<size_t> appended;  // indexes of the requests that got an ID
  appended.reserve(requests.size());
  const size_t max_bytes = static_cast<size_t>(s->producer->max_message_bytes());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (s->assigned_last.IsMax()) {
      results[i].outcome = {StreamError::kExhausted, {}};
      continue;
    }
    AddIdError err;
    auto id = NextAddId(requests[i].id, s->assigned_last, now, &err);
    if (!id) {
      results[i].outcome = {err == AddIdError::kZero        ? StreamError::kIdZero
                            : err == AddIdError::kExhausted ? StreamError::kExhausted
                                                            : StreamError::kIdNotGreater,
                            {}};
      continue;
    }
    EncodedEntry& enc = encoded.emplace_back();
    EncodeEntry(*id, requests[i].fields, &enc);
    if (EncodedRecordBytes(enc.record) > max_bytes) {
      encoded.pop_back();
      results[i].outcome = {StreamError::kTooLarge, {}};
      continue;
    }
    s->assigned_last = *id;
    results[i].id = *id;
    appended.push_back(i);
  }
  if (appended.empty()) return done(std::move(results));
  s->kind = Stream::Kind::kEntries;  // an empty topic's first append decides
  std::vector<RecordView> records;
  records.reserve(encoded.size());
  for (const EncodedEntry& e : encoded) records.push_back(e.record);
  s->producer->AppendAsync(
      0, records,
      [this, s, trim, results = std::move(results), appended = std::move(appended),
       done = std::move(done)](Result<int64_t> base) mutable {
        if (!base.ok()) {
          for (size_t i : appended) results[i].outcome = StorageError(base.status());
          return done(std::move(results));
        }
        std::vector<std::function<void()>> wake;
        int64_t evicted = 0;
        {
          std::lock_guard lock(s->mu);
          for (size_t k = 0; k < appended.size(); ++k) {
            CommitLocked(*s, *base + static_cast<int64_t>(k), results[appended[k]].id);
          }
          wake = TakeWakeableLocked(*s);
          if (trim.kind != TrimSpec::Kind::kNone && !s->dead) {
            auto n = TrimLocked(*s, trim);
            evicted = n.ok() ? *n : 0;
            if (evicted > 0) {
              // The replies wait for the trim to be durable too.
              AppendMeta(s->name, "1 T " + std::to_string(s->start),
                         RaiseAfter(*s, TakeNewLogStartLocked(*s),
                                    [results = std::move(results), appended = std::move(appended),
                                     done = std::move(done)](Outcome o) mutable {
                                      if (!o.ok()) {
                                        for (size_t i : appended) results[i].outcome = o;
                                      }
                                      done(std::move(results));
                                    }));
            }
          }
        }
        for (auto& w : wake) w();
        if (evicted == 0) done(std::move(results));
      });
}

bool StreamStore::IsDurable(std::string_view topic) {
  return IsKnownTopic(topic) || (rules_ && rules_->Durable(topic));
}

bool StreamStore::IsKnownTopic(std::string_view topic) {
  if (durable_count_.load(std::memory_order_relaxed) == 0) return false;
  std::shared_lock lock(durable_mu_);
  return durable_.find(topic) != durable_.end();
}

void StreamStore::NoteTopicCreated(std::string_view topic) {
  if (IsInternalTopic(topic)) return;
  std::unique_lock lock(durable_mu_);
  if (durable_.emplace(topic).second) durable_count_ = durable_.size();
}

void StreamStore::NoteAppended(std::string_view topic, int32_t partition, int64_t end_offset) {
  if (partition != 0) return;  // a stream is partition 0 of its topic
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(topic);
    if (it == streams_.end()) return;  // not loaded: its load will see the records
    s = it->second;
  }
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(s->mu);
    if (!s->loaded || s->dead || end_offset <= s->end) return;
    if (s->kind == Stream::Kind::kUndecided) s->kind = Stream::Kind::kRecords;
    if (!s->records()) return;  // a stream: its next commit hides them
    AdvanceRecordsLocked(*s, end_offset);
    wake = TakeWakeableLocked(*s);
  }
  for (auto& w : wake) w();
}

bool StreamStore::AppendMessage(std::string_view topic, std::string_view payload, Done done) {
  // An existing topic is never created again: the rules (glob matching)
  // are asked only for names that are not topics yet.
  const bool known = IsKnownTopic(topic);
  const bool create = !known && rules_ && rules_->Durable(topic);
  if (!known && !create) return false;
  auto g = Get(topic, create);
  if (!g.ok() || !*g) return false;
  std::shared_ptr<Stream> s = *g;
  RecordView rec;
  rec.value = payload;
  std::lock_guard lock(s->mu);
  if (s->kind == Stream::Kind::kUndecided) s->kind = Stream::Kind::kRecords;
  s->producer->AppendAsync(0, std::span<const RecordView>(&rec, 1),
                           [this, s, done = std::move(done)](Result<int64_t> r) {
                             if (!r.ok()) return done(StorageError(r.status()));
                             std::vector<std::function<void()>> wake;
                             {
                               std::lock_guard lock(s->mu);
                               CommitLocked(*s, *r, std::nullopt);
                               wake = TakeWakeableLocked(*s);
                             }
                             for (auto& w : wake) w();
                             done({});
                           });
  return true;
}

Result<int64_t> StreamStore::TrimLocked(Stream& s, const TrimSpec& trim) {
  int64_t limit = 0;  // 0 = no limit
  if (trim.approx) limit = trim.limit < 0 ? 10000 : trim.limit;
  int64_t k = 0;
  if (trim.kind == TrimSpec::Kind::kMaxLen) {
    if (s.length <= trim.maxlen) return 0;
    k = s.length - trim.maxlen;
  } else if (trim.kind == TrimSpec::Kind::kMinId) {
    // The first entry with ID >= minid: one sparse-index block read, under
    // the lock (bounded; see the header).
    int64_t boundary = s.end;
    auto reader =
        log_->NewReader(s.name, 0, StartPosition::Offset(FloorOffsetLocked(s, trim.minid)));
    if (!reader.ok()) return reader.status();
    ReadBatch batch;
    bool found = false;
    while (!found && (*reader)->position() < s.end) {
      Status st = (*reader)->ReadInto(&batch);
      if (!st.ok()) return st;
      if (batch.empty()) break;
      for (const RecordView& r : batch.records()) {
        if (r.offset >= s.end) break;
        auto id = s.IdOf(r);
        if (id && *id >= trim.minid) {
          boundary = r.offset;
          found = true;
          break;
        }
      }
    }
    if (boundary <= s.start) return 0;
    auto lo = s.hidden.lower_bound(s.start), hi = s.hidden.lower_bound(boundary);
    k = (boundary - s.start) - static_cast<int64_t>(std::distance(lo, hi));
  } else {
    return 0;
  }
  if (limit > 0) k = std::min(k, limit);
  if (k <= 0) return 0;
  const int64_t new_start = StartAfterEvictingLocked(s, k);
  s.hidden.erase(s.hidden.begin(), s.hidden.lower_bound(new_start));
  s.start = new_start;
  s.length -= k;
  return k;
}

void StreamStore::DeleteIds(std::string_view key, std::vector<StreamId> ids, CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({}, 0);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  // One scan per run of nearby IDs: from the sparse-index block of the
  // first, on while the next ID's block starts at or before the entry just
  // read (so XDEL of a thousand neighbours reads their blocks once, and
  // two IDs far apart cost two short scans).
  std::vector<int64_t> floors(ids.size());
  int64_t to;
  {
    std::lock_guard lock(s->mu);
    for (size_t k = 0; k < ids.size(); ++k) floors[k] = FloorOffsetLocked(*s, ids[k]);
    to = s->end;
  }
  std::vector<std::pair<int64_t, StreamId>> found;
  for (size_t k = 0; k < ids.size();) {
    const size_t k0 = k;
    Status st = Scan(s, floors[k], to, [&](Entry&& e) {
      while (k < ids.size() && ids[k] < e.id) ++k;  // not in the stream
      if (k == ids.size()) return false;
      if (ids[k] == e.id) found.emplace_back(e.offset, ids[k++]);
      return k < ids.size() && floors[k] <= e.offset;
    });
    if (!st.ok()) return done(StorageError(st), 0);
    if (k == k0) break;  // the rest are past the last entry
  }
  std::lock_guard lock(s->mu);
  std::string event = "1 D";
  int64_t n = 0;
  std::vector<int64_t> purge;
  for (const auto& [off, id] : found) {
    if (s->dead || off < s->start || !s->hidden.insert(off).second) continue;
    --s->length;
    s->max_deleted = std::max(s->max_deleted, id);
    event += " " + std::to_string(off) + " " + id.ToString();
    purge.push_back(off);
    ++n;
  }
  if (n == 0) return done({}, 0);
  // Once the event is durable: the first entries deleted move the log
  // start; the others' records are purged from their segments.
  Done then = [mover = mover_.get(), name = s->name, token = s->token, purge = std::move(purge),
               done, n](Outcome o) {
    if (o.ok()) mover->Purge(name, token, purge);
    done(std::move(o), n);
  };
  AppendMeta(s->name, std::move(event),
             RaiseAfter(*s, TakeNewLogStartLocked(*s), std::move(then)));
}

void StreamStore::Trim(std::string_view key, const TrimSpec& trim, CountDone done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()), 0);
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({}, 0);
  std::lock_guard lock(s->mu);
  auto n = TrimLocked(*s, trim);
  if (!n.ok()) return done(StorageError(n.status()), 0);
  if (*n == 0) return done({}, 0);
  const int64_t evicted = *n;
  AppendMeta(s->name, "1 T " + std::to_string(s->start),
             RaiseAfter(*s, TakeNewLogStartLocked(*s),
                        [done, evicted](Outcome o) { done(std::move(o), evicted); }));
}

void StreamStore::SetId(std::string_view key, StreamId last, std::optional<uint64_t> entries_added,
                        std::optional<StreamId> max_deleted, Done done) {
  auto g = Get(key, false);
  if (!g.ok()) return done(StorageError(g.status()));
  std::shared_ptr<Stream> s = *g;
  if (!s) return done({StreamError::kNoKey, {}});
  {
    std::lock_guard lock(s->mu);
    if (s->records()) return done({StreamError::kWrongType, {}});
  }
  if (max_deleted && last < *max_deleted) return done({StreamError::kSetIdMaxDeleted, {}});
  auto top = Range(key, StreamId::Min(), StreamId::Max(), 1, true);
  if (!top.ok()) return done(StorageError(top.status()));
  std::lock_guard lock(s->mu);
  if (entries_added && static_cast<int64_t>(*entries_added) < s->length) {
    return done({StreamError::kSetIdAdded, {}});
  }
  if (s->length > 0 && !top->empty() && last < top->front().id) {
    return done({StreamError::kSetIdSmall, {}});
  }
  const bool in_flight = s->assigned_last != s->last_id;
  s->last_id = last;
  s->assigned_last = in_flight ? std::max(s->assigned_last, last) : last;
  if (entries_added) s->entries_added = *entries_added;
  if (max_deleted) s->max_deleted = *max_deleted;
  AppendMeta(s->name,
             "1 S " + last.ToString() + " " + std::to_string(s->entries_added) + " " +
                 s->max_deleted.ToString() + " " + std::to_string(s->end),
             std::move(done));
}

Result<bool> StreamStore::Delete(std::string_view key) {
  std::shared_ptr<Stream> s = Slot(key);
  std::unique_lock lock(s->mu);
  auto d = log_->DescribeTopic(key);
  if (!d.ok()) {
    if (d.status().Is(StatusCode::kNotFound)) return false;
    return d.status();
  }
  // The reset event is durable before the topic goes, so a restart never
  // applies the old stream's deletions and trims to a new one of that name.
  // This waits for one meta commit on the caller's thread (DEL is rare).
  RecordView rec;
  rec.key = key;
  rec.value = std::string_view("1 R");
  auto r = meta_->Append(0, rec);
  if (!r.ok()) return r.status();
  // No raise of the old stream may reach a new topic of this name.
  mover_->Forget(s->name);
  Status st = log_->DeleteTopic(key);
  if (!st.ok() && !st.Is(StatusCode::kNotFound)) return st;
  auto successor = std::make_shared<Stream>();
  successor->name = s->name;
  // Every blocked reader looks again: XREAD waits on (its Watch finds the
  // successor), a blocked XREADGROUP gets UNBLOCKED.
  std::vector<Stream::Waiter> woken = std::move(s->waiters);
  s->waiters.clear();
  s->dead = true;
  s->loaded = false;
  {
    std::lock_guard map_lock(mu_);
    streams_[s->name] = successor;
    meta_state_.erase(s->name);
  }
  {
    std::unique_lock dl(durable_mu_);
    durable_.erase(s->name);
    durable_count_ = durable_.size();
  }
  lock.unlock();
  for (auto& w : woken) w.wake();
  return true;
}

Result<std::vector<std::string>> StreamStore::Keys() {
  auto topics = log_->ListTopics();
  if (!topics.ok()) return topics.status();
  std::vector<std::string> out;
  for (const TopicInfo& t : *topics) {
    if (!IsInternalTopic(t.name)) out.push_back(t.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void StreamStore::AppendMeta(const std::string& key, std::string value, Done done) {
  RecordView rec;
  rec.key = key;
  rec.value = value;
  meta_->AppendAsync(0, std::span<const RecordView>(&rec, 1),
                     [done = std::move(done)](Result<int64_t> r) {
                       if (!done) return;
                       if (!r.ok()) return done(StorageError(r.status()));
                       done({});
                     });
}

uint64_t StreamStore::Watch(std::string_view key, StreamId after, std::function<void()> wake) {
  const uint64_t token = next_token_.fetch_add(1);
  auto g = Get(key, false);
  std::shared_ptr<Stream> s = (g.ok() && *g) ? *g : Slot(key);
  {
    std::lock_guard lock(s->mu);
    if (!(s->loaded && s->last_id > after)) {
      s->waiters.push_back({token, after, std::move(wake)});
      return token;
    }
  }
  wake();
  return token;
}

void StreamStore::Unwatch(std::string_view key, uint64_t token) {
  std::shared_ptr<Stream> s = Slot(key);
  std::lock_guard lock(s->mu);
  std::erase_if(s->waiters, [&](const Stream::Waiter& w) { return w.token == token; });
}

uint64_t StreamStore::AddTimer(std::chrono::steady_clock::time_point deadline,
                               std::function<void()> fn) {
  const uint64_t token = next_token_.fetch_add(1);
  {
    std::lock_guard lock(timer_mu_);
    timers_.emplace(deadline, std::make_pair(token, std::move(fn)));
  }
  timer_cv_.notify_all();
  return token;
}

void StreamStore::CancelTimer(uint64_t token) {
  std::lock_guard lock(timer_mu_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == token) {
      timers_.erase(it);
      return;
    }
  }
}

void StreamStore::TimerLoop() {
  std::unique_lock lock(timer_mu_);
  while (!timer_stop_) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    // A copy: the node may be erased (cancelled) while this waits.
    const auto deadline = first->first;
    if (deadline > std::chrono::steady_clock::now()) {
      timer_cv_.wait_until(lock, deadline);
      continue;
    }
    std::function<void()> fn = std::move(first->second.second);
    timers_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace runnel::broker::streams
