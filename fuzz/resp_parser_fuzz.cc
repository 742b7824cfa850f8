// Fuzzes the RESP request parser. The input is parsed whole, then again fed
// in chunks (as NATS' FuzzParser checks "partial (chunked) message
// delivery"); both must give the same commands, the same error and leave the
// same bytes. Nothing may crash, hang, or read out of bounds.
//
// Input layout: byte 0 picks the options, byte 1 the number n (1..8) of
// chunk-size bytes that follow; chunk sizes are those bytes + 1, cycled. The
// rest is the byte stream a client sent.
#include "protocol/resp/resp_parser.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using runnel::resp::CommandBatch;
using runnel::resp::ErrorText;
using runnel::resp::ParseError;
using runnel::resp::ParseResult;
using runnel::resp::ParserLimits;
using runnel::resp::RespParser;

namespace {

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  ParseError error = ParseError::kNone;
  char got = 0;
  size_t left = 0;

  bool operator==(const Outcome&) const = default;
};

struct Options {
  ParserLimits limits;
  bool auth_required = false;
  size_t max_commands = SIZE_MAX;
};

void Collect(const CommandBatch& batch, Outcome* o) {
  for (auto cmd : batch) o->commands.emplace_back(cmd.begin(), cmd.end());
}

// Parses `input` as a connection would, appending `sizes`-sized pieces (all of
// it at once when `sizes` is empty) and dropping consumed bytes each time.
Outcome Run(std::string_view input, const std::vector<size_t>& sizes, const Options& opt) {
  RespParser parser(opt.limits);
  parser.set_auth_required(opt.auth_required);
  CommandBatch batch;
  std::string buf;
  Outcome o;
  size_t at = 0, k = 0;
  while (true) {
    size_t n = sizes.empty() ? input.size() - at : sizes[k++ % sizes.size()];
    n = std::min(n, input.size() - at);
    buf.append(input.substr(at, n));
    at += n;
    // Parse until stalled: max_commands may stop early with bytes to go.
    while (true) {
      ParseResult r = parser.Parse(buf, &batch, opt.max_commands);
      Collect(batch, &o);
      batch.clear();
      if (r.consumed > buf.size()) __builtin_trap();
      buf.erase(0, r.consumed);
      if (!r.ok()) {
        if (ErrorText(r).rfind("ERR Protocol error: ", 0) != 0) __builtin_trap();
        o.error = r.error;
        o.got = r.got;
        o.left = buf.size() + (input.size() - at);
        return o;
      }
      if (buf.empty()) {
        if (r.need_at_least != 0 || parser.has_pending()) __builtin_trap();
        break;
      }
      if (r.need_at_least == 0) continue;                   // stopped by max_commands
      if (r.need_at_least <= buf.size()) __builtin_trap();  // stalled for nothing
      break;
    }
    if (at == input.size()) break;
  }
  o.left = buf.size();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t n = 1 + data[1] % 8;
  if (size < 2 + n) return 0;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < n; ++i) sizes.push_back(size_t{data[2 + i]} + 1);
  std::string_view input(reinterpret_cast<const char*>(data) + 2 + n, size - 2 - n);

  Options opt;
  if (flags & 1) {
    // Small limits, so that inputs of fuzzer size reach every limit check.
    opt.limits.max_inline_len = 8 + (flags >> 4) * 4;
    opt.limits.max_bulk_len = 16 + (flags >> 4);
    opt.limits.max_multibulk_len = 4 + (flags >> 5);
  }
  opt.auth_required = (flags & 2) != 0;
  if (flags & 4) opt.max_commands = 1 + ((flags >> 3) & 1);

  Outcome whole = Run(input, {}, opt);
  Outcome chunked = Run(input, sizes, opt);
  if (!(whole == chunked)) __builtin_trap();
  Outcome bytewise = Run(input, {1}, opt);
  if (!(whole == bytewise)) __builtin_trap();
  return 0;
}
