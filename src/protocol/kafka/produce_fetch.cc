// Produce and Fetch: the two APIs answered later than they arrive.
//
// Produce: each partition's batch goes to Producer::AppendRawAsync, which
// validates it and stores it as received with only the base offset set;
// the answer is built when the last partition's append is durable under the
// topic's fsync policy (acks=1 and acks=-1 alike: runnel has no replicas,
// so "all in-sync replicas" is this log's durability point).
//
// Fetch: finds whole stored batches (bounded by max_bytes) and answers when
// min_bytes are there; otherwise parks on FetchWaiters and a timer for
// max_wait_ms and reads again when an append to any of its partitions
// lands or the wait ends. On a plain TCP connection a partition's record
// set of at least kMinFileBytes is not read at all: Reader::ReadRawRanges
// names the segment file ranges and the connection sends them with
// sendfile(2), from the page cache to the socket. Otherwise (TLS, small
// sets) the bytes are read with pread on this io thread (ReadRawInto).
#include "protocol/kafka/kafka_session.h"
#include "protocol/kafka/legacy_message_set.h"
#include "protocol/kafka/names.h"
#include "protocol/kafka/wire.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <tuple>

namespace runnel::kafka {
namespace {

constexpr size_t kAttributesAt = 21;
constexpr size_t kLastOffsetDeltaAt = 23;
constexpr size_t kBatchLengthAt = 8;
// Below this a partition's records are copied into the response: a
// sendfile of a few KiB costs about what the copy does, and one writev
// sends the whole frame (docs/protocols/kafka.md, "Fetch").
constexpr uint64_t kMinFileBytes = 16 << 10;

// Appends the bytes of `ranges` to *out with pread.
Status ReadRanges(const std::vector<StoredRange>& ranges, std::string* out) {
  for (const StoredRange& r : ranges) {
    const size_t old = out->size();
    out->resize(old + r.length);
    size_t done = 0;
    while (done < r.length) {
      const ssize_t n = ::pread(r.fd, out->data() + old + done, r.length - done,
                                static_cast<off_t>(r.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::IoError("pread of a stored range failed");
      done += static_cast<size_t>(n);
    }
  }
  return Status::OK();
}

// What the inner sets of one partition's legacy message set may decompress
// to, in all (storage::kMaxDecompressedBytes, as for a batch read).
constexpr size_t kMaxLegacyInflate = 64 << 20;

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct ProduceState {
  // Keeps the connection (and so the session) alive until the last append
  // callback, which runs on a writer thread, has posted the answer.
  std::shared_ptr<net::Connection> conn;
  std::mutex mu;
  ProduceResponse response;
  // Batches to fan out to RESP subscribers once durable: topic, partition
  // index in the response, bytes (only when someone subscribes).
  std::vector<std::tuple<size_t, size_t, std::string>> fan_out;
  int pending = 1;  // one for the request itself, released after every append started
};

bool KafkaSession::HandleProduce(const RequestHeader& h, std::string_view body) {
  ProduceRequest req;
  if (!DecodeProduce(body, h.api_version, &req)) return false;
  const bool answer = req.acks != 0;  // acks=0: no response, ever
  auto state = std::make_shared<ProduceState>();
  state->conn = conn_.shared_from_this();
  const uint64_t slot = answer ? Reserve() : 0;
  const RequestHeader header = h;
  // Finishing on this io thread once every partition has its result. The
  // io_context is looked up here, on the io thread: the callback runs on a
  // writer thread, possibly while the server shuts down (the KafkaContext
  // waits for every append's callback before it goes; see AppendStarted).
  boost::asio::io_context* io = &ctx_->pool->context(conn_.thread_index());
  auto finish = [this, io, state, slot, header, answer] {
    // Runs on a writer thread; the session is alive while state->conn is.
    // The connection is let go on its io thread, never on a writer thread.
    boost::asio::post(*io,
                      [this, state, slot, header, answer] {
                        std::shared_ptr<net::Connection> conn = std::move(state->conn);
                        if (!closed_) FanOut(*state);
                        if (closed_ || !answer) return;
                        Respond(slot, header, false, [&](std::string* out) {
                          EncodeProduce(state->response, header.api_version, out);
                        });
                      });
  };
  auto release = [state, finish] {
    bool last;
    {
      std::lock_guard lock(state->mu);
      last = --state->pending == 0;
    }
    if (last) finish();
  };
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    ProduceResponse::Topic& rt = state->response.topics.emplace_back();
    rt.name = std::string(t.name);
    for (const auto& p : t.partitions) rt.partitions.push_back({p.index});
  }
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& t = req.topics[ti];
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto& p = t.partitions[pi];
      auto set_error = [&](ErrorCode e) {
        std::lock_guard lock(state->mu);
        state->response.topics[ti].partitions[pi].error = e;
      };
      if (req.acks != 0 && req.acks != 1 && req.acks != -1) {
        set_error(ErrorCode::kInvalidRequiredAcks);
        continue;
      }
      if (req.transactional_id) {  // transactions are not served
        set_error(ErrorCode::kTransactionalIdAuthorizationFailed);
        continue;
      }
      if (!IsKafkaTopicName(t.name)) {
        set_error(ErrorCode::kInvalidTopic);
        continue;
      }
      std::string_view records = p.records.value_or("");
      std::string converted;  // v0-v2: the legacy set as one magic-2 batch
      // (A magic-2 batch in v0-v2 goes on as it is, as Kafka allows.)
      if (h.api_version < 3 && !(records.size() > 16 && records[16] == 2)) {
        LegacyConversion c = UpConvertMessageSet(records, NowMs(), kMaxLegacyInflate, &converted);
        if (c.error != ErrorCode::kNone) {
          set_error(c.error);
          continue;
        }
        records = converted;
      }
      // Produce v3+: exactly one magic-2 batch per partition.
      if (records.size() < 17) {
        set_error(records.empty() ? ErrorCode::kInvalidRecord : ErrorCode::kCorruptMessage);
        continue;
      }
      Decoder d(records.substr(kBatchLengthAt, 4));
      const int64_t total = int64_t{d.Int32()} + 12;
      if (records[16] != 2) {
        set_error(ErrorCode::kInvalidRecord);
        continue;
      }
      if (total > 12 && static_cast<size_t>(total) < records.size()) {
        set_error(ErrorCode::kInvalidRecord);  // more than one batch
        continue;
      }
      if (records.size() > kAttributesAt + 1 && h.api_version < 7 &&
          (records[kAttributesAt + 1] & 0x7) == 4) {
        set_error(ErrorCode::kUnsupportedCompressionType);  // zstd needs Produce v7
        continue;
      }
      Status st;
      Producer* producer = ProducerFor(t.name, &st);
      if (!producer) {
        set_error(ErrorFromStatus(st));
        continue;
      }
      {
        std::lock_guard lock(state->mu);
        state->pending++;
      }
      if (ctx_->produced && ctx_->has_subscribers && ctx_->has_subscribers(t.name)) {
        std::lock_guard lock(state->mu);
        state->fan_out.emplace_back(ti, pi, std::string(records));
      }
      // The end offset the append reaches is base + last offset delta + 1:
      // the stream store hears of it (XREAD of a Kafka topic), on the
      // writer thread. (A batch that appends has a whole header.)
      const int32_t last_delta = records.size() >= kLastOffsetDeltaAt + 4
                                     ? Decoder(records.substr(kLastOffsetDeltaAt, 4)).Int32()
                                     : -1;
      // (last use of `records`: an up-converted batch is moved, not copied)
      std::string stored = converted.empty() ? std::string(records) : std::move(converted);
      ctx_->AppendStarted();
      producer->AppendRawAsync(p.index, std::move(stored),
                               [ctx = ctx_, state, ti, pi, release,
                                last_delta](Result<int64_t> base) {
                                 auto& rt = state->response.topics[ti];
                                 {
                                   std::lock_guard lock(state->mu);
                                   auto& rp = rt.partitions[pi];
                                   if (base.ok()) {
                                     rp.base_offset = *base;
                                   } else {
                                     rp.error = ErrorFromStatus(base.status());
                                   }
                                 }
                                 if (base.ok() && ctx->appended && last_delta >= 0) {
                                   // name and index are set before any append starts
                                   ctx->appended(rt.name, rt.partitions[pi].index,
                                                 *base + last_delta + 1);
                                 }
                                 release();
                                 ctx->AppendFinished();  // last use of ctx
                               });
    }
  }
  release();
  return true;
}

// On the io thread, after every append of the request finished: the
// batches that were stored go to the router, in request order.
void KafkaSession::FanOut(ProduceState& state) {
  for (const auto& [ti, pi, batch] : state.fan_out) {
    const auto& t = state.response.topics[ti];
    if (t.partitions[pi].error != ErrorCode::kNone) continue;
    fanned_out_ = true;
    ctx_->produced(static_cast<uint32_t>(conn_.thread_index()), t.name, batch);
  }
}

bool KafkaSession::HoldInput() const {
  return fanned_out_ && ctx_->backlogged &&
         ctx_->backlogged(static_cast<uint32_t>(conn_.thread_index()));
}

struct KafkaSession::FetchOp {
  explicit FetchOp(boost::asio::io_context& io) : timer(io) {}
  RequestHeader header;  // client_id not kept
  FetchRequest request;  // names point into `names`
  std::vector<std::string> names;
  std::vector<Key> keys;
  std::chrono::steady_clock::time_point deadline;
  uint64_t slot = 0;
  uint64_t waiter_id = 0;
  bool armed = false;  // parked: a wake-up or the timer may run it once
  boost::asio::steady_timer timer;
};

bool KafkaSession::HandleFetch(const RequestHeader& h, std::string_view body) {
  auto op = std::make_shared<FetchOp>(ctx_->pool->context(conn_.thread_index()));
  if (!DecodeFetch(body, h.api_version, &op->request)) return false;
  op->header = h;
  op->header.client_id.reset();
  // The request's names are views into the input buffer: own them.
  for (auto& t : op->request.topics) op->names.emplace_back(t.name);
  for (size_t i = 0; i < op->request.topics.size(); ++i) {
    op->request.topics[i].name = op->names[i];
    for (const auto& p : op->request.topics[i].partitions)
      op->keys.emplace_back(op->names[i], p.index);
  }
  op->deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::max(op->request.max_wait_ms, 0));
  op->slot = Reserve();
  op->waiter_id = ctx_->waiters.NextId();
  RunFetch(op);
  return true;
}

