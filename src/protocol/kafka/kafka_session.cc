#include "protocol/kafka/kafka_session.h"

#include "protocol/kafka/sasl_messages.h"
#include "protocol/kafka/wire.h"
#include "util/clock.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <thread>

namespace runnel::kafka {

KafkaContext::KafkaContext(Log* log_in, net::IoPool* pool_in) : log(log_in), pool(pool_in) {
  log->SetAppendListener(
      [this](std::string_view topic, int32_t partition) { waiters.Notify(topic, partition); });
}

KafkaContext::~KafkaContext() {
  WaitForAppends();  // quick: the io threads that start appends have stopped
  log->SetAppendListener(nullptr);
  retention.reset();  // stops its thread (it uses both below)
  groups.reset();     // stops the timer thread; parked answers are dropped
  offsets.reset();    // flushes: every commit callback has run
}

Status KafkaContext::StartGroups(const GroupSettings& settings, FsyncSpec offsets_fsync,
                                 RetentionSettings retention_settings) {
  auto store = OffsetStore::Open(log, offsets_fsync);
  if (!store.ok()) return store.status();
  offsets = std::move(*store);
  groups = std::make_unique<GroupCoordinator>(settings);
  for (const StoredGroup& g : offsets->Groups()) groups->AddEmptyGroup(g.group_id, g.protocol_type);
  // Retention counts an Empty consumer group's time from when it emptied,
  // so that moment is persisted (OffsetStore::SetGroupState).
  groups->SetMembershipListener(
      [store = offsets.get()](const std::string& g, const std::string& type, bool empty) {
        store->SetGroupState(g, type, empty, WallMillis());
      });
  groups->Start();
  retention = std::make_unique<OffsetRetention>(offsets.get(), groups.get(), retention_settings);
  retention->Start();
  return Status::OK();
}

void KafkaContext::CloseAll(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) {
      boost::asio::post(pool->context(s.first), [weak = s.second] {
        if (auto c = weak.lock()) c->Close();
      });
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void KafkaContext::AppendStarted() {
  std::lock_guard lock(appends_mu_);
  appends_in_flight_++;
}

void KafkaContext::AppendFinished() {
  std::lock_guard lock(appends_mu_);
  // Notified under the lock: the destructor may run as soon as it is released.
  if (--appends_in_flight_ == 0) appends_done_.notify_all();
}

void KafkaContext::WaitForAppends() {
  std::unique_lock lock(appends_mu_);
  appends_done_.wait(lock, [this] { return appends_in_flight_ == 0; });
}

size_t KafkaContext::sessions() {
  std::lock_guard lock(sessions_mu_);
  return sessions_.size();
}

ErrorCode ErrorFromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return ErrorCode::kNone;
    case StatusCode::kNotFound:
      return ErrorCode::kUnknownTopicOrPartition;
    case StatusCode::kAlreadyExists:
      return ErrorCode::kTopicAlreadyExists;
    case StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidRecord;
    case StatusCode::kTooLarge:
      return ErrorCode::kMessageTooLarge;
    case StatusCode::kCorruption:
      return ErrorCode::kCorruptMessage;
    case StatusCode::kTimedOut:
      return ErrorCode::kRequestTimedOut;
    case StatusCode::kNotSupported:
      return ErrorCode::kUnsupportedCompressionType;
    case StatusCode::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case StatusCode::kOutOfOrderSequence:
      return ErrorCode::kOutOfOrderSequenceNumber;
    case StatusCode::kUnknownProducer:
      return ErrorCode::kUnknownProducerId;
    case StatusCode::kStaleEpoch:
      return ErrorCode::kInvalidProducerEpoch;
    default:  // kIoError, kNoSpace, kReadOnly, kBusy, kClosed
      return ErrorCode::kKafkaStorageError;
  }
}

KafkaSession::KafkaSession(net::Connection& conn, KafkaContext* ctx, const KafkaListener* listener)
    : conn_(conn),
      ctx_(ctx),
      listener_(listener),
      sasl_state_(listener->sasl ? SaslState::kHandshake : SaslState::kOff) {
  std::lock_guard lock(ctx_->sessions_mu_);
  ctx_->sessions_[conn.id()] = {conn.thread_index(), conn.weak_from_this()};
}

KafkaSession::~KafkaSession() {
  if (closed_) return;  // OnClose already left the registry (the context may be gone since)
  std::lock_guard lock(ctx_->sessions_mu_);
  ctx_->sessions_.erase(conn_.id());
}

