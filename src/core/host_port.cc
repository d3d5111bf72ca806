#include "core/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>

namespace cloudpact {

Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                       std::string_view what) {
  const std::string listen(address);
  const std::string name(what);
  std::string host, port;
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return MakeError(ErrorCode::kInvalidArgument, name + " must be HOST:PORT or [V6]:PORT");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, name + " must be HOST:PORT");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (host.empty() || port.empty() || *end != '\0' || p < 0 || p > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "bad " + name + " \"" + listen + "\"");
  }
  return std::make_pair(host, static_cast<uint16_t>(p));
}

// inet_pton rather than Boost.Asio's make_address, so that core needs no Boost; it reads
// addresses the way Asio does: IPv6 first, its zone ("%eth0") set aside, then dotted IPv4.
bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  const std::string text(host);
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.substr(0, text.find('%')).c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

}  // namespace cloudpact