void KafkaSession::RunFetch(const std::shared_ptr<FetchOp>& op) {
  std::vector<uint64_t> seen;
  seen.reserve(op->keys.size());
  for (const Key& k : op->keys) seen.push_back(ctx_->waiters.Version(k));

  const FetchRequest& req = op->request;
  FetchResponse r;
  size_t total = 0;
  bool error = false;
  const bool send_files = !conn_.tls();
  // The file ranges of the partitions with file_bytes, in response order.
  std::vector<std::vector<StoredRange>> files;
  std::vector<StoredRange> ranges;
  const size_t max_bytes = static_cast<size_t>(std::max(req.max_bytes, 0));
  for (const auto& t : req.topics) {
    auto& rt = r.topics.emplace_back();
    rt.name = std::string(t.name);
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.index = p.index;
      Status st;
      Reader* reader = IsKafkaTopicName(t.name) ? ReaderFor(rt.name, p.index, &st) : nullptr;
      if (!reader) {
        rp.error = ErrorCode::kUnknownTopicOrPartition;
        error = true;
        continue;
      }
      auto offsets = reader->Offsets();
      if (!offsets.ok()) {
        rp.error = ErrorFromStatus(offsets.status());
        error = true;
        continue;
      }
      rp.high_watermark = offsets->end_offset;
      rp.log_start_offset = offsets->start_offset;
      if (p.fetch_offset < offsets->start_offset || p.fetch_offset > offsets->end_offset) {
        rp.error = ErrorCode::kOffsetOutOfRange;
        error = true;
        continue;
      }
      if (p.fetch_offset == offsets->end_offset) continue;  // caught up: empty, no error
      if (reader->position() != p.fetch_offset) {
        st = reader->Seek(StartPosition::Offset(p.fetch_offset));
      }
      const size_t room = std::min(static_cast<size_t>(std::max(p.partition_max_bytes, 0)),
                                   max_bytes > total ? max_bytes - total : 0);
      // The first batch of the response goes whole, however large, so a
      // consumer always progresses (KIP-74).
      const bool at_least_one = total == 0;
      bool copy = !send_files;
      if (st.ok() && send_files) {
        ranges.clear();
        st = reader->ReadRawRanges(&ranges, room, at_least_one);
        uint64_t bytes = 0;
        for (const StoredRange& range : ranges) bytes += range.length;
        if (st.Is(StatusCode::kNotSupported)) {
          st = Status::OK();  // files without descriptors: read them
          copy = true;
        } else if (st.ok() && bytes >= kMinFileBytes) {
          rp.file_bytes = bytes;
          files.push_back(std::move(ranges));
        } else if (st.ok()) {
          st = ReadRanges(ranges, &rp.records);
        }
      }
      if (st.ok() && copy) st = reader->ReadRawInto(&rp.records, room, at_least_one);
      if (!st.ok()) {
        rp.records.clear();
        rp.error = ErrorFromStatus(st);
        if (st.Is(StatusCode::kCorruption)) rp.error = ErrorCode::kKafkaStorageError;
        error = true;
        // The reader moved past the damage; a retry reads on from there.
        continue;
      }
      total += rp.file_bytes > 0 ? rp.file_bytes : rp.records.size();
    }
  }
  const bool due = error || total >= static_cast<size_t>(std::max(req.min_bytes, 0)) ||
                   std::chrono::steady_clock::now() >= op->deadline;
  if ((due || closed_) && files.empty()) {
    Respond(op->slot, op->header, false,
            [&](std::string* out) { EncodeFetch(r, op->header.api_version, out); });
    return;
  }
  if (due || closed_) {
    RespondWithFiles(op, r, std::move(files));
    return;
  }
  // Park: woken by an append to any of the partitions, or by the timer.
  std::weak_ptr<FetchOp> weak = op;
  // Runs on a writer thread: it may touch this session only through a
  // connection it could lock (OnClose also cancels it).
  std::weak_ptr<net::Connection> weak_conn = conn_.shared_from_this();
  auto wake = [this, weak, weak_conn] {
    if (auto conn = weak_conn.lock()) {
      PostHere([this, weak] {
        if (auto o = weak.lock()) WakeFetch(o);
      });
    }
  };
  if (!ctx_->waiters.Register(op->waiter_id, op->keys, seen, wake)) {
    PostHere([this, op] { RunFetch(op); });  // raced with an append: read again
    return;
  }
  op->armed = true;
  parked_[op->waiter_id] = op;
  op->timer.expires_at(op->deadline);
  op->timer.async_wait([this, weak, conn = conn_.shared_from_this()](boost::system::error_code ec) {
    if (ec || closed_) return;
    if (auto o = weak.lock()) WakeFetch(o);
  });
}