net::Session::Action KafkaSession::OnInput(std::string_view input, size_t* consumed,
                                           size_t* need_at_least) {
  size_t pos = 0;
  while (!closing_ && pos < input.size()) {
    std::string_view frame;
    size_t need = 0;
    if (sasl_state_ == SaslState::kRawTokens) {
      // After SaslHandshake v0: int32 size + token, no Kafka header.
      FrameStatus fs = NextFrame(input.substr(pos), kMaxSaslTokenBytes, &frame, &need, 0);
      if (fs == FrameStatus::kNeedMore) {
        *need_at_least = need;
        break;
      }
      pos += 4 + frame.size();
      if (fs == FrameStatus::kBad || !HandleRawSaslToken(frame)) {
        closing_ = true;
        break;
      }
      continue;
    }
    FrameStatus fs = NextFrame(input.substr(pos), ctx_->max_request_bytes, &frame, &need);
    if (fs == FrameStatus::kNeedMore) {
      *need_at_least = need;
      break;
    }
    if (fs == FrameStatus::kBad) {
      spdlog::debug("kafka {}: bad request size, closing", conn_.remote_address());
      closing_ = true;
      break;
    }
    pos += 4 + frame.size();
    RequestHeader h;
    size_t body_offset = 0;
    if (!ParseRequestHeader(frame, &h, &body_offset)) {
      closing_ = true;
      break;
    }
    const ApiRange* api = FindApi(h.api_key);
    if (!api) {
      spdlog::debug("kafka {}: unknown api key {}, closing", conn_.remote_address(), h.api_key);
      closing_ = true;
      break;
    }
    if (h.api_version < api->min || h.api_version > api->max) {
      if (api->key == ApiKey::kApiVersions) {
        // KIP-511: answer in v0 with only ApiVersions' own range, so the
        // client retries with a version we have.
        uint64_t slot = Reserve();
        Respond(slot, h, false, [api](std::string* out) {
          ApiVersionsResponse r{ErrorCode::kUnsupportedVersion, {*api}};
          EncodeApiVersions(r, 0, out);
        });
        continue;
      }
      spdlog::debug("kafka {}: api {} version {} not served, closing", conn_.remote_address(),
                    h.api_key, h.api_version);
      closing_ = true;
      break;
    }
    if (!SaslAllows(api->key)) {
      spdlog::debug("kafka {}: api {} before SASL authentication, closing", conn_.remote_address(),
                    h.api_key);
      closing_ = true;
      break;
    }
    std::string_view body = frame.substr(body_offset);
    if (IsFlexible(*api, h.api_version)) {
      Decoder d(body);
      d.SkipTaggedFields();  // request header v2
      if (!d.ok()) {
        closing_ = true;
        break;
      }
      body = body.substr(d.position());
    }
    if (!Dispatch(h, *api, body)) {
      spdlog::debug("kafka {}: undecodable api {} v{} request, closing", conn_.remote_address(),
                    h.api_key, h.api_version);
      closing_ = true;
      break;
    }
  }
  if (closing_) {
    *consumed = input.size();
    *need_at_least = 0;
    if (slots_.empty()) return Action::kCloseAfterFlush;
    return Action::kContinue;  // Drain closes once the answers due are out
  }
  *consumed = pos;
  return Action::kContinue;
}

bool KafkaSession::Dispatch(const RequestHeader& h, const ApiRange& api, std::string_view body) {
  CheckGeneration();
  switch (api.key) {
    case ApiKey::kApiVersions:
      return HandleApiVersions(h);
    case ApiKey::kMetadata:
      return HandleMetadata(h, body);
    case ApiKey::kProduce:
      return HandleProduce(h, body);
    case ApiKey::kFetch:
      return HandleFetch(h, body);
    case ApiKey::kListOffsets:
      return HandleListOffsets(h, body);
    case ApiKey::kFindCoordinator:
      return HandleFindCoordinator(h, body);
    case ApiKey::kCreateTopics:
      return HandleCreateTopics(h, body);
    case ApiKey::kDeleteTopics:
      return HandleDeleteTopics(h, body);
    case ApiKey::kJoinGroup:
      return HandleJoinGroup(h, body);
    case ApiKey::kSyncGroup:
      return HandleSyncGroup(h, body);
    case ApiKey::kHeartbeat:
      return HandleHeartbeat(h, body);
    case ApiKey::kLeaveGroup:
      return HandleLeaveGroup(h, body);
    case ApiKey::kOffsetCommit:
      return HandleOffsetCommit(h, body);
    case ApiKey::kOffsetFetch:
      return HandleOffsetFetch(h, body);
    case ApiKey::kListGroups:
      return HandleListGroups(h, body);
    case ApiKey::kDescribeGroups:
      return HandleDescribeGroups(h, body);
    case ApiKey::kDeleteRecords:
      return HandleDeleteRecords(h, body);
    case ApiKey::kDeleteGroups:
      return HandleDeleteGroups(h, body);
    case ApiKey::kOffsetDelete:
      return HandleOffsetDelete(h, body);
    case ApiKey::kSaslHandshake:
      return HandleSaslHandshake(h, body);
    case ApiKey::kSaslAuthenticate:
      return HandleSaslAuthenticate(h, body);
    case ApiKey::kInitProducerId:
      return HandleInitProducerId(h, body);
    case ApiKey::kCreatePartitions:
      return HandleCreatePartitions(h, body);
    case ApiKey::kDescribeConfigs:
      return HandleDescribeConfigs(h, body);
  }
  return false;
}

