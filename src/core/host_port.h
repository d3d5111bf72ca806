// Listen addresses as people write them in flags and configuration: "HOST:PORT" and
// "[V6]:PORT", and whether a host is one only this machine can reach.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace cloudpact {

// Splits "host:port" or "[v6]:port" (the brackets are dropped). The host must be non-empty
// and the port a decimal number from 0 to 65535; it is not resolved. kInvalidArgument
// otherwise, with a message that calls the address `what` ("syslog listen address").
Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                       std::string_view what = "listen address");

// True for "localhost" and for an IP address in 127.0.0.0/8 or ::1 (an IPv6 zone, "::1%lo",
// is ignored). Names other than "localhost" are not resolved: they are not loopback.
bool IsLoopbackHost(std::string_view host);

}  // namespace cloudpact
