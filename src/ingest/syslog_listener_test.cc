// The syslog frame decoder (RFC 6587), and the listener end to end over real loopback TCP and
// TLS sockets. Waits have generous deadlines that only guard against hangs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest/syslog_listener.h"
#include "testing/backends.h"

namespace cloudpact::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
constexpr auto kHangGuard = std::chrono::seconds(60);

std::string Octet(const std::string& msg) { return std::to_string(msg.size()) + " " + msg; }

struct Decoded {
  std::vector<std::string> messages;  // their texts
  std::vector<size_t> cut;            // indexes of the messages flagged truncated
  bool ok = true;
  std::string error;
};

std::vector<std::string> Texts(const std::vector<SyslogMessage>& m) {
  std::vector<std::string> t;
  for (const auto& x : m) t.push_back(x.text);
  return t;
}

// Decodes `stream` fed in pieces of `piece` bytes (0: all at once), then finishes it.
Decoded Decode(const std::string& stream, size_t max = 65536, size_t piece = 0, SyslogFrameDecoder* keep = nullptr) {
  SyslogFrameDecoder local(max);
  SyslogFrameDecoder& d = keep ? *keep : local;
  Decoded r;
  std::vector<SyslogMessage> out;
  size_t step = piece == 0 ? std::max<size_t>(stream.size(), 1) : piece;
  for (size_t i = 0; i < stream.size() && r.ok; i += step) {
    auto s = d.Feed(std::string_view(stream).substr(i, step), out);
    if (!s.ok()) {
      r.ok = false;
      r.error = s.error().message;
    }
  }
  if (r.ok) {
    auto s = d.Finish(out);
    if (!s.ok()) {
      r.ok = false;
      r.error = s.error().message;
    }
  }
  r.messages = Texts(out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].truncated) r.cut.push_back(i);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Decoder

const std::string k5424 = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                          "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event";
const std::string k3164 = "<38>Oct 11 22:14:15 host sshd[4242]: Accepted publickey for alice from 10.0.0.5 port 50000 ssh2";

TEST(SyslogFrameDecoder, OctetCounting) {
  auto r = Decode(Octet(k5424) + Octet(k3164));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.messages, (std::vector<std::string>{k5424, k3164}));
  // A sender counting its trailing LF (or CRLF), and one adding a LF after each frame.
  r = Decode(Octet(k3164 + "\n") + Octet(k5424 + "\r\n") + Octet("<1>x") + "\n" + Octet("<2>y"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.messages, (std::vector<std::string>{k3164, k5424, "<1>x", "<2>y"}));
}

TEST(SyslogFrameDecoder, NonTransparentFraming) {
  auto r = Decode(k3164 + "\n" + k5424 + "\r\n\n\r\n<13>after NUL\0<14>unterminated at the end"s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.messages, (std::vector<std::string>{k3164, k5424, "<13>after NUL", "<14>unterminated at the end"}));
  // A leading zero is no octet count: the frame is an LF-framed message.
  r = Decode("012 not a count\n0\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.messages, (std::vector<std::string>{"012 not a count", "0"}));
}

TEST(SyslogFrameDecoder, MixedFramingOnOneConnectionSplitAnywhere) {
  std::string stream = Octet(k5424) + k3164 + "\n" + Octet("<1>a\nb") + "<2>plain\r\n" + Octet(k3164);
  std::vector<std::string> want{k5424, k3164, "<1>a#012b", "<2>plain", k3164};
  for (size_t piece : {0, 1, 2, 3, 7, 50, 99}) {
    auto r = Decode(stream, 65536, piece);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.messages, want) << "pieces of " << piece;
  }
  // Two arbitrary cut points.
  for (size_t a = 0; a <= stream.size(); a += 13) {
    for (size_t b = a; b <= stream.size(); b += 17) {
      SyslogFrameDecoder d;
      std::vector<SyslogMessage> got;
      ASSERT_TRUE(d.Feed(stream.substr(0, a), got).ok());
      ASSERT_TRUE(d.Feed(stream.substr(a, b - a), got).ok());
      ASSERT_TRUE(d.Feed(stream.substr(b), got).ok());
      ASSERT_TRUE(d.Finish(got).ok());
      EXPECT_EQ(Texts(got), want) << a << " " << b;
    }
  }
}