uint64_t KafkaSession::Reserve() {
  slots_.emplace_back();
  return first_slot_ + slots_.size() - 1;
}

void KafkaSession::Complete(uint64_t slot, std::string frame) {
  if (closed_ || slot < first_slot_) return;
  slots_[slot - first_slot_] = std::move(frame);
  Drain();
}

void KafkaSession::Respond(uint64_t slot, const RequestHeader& h, bool header_v1,
                           const std::function<void(std::string*)>& body) {
  std::string frame;
  size_t start = BeginResponse(&frame, h.correlation_id, header_v1);
  body(&frame);
  FinishResponse(&frame, start);
  Complete(slot, std::move(frame));
}

void KafkaSession::CompleteWithFiles(uint64_t slot, std::string frame,
                                     std::vector<FileSplice> files) {
  if (closed_ || slot < first_slot_) return;
  slot_files_[slot] = std::move(files);
  Complete(slot, std::move(frame));
}

void KafkaSession::Drain() {
  bool any = false;
  while (!slots_.empty() && slots_.front()) {
    auto files = slot_files_.empty() ? slot_files_.end() : slot_files_.find(first_slot_);
    if (files == slot_files_.end()) {
      conn_.out().Append(*slots_.front());
    } else {
      const std::string_view frame = *slots_.front();
      size_t from = 0;
      for (FileSplice& f : files->second) {
        conn_.out().Append(frame.substr(from, f.at - from));
        conn_.out().AppendFile(std::move(f.chunk));
        from = f.at;
      }
      conn_.out().Append(frame.substr(from));
      slot_files_.erase(files);
    }
    slots_.pop_front();
    first_slot_++;
    any = true;
  }
  if (closing_ && slots_.empty()) {
    conn_.CloseAfterFlush();
  } else if (any) {
    conn_.FlushSoon();  // responses complete one by one: one write for a burst
  }
}

void KafkaSession::PostHere(std::function<void()> fn) {
  boost::asio::post(ctx_->pool->context(conn_.thread_index()),
                    [conn = conn_.shared_from_this(), this, fn = std::move(fn)] {
                      if (!closed_) fn();
                    });
}

void KafkaSession::CheckGeneration() {
  uint64_t g = ctx_->topics_generation.load();
  if (g == generation_) return;
  generation_ = g;
  readers_.clear();
  producers_.clear();
}

Reader* KafkaSession::ReaderFor(const std::string& topic, int32_t partition, Status* error) {
  Key key(topic, partition);
  auto it = readers_.find(key);
  if (it != readers_.end()) return it->second.get();
  auto r = ctx_->log->NewReader(topic, partition, StartPosition::Earliest());
  if (!r.ok()) {
    *error = r.status();
    return nullptr;
  }
  if (readers_.size() >= 4096) readers_.clear();  // bound what one client can pin
  return (readers_[key] = std::move(*r)).get();
}

Producer* KafkaSession::ProducerFor(std::string_view topic, Status* error) {
  auto it = producers_.find(topic);
  if (it != producers_.end()) return it->second.get();
  auto p = ctx_->log->NewProducer(topic, /*auto_create=*/false);  // Kafka: no create on produce
  if (!p.ok()) {
    *error = p.status();
    return nullptr;
  }
  if (producers_.size() >= 4096) producers_.clear();
  return (producers_[std::string(topic)] = std::move(*p)).get();
}

}  // namespace runnel::kafka
