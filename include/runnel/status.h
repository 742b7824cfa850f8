// Status and Result<T>: how every runnel call reports failure.
//
// A Status is a code plus a human-readable message that names what is at
// fault (the file, the offset, the argument). OK carries no message and costs
// no allocation. Errors are values: no runnel API throws across its boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace runnel {

// Codes name what a caller can act on.
enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound,         // topic, partition or offset does not exist
  kAlreadyExists,    // topic already exists
  kInvalidArgument,  // bad name, bad option, bad record
  kTooLarge,         // record or name over a configured limit
  kCorruption,       // bytes on disk fail a CRC or a structural check
  kIoError,          // the OS refused a read/write/sync (see message for errno)
  kNoSpace,          // ENOSPC / EDQUOT: nothing was acknowledged for the failed write
  kReadOnly,         // EROFS / EACCES on a path we must write
  kBusy,             // a lock is held by another process and we may not wait
  kTimedOut,         // Poll() or a wait ended with no result
  kClosed,           // the object was closed, or a failed sync fenced the partition
  kNotSupported,     // a format feature this build cannot handle
  kOutOfRange,       // an offset past the partition's end (DeleteRecordsBefore)
  // Idempotent producers (a batch's producer id/epoch/sequence; Kafka's
  // ProducerStateManager rules, docs/protocols/kafka.md):
  kOutOfOrderSequence,  // the batch's first sequence does not follow the last one
  kUnknownProducer,     // unknown producer id and a first sequence other than 0
  kStaleEpoch,          // producer epoch lower than the one the partition knows
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status TooLarge(std::string msg) { return {StatusCode::kTooLarge, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {StatusCode::kNoSpace, std::move(msg)}; }
  static Status ReadOnly(std::string msg) { return {StatusCode::kReadOnly, std::move(msg)}; }
  static Status Busy(std::string msg) { return {StatusCode::kBusy, std::move(msg)}; }
  static Status TimedOut(std::string msg) { return {StatusCode::kTimedOut, std::move(msg)}; }
  static Status Closed(std::string msg) { return {StatusCode::kClosed, std::move(msg)}; }
  static Status NotSupported(std::string msg) {
    return {StatusCode::kNotSupported, std::move(msg)};
  }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool Is(StatusCode code) const { return code_ == code; }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none. A Result built from
// a Status must be given an error; an OK Status without a value is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInvalidArgument, "OK without value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace runnel