TEST(SyslogFrameDecoder, ControlCharactersAreEscapedSoThatAMessageIsOneLine) {
  auto r = Decode(Octet("<1>a\nb\rc"s + '\0' + "d#012e"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.messages, (std::vector<std::string>{"<1>a#012b#015c#000d#012e"}));
  r = Decode("<1>x\ry\n");
  EXPECT_EQ(r.messages, (std::vector<std::string>{"<1>x#015y"}));
  EXPECT_EQ(EscapeSyslogMessage("\n\r\0"s), "#012#015#000");
}

TEST(SyslogFrameDecoder, LongLfFramedMessagesAreCutAndTheRestSkipped) {
  for (size_t piece : {0, 1, 4}) {
    SyslogFrameDecoder d(10);
    auto r = Decode("<1>3456789ABCDEF\n<2>ok\n<3>3456789\r\n<4>34567890\r\n<5>long and unterminated", 10, piece, &d);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.messages, (std::vector<std::string>{"<1>3456789", "<2>ok", "<3>3456789", "<4>3456789", "<5>long an"}));
    EXPECT_EQ(d.truncated(), 3u) << piece;
    EXPECT_EQ(r.cut, (std::vector<size_t>{0, 3, 4})) << piece;
  }
}

TEST(SyslogFrameDecoder, ABadOrOversizeOctetCountLosesTheFraming) {
  SyslogFrameDecoder d(100);
  std::vector<SyslogMessage> out;
  auto s = d.Feed(Octet("<1>kept") + "101 " + std::string(101, 'x'), out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("above"), std::string::npos);
  EXPECT_EQ(Texts(out), (std::vector<std::string>{"<1>kept"}));  // what came before still counts
  EXPECT_FALSE(d.Feed("<2>more\n", out).ok());           // and the decoder stays failed
  EXPECT_FALSE(d.Finish(out).ok());
  EXPECT_EQ(out.size(), 1u);

  auto r = Decode("12x <1>abcdefgh");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("invalid syslog octet count"), std::string::npos);
  r = Decode("7 <1>abc", 5);  // a one-digit count is checked too
  EXPECT_FALSE(r.ok);
  r = Decode("99999999999999999999999999 x");  // no overflow, just too big
  EXPECT_FALSE(r.ok);
  r = Decode(Octet("<1>whole") + "20 <1>cut short");  // the stream ends inside a frame
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.messages, (std::vector<std::string>{"<1>whole"}));
}

// ---------------------------------------------------------------------------------------
// Listener

// A plain TCP client on loopback.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{static_cast<time_t>(kHangGuard.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { Close(); }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // True when the server closed the connection: reads (discarding, e.g. a TLS alert) see EOF
  // or a reset before the hang guard.
  bool ClosedByServer() {
    char buf[512];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) continue;
      return n == 0 || errno == ECONNRESET;
    }
  }
  void SetSendBuffer(int bytes) { ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Reads the listener's spool on a thread, committing each chunk when `commit` is set.
class Reader {
 public:
  explicit Reader(Source& source, bool commit = false, std::string cursor = "") {
    thread_ = std::thread([this, &source, commit, cursor] {
      auto s = source.Run(cursor, [&](LineChunk c) {
        if (commit) source.Committed(c.cursor);
        std::lock_guard<std::mutex> lock(mu_);
        lines_.insert(lines_.end(), c.lines.begin(), c.lines.end());
        cut_.insert(cut_.end(), c.truncated_line_nos.begin(), c.truncated_line_nos.end());
        cursor_ = c.cursor;
        cv_.notify_all();
        return true;
      }, stop_);
      EXPECT_TRUE(s.ok()) << s.error().message;
    });
  }
  ~Reader() { Stop(); }
  std::vector<std::string> WaitLines(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return lines_.size() >= n; }))
        << "hang guard: " << lines_.size() << " of " << n << " lines";
    return lines_;
  }
  std::string cursor() {
    std::lock_guard<std::mutex> lock(mu_);
    return cursor_;
  }
  std::vector<uint64_t> truncated_line_nos() {
    std::lock_guard<std::mutex> lock(mu_);
    return cut_;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<uint64_t> cut_;
  std::string cursor_;
};

bool WaitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

SyslogListenerOptions Loopback(const fs::path& spool) {
  SyslogListenerOptions o;
  o.listen = "127.0.0.1:0";
  o.spool_dir = spool.string();
  return o;
}