// The frame's size and each record set's length count the file bytes,
// which the connection sends in their place.
void KafkaSession::RespondWithFiles(const std::shared_ptr<FetchOp>& op, const FetchResponse& r,
                                    std::vector<std::vector<StoredRange>> files) {
  std::string frame;
  const size_t start = BeginResponse(&frame, op->header.correlation_id, false);
  std::vector<size_t> at;
  EncodeFetch(r, op->header.api_version, &frame, &at);
  std::vector<FileSplice> splices;
  uint64_t file_total = 0;
  for (size_t i = 0; i < files.size() && i < at.size(); ++i) {
    for (StoredRange& range : files[i]) {
      file_total += range.length;
      splices.push_back({at[i], {std::move(range.file), range.fd, range.offset, range.length}});
    }
  }
  Encoder(&frame).PatchInt32(start, static_cast<int32_t>(frame.size() - start - 4 + file_total));
  CompleteWithFiles(op->slot, std::move(frame), std::move(splices));
}

// Here, where FetchOp is complete.
void KafkaSession::OnClose() {
  closed_ = true;
  for (auto& [id, op] : parked_) {
    ctx_->waiters.Cancel(id, op->keys);
    op->armed = false;
    op->timer.cancel();
  }
  parked_.clear();
  slot_files_.clear();  // file ranges not handed to the connection yet
  readers_.clear();
  producers_.clear();
  std::lock_guard lock(ctx_->sessions_mu_);
  ctx_->sessions_.erase(conn_.id());  // gone for CloseAll: it holds no storage object now
}

void KafkaSession::WakeFetch(const std::shared_ptr<FetchOp>& op) {
  if (!op->armed || closed_) return;
  op->armed = false;
  op->timer.cancel();
  ctx_->waiters.Cancel(op->waiter_id, op->keys);
  auto keep = op;  // parked_ held the last reference
  parked_.erase(op->waiter_id);
  RunFetch(keep);
}

}  // namespace runnel::kafka
