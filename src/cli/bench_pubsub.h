// `runnel bench pubsub`: a RESP pub/sub load generator, so runnel's broker
// and redis-server are measured by the same code (see bench_pubsub.cc for
// the workloads and how the measurement works).
//
// The payload layout and the per-publisher sequence bookkeeping are here so
// the tests can check them without a server.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace runnel::cli {

// Adds `pubsub` under the `runnel bench` command (cmd_bench.cc calls it).
void RegisterBenchPubsub(CLI::App* bench);

// ---- Payload ------------------------------------------------------------------
//
//   bytes 0..7   send time, CLOCK_MONOTONIC ns (host byte order: the
//                publisher and the subscribers are one process)
//   bytes 8..15  publisher id (high 16 bits) | sequence (low 48 bits, from 1)
//   bytes 16..   filler up to --size
inline constexpr size_t kStampBytes = 16;
inline constexpr uint32_t kMaxPublishers = 1u << 16;
inline constexpr int kSequenceBits = 48;

struct Stamp {
  int64_t send_ns = 0;
  uint32_t publisher = 0;
  uint64_t sequence = 0;
};

inline void WriteStamp(char* out, const Stamp& s) {
  const uint64_t id_seq = (uint64_t{s.publisher} << kSequenceBits) |
                          (s.sequence & ((uint64_t{1} << kSequenceBits) - 1));
  std::memcpy(out, &s.send_ns, 8);
  std::memcpy(out + 8, &id_seq, 8);
}

// False if the payload is too short to carry a stamp.
inline bool ReadStamp(std::string_view payload, Stamp* s) {
  if (payload.size() < kStampBytes) return false;
  uint64_t id_seq;
  std::memcpy(&s->send_ns, payload.data(), 8);
  std::memcpy(&id_seq, payload.data() + 8, 8);
  s->publisher = static_cast<uint32_t>(id_seq >> kSequenceBits);
  s->sequence = id_seq & ((uint64_t{1} << kSequenceBits) - 1);
  return true;
}

// ---- Loss and order -------------------------------------------------------------

// One subscriber's view of the publishers that feed its channel, indexed by
// a local publisher number. Loss is counted per publisher as "sent minus
// received" at the end, so a late (reordered) message is an order violation
// but not also a loss; a message older than one already seen from the same
// publisher is an order violation.
class SequenceTracker {
 public:
  explicit SequenceTracker(size_t publishers) : last_(publishers, 0), received_(publishers, 0) {}

  void Observe(size_t publisher, uint64_t sequence) {
    ++received_[publisher];
    uint64_t& last = last_[publisher];
    if (sequence > last) {
      last = sequence;
    } else {
      ++order_violations_;
    }
  }

  // Messages from `publisher` not received, given that it sent `sent`. A
  // duplicate would hide a loss (received counts it), but shows as an order
  // violation, so a clean run has both at zero.
  uint64_t Lost(size_t publisher, uint64_t sent) const {
    return sent > received_[publisher] ? sent - received_[publisher] : 0;
  }
  uint64_t order_violations() const { return order_violations_; }

 private:
  std::vector<uint64_t> last_;
  std::vector<uint64_t> received_;
  uint64_t order_violations_ = 0;
};

}  // namespace runnel::cli
