// ReplyQueue: a connection's replies in command order when some of them are
// not known yet (a durable append waits for its fsync policy's durability
// point; a blocked XREAD waits for an entry).
//
// Each command that will answer later takes a slot (Reserve); replies of
// commands that answer at once go into the ready slot at the back (Tail)
// when anything is pending, else straight to the connection. Fill() sets a
// slot and moves the ready prefix, oldest first, to the sink: replies leave
// in the order their commands arrived, whatever order results come in.
// Pub/sub pushes do not go through the queue (RESP3 allows them anywhere).
//
// Thread safety: none; it belongs to the connection's io thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace runnel::resp {

class ReplyQueue {
 public:
  // True when nothing waits: a reply may go straight to the connection.
  bool idle() const { return slots_.empty(); }
  size_t pending() const { return slots_.size(); }

  // The string a reply made now must be appended to (only when !idle()).
  std::string& Tail() {
    if (slots_.empty() || !slots_.back().ready) slots_.push_back({{}, true});
    return slots_.back().bytes;
  }

  // A slot for a reply that comes later; its sequence number.
  uint64_t Reserve() {
    slots_.push_back({{}, false});
    return base_ + slots_.size() - 1;
  }

  // Fills slot `seq` and hands the ready prefix to sink(std::string&&).
  // Returns false if `seq` is unknown (already filled, or cleared).
  template <typename Sink>
  bool Fill(uint64_t seq, std::string bytes, Sink&& sink) {
    if (seq < base_ || seq - base_ >= slots_.size()) return false;
    Slot& slot = slots_[seq - base_];
    if (slot.ready) return false;
    slot.bytes = std::move(bytes);
    slot.ready = true;
    while (!slots_.empty() && slots_.front().ready) {
      sink(std::move(slots_.front().bytes));
      slots_.pop_front();
      ++base_;
    }
    return true;
  }

 private:
  struct Slot {
    std::string bytes;
    bool ready;
  };
  std::deque<Slot> slots_;
  uint64_t base_ = 0;  // sequence number of slots_.front()
};

}  // namespace runnel::resp
