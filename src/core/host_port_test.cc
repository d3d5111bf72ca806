#include "core/host_port.h"

#include <gtest/gtest.h>

#include <string>

namespace cloudpact {
namespace {

TEST(SplitHostPort, Ipv4AndNames) {
  auto hp = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 8080);
  hp = SplitHostPort("logs.example:0");  // port 0: the listener picks one
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->first, "logs.example");
  EXPECT_EQ(hp->second, 0);
}

TEST(SplitHostPort, BracketedIpv6) {
  auto hp = SplitHostPort("[::1]:6514");
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 6514);
  // Without brackets the last colon splits, as for any host.
  hp = SplitHostPort("::1:22");
  ASSERT_TRUE(hp.ok()) << hp.error().message;
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 22);
  for (const char* bad : {"[::1]", "[::1]6514", "[::1:6514", "[]:80"}) {
    EXPECT_FALSE(SplitHostPort(bad).ok()) << bad;
  }
}

TEST(SplitHostPort, MissingPort) {
  auto hp = SplitHostPort("localhost");
  ASSERT_FALSE(hp.ok());
  EXPECT_EQ(hp.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hp.error().message, "listen address must be HOST:PORT");
  EXPECT_FALSE(SplitHostPort("localhost:").ok());
  EXPECT_FALSE(SplitHostPort(":8080").ok());  // nor a missing host
}

TEST(SplitHostPort, BadPort) {
  for (const char* bad : {"h:65536", "h:-1", "h:80x", "h:http", "[::1]:99999"}) {
    auto hp = SplitHostPort(bad);
    ASSERT_FALSE(hp.ok()) << bad;
    EXPECT_EQ(hp.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(SplitHostPort("h:65535").ok());
  // The message names the address as the caller calls it.
  auto hp = SplitHostPort("h:70000", "syslog listen address");
  ASSERT_FALSE(hp.ok());
  EXPECT_EQ(hp.error().message, "bad syslog listen address \"h:70000\"");
}

TEST(IsLoopbackHost, LoopbackAddressesAndLocalhost) {
  for (const char* host :
       {"localhost", "127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1", "::1%lo"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  // Anything reachable from elsewhere, and names other than localhost (not resolved).
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:127.0.0.1", "fe80::1",
                           "localhost.example", "example.com", "", "127.0.0.1:80"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace cloudpact
