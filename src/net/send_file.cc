#include "net/send_file.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>

namespace runnel::net {

SendFileResult SendFileSome(int socket, const FileChunk& chunk) {
  // The kernel moves at most ~2 GiB per call; a socket takes far less.
  const size_t count = static_cast<size_t>(std::min<uint64_t>(chunk.length, 1 << 30));
  off_t offset = static_cast<off_t>(chunk.offset);
  for (;;) {
    const ssize_t n = ::sendfile(socket, chunk.fd, &offset, count);
    if (n > 0) return {static_cast<size_t>(n), false, 0};
    if (n == 0) return {0, false, EIO};  // the file is shorter than the range
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, true, 0};
    return {0, false, errno};
  }
}

}  // namespace runnel::net
