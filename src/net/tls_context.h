// TLS server contexts from PEM files (OpenSSL 3 through asio::ssl).
#pragma once

#include "runnel/status.h"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace runnel::net {

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  std::string ca_file;    // non-empty: clients must present a certificate signed by it
};

// TLS 1.2+ server context. With a CA file, mutual TLS: a client without a
// valid certificate fails the handshake. Errors name the file at fault.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

}  // namespace runnel::net