TEST(SyslogListener, ReceivesRfc5424AndRfc3164OverTcpIntoTheSpool) {
  auto dir = testing::TempDir("syslog-tcp");
  std::vector<std::string> got;
  std::string cursor;
  {
    auto l = SyslogListener::Start(Loopback(dir / "spool"));
    ASSERT_TRUE(l.ok()) << l.error().message;
    ASSERT_NE((*l)->port(), 0);
    Client a((*l)->port());
    ASSERT_TRUE(a.connected());
    ASSERT_TRUE(a.Send(Octet(k5424) + k3164 + "\n" + Octet("<13>multi\nline")));
    Reader r(**l);
    got = r.WaitLines(3);
    EXPECT_EQ(got, (std::vector<std::string>{k5424, k3164, "<13>multi#012line"}));
    cursor = r.cursor();
    // A second sender, and the first one's last message without a trailing LF.
    Client b((*l)->port());
    ASSERT_TRUE(b.Send("<14>from b\n"));
    ASSERT_TRUE(a.Send("<15>last of a"));
    a.Close();
    got = r.WaitLines(5);
    EXPECT_EQ(std::set<std::string>(got.begin() + 3, got.end()),
              (std::set<std::string>{"<14>from b", "<15>last of a"}));
    // The counters follow the spool's append, so a reader may see lines a moment earlier.
    EXPECT_TRUE(WaitFor([&] { return (*l)->stats().messages == 5; })) << (*l)->stats().messages;
    auto stats = (*l)->stats();
    EXPECT_EQ(stats.connections, 2u);
    r.Stop();
    (*l)->Stop();
  }
  // A restarted listener still has what was not committed.
  auto again = SyslogListener::Start(Loopback(dir / "spool"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  Reader r(**again, false, cursor);
  auto rest = r.WaitLines(2);
  EXPECT_EQ(rest, std::vector<std::string>(got.begin() + 3, got.end()));
}

TEST(SyslogListener, ClosesAConnectionWhoseFramingIsLostKeepingWhatCameBefore) {
  auto dir = testing::TempDir("syslog-framing");
  auto o = Loopback(dir / "spool");
  o.max_message_bytes = 1000;
  auto l = SyslogListener::Start(o);
  ASSERT_TRUE(l.ok());
  Client c((*l)->port());
  ASSERT_TRUE(c.Send(Octet("<1>before") + "5000 " + std::string(100, 'x')));
  EXPECT_TRUE(c.ClosedByServer());
  Reader r(**l);
  EXPECT_EQ(r.WaitLines(1), (std::vector<std::string>{"<1>before"}));
  EXPECT_TRUE(WaitFor([&] { return (*l)->stats().framing_errors == 1; }));
  // An LF-framed message over the limit is cut, and the connection stays.
  Client d((*l)->port());
  ASSERT_TRUE(d.Send("<2>" + std::string(2000, 'y') + "\n<3>next\n"));
  auto lines = r.WaitLines(3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "<2>" + std::string(997, 'y'));
  EXPECT_EQ(lines[2], "<3>next");
  EXPECT_EQ((*l)->stats().truncated, 1u);
  EXPECT_EQ(r.truncated_line_nos(), (std::vector<uint64_t>{2}));  // a dead letter for the pipeline
}

TEST(SyslogListener, RefusesPlainTcpOffLoopbackAndBadOptions) {
  auto dir = testing::TempDir("syslog-refuse");
  auto o = Loopback(dir / "spool");
  o.listen = "0.0.0.0:0";
  auto l = SyslogListener::Start(o);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(l.error().message.find("TLS"), std::string::npos);
  o.listen = "10.1.2.3:6514";
  EXPECT_FALSE(SyslogListener::Start(o).ok());
  o.listen = "[::1]:0";  // loopback v6 is fine (if the host has it)
  o.tls_cert = "/nonexistent.pem";
  l = SyslogListener::Start(o);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, ErrorCode::kInvalidArgument);  // one of the pair only
  o.tls_cert.clear();
  o.spool_dir.clear();
  EXPECT_FALSE(SyslogListener::Start(o).ok());
  o = Loopback(dir / "spool");
  o.spool_max_bytes = 1 << 20;
  o.max_message_bytes = 1 << 16;
  EXPECT_FALSE(SyslogListener::Start(o).ok());  // the spool must hold 32 messages
  o = Loopback(dir / "spool");
  o.listen = "127.0.0.1";
  EXPECT_FALSE(SyslogListener::Start(o).ok());  // no port
  o.listen = "localhost:0";
  EXPECT_TRUE(SyslogListener::Start(o).ok());
}

TEST(SyslogListener, ReceivesOverTls) {
  auto dir = testing::TempDir("syslog-tls");
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI is needed (installed by scripts/setup.sh)";
  auto o = Loopback(dir / "spool");
  o.tls_cert = cert;
  o.tls_key = key;
  auto l = SyslogListener::Start(o);
  ASSERT_TRUE(l.ok()) << l.error().message;

  // Plain TCP to the TLS port gets nowhere.
  {
    Client plain((*l)->port());
    ASSERT_TRUE(plain.Send("<13>in clear\n"));
    EXPECT_TRUE(plain.ClosedByServer());
  }

  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(cert);
  asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
  s.set_verify_mode(asio::ssl::verify_peer);
  s.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  boost::system::error_code ec;
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), (*l)->port()}, ec);
  ASSERT_FALSE(ec) << ec.message();
  s.handshake(asio::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_GE(SSL_version(s.native_handle()), TLS1_2_VERSION);
  std::string data = Octet(k5424) + Octet(k3164);
  asio::write(s, asio::buffer(data), ec);
  ASSERT_FALSE(ec) << ec.message();
  Reader r(**l);
  EXPECT_EQ(r.WaitLines(2), (std::vector<std::string>{k5424, k3164}));
  s.shutdown(ec);
  EXPECT_TRUE(WaitFor([&] { return (*l)->stats().messages == 2; }));  // nothing from the plain-text attempt
  EXPECT_EQ((*l)->stats().messages, 2u);
}

