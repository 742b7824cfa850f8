// SendFileSome: one sendfile(2) of a file range to a non-blocking socket,
// the zero-copy half of a plain TCP connection's writes (StreamConnection).
// sendfile has no MSG_NOSIGNAL: the process must ignore SIGPIPE (the
// binary's main does), or a peer that closed mid-send kills it.
#pragma once

#include "net/outbound_buffer.h"

#include <cstddef>

namespace runnel::net {

struct SendFileResult {
  size_t sent = 0;           // bytes the kernel took
  bool would_block = false;  // nothing taken: wait for writability
  int error = 0;             // errno, or EIO when the file ends before the range
};

SendFileResult SendFileSome(int socket, const FileChunk& chunk);

}  // namespace runnel::net