TEST(SyslogListener, AFullSpoolPausesTheSenderAndLosesNothing) {
  auto dir = testing::TempDir("syslog-backpressure");
  auto o = Loopback(dir / "spool");
  o.max_message_bytes = 2048;
  o.spool_max_bytes = 32 * 2048;  // 64 KiB
  auto l = SyslogListener::Start(o);
  ASSERT_TRUE(l.ok()) << l.error().message;
  // 4 MB: far more than the spool, the listener's read buffer and both sockets' buffers
  // (the sender's is kept small, the receiver's does not grow while nobody reads it).
  constexpr int kMessages = 4000;
  std::vector<std::string> sent;
  for (int i = 0; i < kMessages; ++i) {
    char head[64];
    std::snprintf(head, sizeof(head), "<13>Oct 11 22:14:15 host app[1]: message %05d ", i);
    sent.push_back(head + std::string(1000 - std::strlen(head), 'p'));
  }
  std::atomic<bool> all_sent{false};
  Client c((*l)->port());
  c.SetSendBuffer(16 * 1024);
  std::thread sender([&] {
    std::string stream;
    for (int i = 0; i < kMessages; ++i) stream += (i % 2 ? Octet(sent[i]) : sent[i] + "\n");
    EXPECT_TRUE(c.Send(stream));
    all_sent = true;
  });
  // The spool fills up and the listener stops reading, so the sender blocks.
  ASSERT_TRUE(WaitFor([&] { return (*l)->stats().spool_full_waits > 0; }));
  EXPECT_LE((*l)->spool().bytes_used(), o.spool_max_bytes);
  EXPECT_FALSE(all_sent);
  // A pipeline that commits what it reads frees room: everything arrives, in order, once.
  Reader r(**l, /*commit=*/true);
  auto got = r.WaitLines(kMessages);
  sender.join();
  EXPECT_TRUE(all_sent);
  EXPECT_TRUE(got == sent) << got.size() << " lines";
  EXPECT_TRUE(WaitFor([&] { return (*l)->stats().messages == static_cast<uint64_t>(kMessages); }))
      << (*l)->stats().messages;
  EXPECT_LE((*l)->spool().bytes_used(), o.spool_max_bytes);
}

TEST(SyslogListener, BoundsConnectionsAndIdleTime) {
  auto dir = testing::TempDir("syslog-bounds");
  auto o = Loopback(dir / "spool");
  o.max_connections = 1;
  o.idle_timeout_seconds = 1;
  auto l = SyslogListener::Start(o);
  ASSERT_TRUE(l.ok());
  Client first((*l)->port());
  ASSERT_TRUE(first.Send("<1>first\n"));
  Reader r(**l);
  ASSERT_EQ(r.WaitLines(1).size(), 1u);  // the first is accepted and counted
  Client second((*l)->port());
  EXPECT_TRUE(second.ClosedByServer());
  EXPECT_EQ((*l)->stats().connections_refused, 1u);
  EXPECT_TRUE(first.ClosedByServer());  // idle for a second
  ASSERT_TRUE(WaitFor([&] { return (*l)->stats().open_connections == 0; }));
  Client third((*l)->port());  // room again
  ASSERT_TRUE(third.Send("<1>third\n"));
  EXPECT_EQ(r.WaitLines(2).back(), "<1>third");
}

TEST(SyslogListener, StopClosesConnectionsAndIsIdempotent) {
  auto dir = testing::TempDir("syslog-stop");
  auto l = SyslogListener::Start(Loopback(dir / "spool"));
  ASSERT_TRUE(l.ok());
  Client c((*l)->port());
  ASSERT_TRUE(c.Send("<1>hello\n"));
  ASSERT_TRUE(WaitFor([&] { return (*l)->stats().messages == 1; }));
  (*l)->Stop();
  EXPECT_TRUE(c.ClosedByServer());
  (*l)->Stop();
  Client late((*l)->port());
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace cloudpact::ingest
