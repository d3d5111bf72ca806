#include "ingest/syslog_listener.h"

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/host_port.h"
#include "core/log.h"
#include "core/metrics.h"

namespace cloudpact::ingest {

// ---------------------------------------------------------------------------------------
// Framing

std::string EscapeSyslogMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    switch (c) {
      case '\n': out += "#012"; break;
      case '\r': out += "#015"; break;
      case '\0': out += "#000"; break;
      default: out += c;
    }
  }
  return out;
}

SyslogFrameDecoder::SyslogFrameDecoder(size_t max_message_bytes)
    : max_(std::max<size_t>(max_message_bytes, 1)) {}

Status SyslogFrameDecoder::Fail(std::string message) {
  state_ = State::kFailed;
  error_ = std::move(message);
  raw_.clear();
  raw_.shrink_to_fit();
  return MakeError(ErrorCode::kInvalidArgument, error_);
}

void SyslogFrameDecoder::Emit(std::vector<SyslogMessage>& out, bool octet_counted) {
  bool cut = false;
  if (octet_counted) {
    if (!raw_.empty() && raw_.back() == '\n') {
      raw_.pop_back();
      if (!raw_.empty() && raw_.back() == '\r') raw_.pop_back();
    }
  } else {
    if (!raw_.empty() && raw_.back() == '\r') raw_.pop_back();
    if (raw_.size() > max_) {  // max_ + 1 bytes and no CR to strip
      raw_.resize(max_);
      truncated_++;
      cut = true;
    }
  }
  if (!raw_.empty()) out.push_back(SyslogMessage{EscapeSyslogMessage(raw_), cut});
  raw_.clear();
}

namespace {
size_t FindTerminator(std::string_view bytes, size_t from) {
  for (size_t i = from; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' || bytes[i] == '\0') return i;
  }
  return std::string_view::npos;
}
}  // namespace

Status SyslogFrameDecoder::Feed(std::string_view bytes, std::vector<SyslogMessage>& out) {
  size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::kFailed:
        return MakeError(ErrorCode::kInvalidArgument, error_);
      case State::kStart: {
        char c = bytes[i];
        if (c >= '1' && c <= '9') {
          state_ = State::kCount;
          count_ = static_cast<size_t>(c - '0');
          ++i;
          if (count_ > max_) {
            return Fail("syslog octet count above the " + std::to_string(max_) + "-byte message limit");
          }
        } else if (c == '\n' || c == '\0') {
          ++i;  // an empty message
        } else {
          state_ = State::kLine;
          raw_.clear();
        }
        break;
      }
      case State::kCount: {
        char c = bytes[i];
        if (c >= '0' && c <= '9') {
          count_ = count_ * 10 + static_cast<size_t>(c - '0');
          if (count_ > max_) {
            return Fail("syslog octet count above the " + std::to_string(max_) + "-byte message limit");
          }
          ++i;
        } else if (c == ' ') {
          state_ = State::kOctets;
          raw_.clear();
          ++i;
        } else {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned char>(c));
          return Fail(std::string("invalid syslog octet count: byte ") + hex + " after " +
                      std::to_string(count_));
        }
        break;
      }
      case State::kOctets: {
        size_t take = std::min(count_, bytes.size() - i);
        raw_.append(bytes.substr(i, take));
        i += take;
        count_ -= take;
        if (count_ == 0) {
          Emit(out, /*octet_counted=*/true);
          state_ = State::kStart;
        }
        break;
      }
      case State::kLine: {
        size_t end = FindTerminator(bytes, i);
        size_t n = (end == std::string_view::npos ? bytes.size() : end) - i;
        size_t room = max_ + 1 - raw_.size();  // one byte more than the limit, for a CR to strip
        if (n > room) {
          // Too long whatever follows: keep the first max_ bytes, drop the rest of the line.
          raw_.append(bytes.substr(i, room));
          raw_.resize(max_);
          truncated_++;
          out.push_back(SyslogMessage{EscapeSyslogMessage(raw_), true});
          raw_.clear();
          if (end == std::string_view::npos) {
            state_ = State::kSkipLine;
            i = bytes.size();
          } else {
            state_ = State::kStart;
            i = end + 1;
          }
          break;
        }
        raw_.append(bytes.substr(i, n));
        if (end == std::string_view::npos) {
          i = bytes.size();
        } else {
          i = end + 1;
          Emit(out, /*octet_counted=*/false);
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipLine: {
        size_t end = FindTerminator(bytes, i);
        if (end == std::string_view::npos) {
          i = bytes.size();
        } else {
          i = end + 1;
          state_ = State::kStart;
        }
        break;
      }
    }
  }
  if (state_ == State::kFailed) return MakeError(ErrorCode::kInvalidArgument, error_);
  return OkStatus();
}

Status SyslogFrameDecoder::Finish(std::vector<SyslogMessage>& out) {
  switch (state_) {
    case State::kFailed:
      return MakeError(ErrorCode::kInvalidArgument, error_);
    case State::kCount:
    case State::kOctets:
      return Fail("the stream ended inside an octet-counted syslog frame");
    case State::kLine:
      Emit(out, /*octet_counted=*/false);
      state_ = State::kStart;
      return OkStatus();
    case State::kStart:
    case State::kSkipLine:
      state_ = State::kStart;
      return OkStatus();
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------
// Listener

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

constexpr size_t kReadBytes = 64 * 1024;
constexpr auto kSpoolRetry = std::chrono::milliseconds(100);

struct SyslogMetrics {
  metrics::Counter& messages = metrics::Registry::Global().NewCounter(
      "cloudpact_syslog_messages_total", "Syslog messages received and spooled.");
  metrics::Counter& truncated = metrics::Registry::Global().NewCounter(
      "cloudpact_syslog_truncated_total", "Syslog messages cut at the message size limit.");
  metrics::Counter& framing_errors = metrics::Registry::Global().NewCounter(
      "cloudpact_syslog_framing_errors_total", "Syslog connections closed because their framing was lost.");
  metrics::Counter& refused = metrics::Registry::Global().NewCounter(
      "cloudpact_syslog_connections_refused_total", "Syslog connections closed at once: too many open.");
  metrics::Counter& spool_full = metrics::Registry::Global().NewCounter(
      "cloudpact_syslog_spool_full_total", "Times a syslog connection paused reading because the spool was full.");
};
SyslogMetrics& M() {
  static SyslogMetrics* m = new SyslogMetrics;
  return *m;
}

// What every connection shares with the listener.
struct Shared {
  Shared(SyslogListenerOptions o, Spool& s) : options(std::move(o)), spool(s) {}
  const SyslogListenerOptions options;
  Spool& spool;
  std::atomic<bool> stopping{false};
  std::atomic<int> open{0};
  std::atomic<uint64_t> messages{0}, truncated{0}, framing_errors{0}, connections{0}, refused{0},
      spool_full{0};
};

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void Cancel() = 0;  // closes the connection on its strand
};

// One TCP (or TLS) connection: read, decode, spool, and only then read again.
template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream stream, std::shared_ptr<Shared> shared, std::string remote)
      : stream_(std::move(stream)),
        shared_(std::move(shared)),
        remote_(std::move(remote)),
        decoder_(shared_->options.max_message_bytes),
        retry_(stream_.get_executor()),
        buf_(kReadBytes) {}

  ~Connection() override {
    if (!pending_.empty()) {
      log::Error("syslog: connection closed with messages that never found room in the spool",
                 {{"remote", remote_}, {"lost", pending_.size()}});
    }
    shared_->open--;
  }

  void Cancel() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->retry_.cancel();
      self->Close();
    });
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(shared_->options.idle_timeout_seconds));
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          log::Warn("syslog: TLS handshake failed", {{"remote", self->remote_}, {"error", ec.message()}});
          return self->Close();
        }
        self->Read();
      });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Read() {
    if (shared_->stopping) return Close();
    Lowest().expires_after(std::chrono::seconds(shared_->options.idle_timeout_seconds));
    stream_.async_read_some(asio::buffer(buf_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->OnRead(ec, n);
    });
  }

  void OnRead(beast::error_code ec, size_t n) {
    uint64_t cut_before = decoder_.truncated();
    if (n > 0) {
      auto s = decoder_.Feed(std::string_view(buf_.data(), n), decoded_);
      if (!s.ok()) end_ = s.error().message;
    }
    if (ec && !end_) {
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        auto s = decoder_.Finish(decoded_);
        end_ = s.ok() ? "" : s.error().message;
      } else if (ec == beast::error::timeout) {
        log::Info("syslog: closing an idle connection", {{"remote", remote_}});
        end_ = "";
      } else {
        if (ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
          log::Warn("syslog: read failed", {{"remote", remote_}, {"error", ec.message()}});
        }
        end_ = "";
      }
    }
    for (auto& m : decoded_) {
      // The mark of a cut message (SyslogListener::Run): a NUL, which no escaped text holds.
      pending_.push_back(m.truncated ? std::string(1, '\0') + m.text : std::move(m.text));
    }
    decoded_.clear();
    if (uint64_t cut = decoder_.truncated() - cut_before; cut > 0) {
      shared_->truncated += cut;
      M().truncated.Add(cut);
      log::Warn("syslog: message cut at the size limit",
                {{"remote", remote_}, {"limit", shared_->options.max_message_bytes}, {"messages", cut}});
    }
    SpoolPending();
  }

  // Appends what was decoded, in batches the spool can always take once it has room; while
  // the spool is full, retries on a timer without reading, which lets TCP push back.
  void SpoolPending() {
    const uint64_t batch_limit = shared_->spool.max_bytes() / 4;
    while (!pending_.empty()) {
      std::vector<std::string> batch;
      uint64_t bytes = 0;
      size_t k = 0;
      while (k < pending_.size() && (k == 0 || bytes + pending_[k].size() + 1 <= batch_limit)) {
        bytes += pending_[k].size() + 1;
        ++k;
      }
      batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + k));
      auto s = shared_->spool.Append(batch);
      if (!s.ok()) {
        // Put the batch back: it stays ours until the spool holds it.
        std::move(batch.begin(), batch.end(), pending_.begin());
        if (s.error().code == ErrorCode::kResourceExhausted || s.error().code == ErrorCode::kUnavailable) {
          if (!waiting_) {
            shared_->spool_full++;
            M().spool_full.Add();
            if (s.error().code == ErrorCode::kUnavailable) {
              log::Error("syslog: cannot write the spool; holding the connection until it can",
                         {{"remote", remote_}, {"error", s.error().message}});
            }
          }
          waiting_ = true;
          if (shared_->stopping) return Close();
          retry_.expires_after(kSpoolRetry);
          retry_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (ec || self->shared_->stopping) return self->Close();
            self->SpoolPending();
          });
          return;
        }
        log::Error("syslog: the spool refused messages", {{"remote", remote_}, {"error", s.error().message}});
        pending_.clear();
        return Close();
      }
      waiting_ = false;
      pending_.erase(pending_.begin(), pending_.begin() + k);
      shared_->messages += k;
      M().messages.Add(k);
    }
    if (!end_) return Read();
    if (!end_->empty()) {
      shared_->framing_errors++;
      M().framing_errors.Add();
      log::Error("syslog: closing the connection: framing lost", {{"remote", remote_}, {"error", *end_}});
    }
    Close();
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  std::string remote_;
  SyslogFrameDecoder decoder_;
  asio::steady_timer retry_;
  std::vector<char> buf_;
  std::vector<SyslogMessage> decoded_;
  std::vector<std::string> pending_;  // spool lines decoded, not yet in the spool
  std::optional<std::string> end_;    // set once no more is to be read: "" or a framing error
  bool waiting_ = false;              // the spool is full
};

}  // namespace

class SyslogListener::Impl {
 public:
  Impl(std::unique_ptr<Spool> spool, SyslogListenerOptions options)
      : spool_(std::move(spool)),
        shared_(std::make_shared<Shared>(std::move(options), *spool_)),
        acceptor_(ioc_),
        ssl_(asio::ssl::context::tls_server) {}

  ~Impl() { Stop(); }

  Status Init(const std::string& host, uint16_t port) {
    const auto& o = shared_->options;
    tls_ = !o.tls_cert.empty();
    if (tls_) {
      SSL_CTX_set_min_proto_version(ssl_.native_handle(), TLS1_2_VERSION);
      ssl_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      boost::system::error_code ec;
      ssl_.use_certificate_chain_file(o.tls_cert, ec);
      if (ec) return MakeError(ErrorCode::kInvalidArgument, "syslog: cannot load the TLS certificate: " + ec.message());
      ssl_.use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
      if (ec) return MakeError(ErrorCode::kInvalidArgument, "syslog: cannot load the TLS key: " + ec.message());
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) return MakeError(ErrorCode::kInvalidArgument, "syslog listen address \"" + host + "\" is not an IP address");
    tcp::endpoint ep(addr, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return MakeError(ErrorCode::kUnavailable, "syslog: cannot listen on " + o.listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    // Two threads: one may be waiting on the spool's fsync while the other serves.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
    log::Info("syslog: listening", {{"listen", o.listen}, {"port", port_}, {"tls", tls_}});
    return OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    shared_->stopping = true;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    std::vector<std::weak_ptr<ConnectionBase>> conns;
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns.swap(connections_);
    }
    for (auto& w : conns) {
      if (auto c = w.lock()) c->Cancel();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Handlers that were queued when the threads left still hold connections; run them so
    // that none outlives the io_context.
    ioc_.restart();
    ioc_.poll();
  }

  uint16_t port() const { return port_; }
  Spool& spool() { return *spool_; }
  SyslogListenerStats stats() const {
    SyslogListenerStats s;
    s.messages = shared_->messages;
    s.truncated = shared_->truncated;
    s.framing_errors = shared_->framing_errors;
    s.connections = shared_->connections;
    s.connections_refused = shared_->refused;
    s.spool_full_waits = shared_->spool_full;
    s.open_connections = shared_->open;
    return s;
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        log::Warn("syslog: accept failed", {{"error", ec.message()}});
      } else {
        boost::system::error_code rec;
        auto ep = socket.remote_endpoint(rec);
        std::string remote = rec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
        if (shared_->open >= shared_->options.max_connections) {
          shared_->refused++;
          M().refused.Add();
          log::Warn("syslog: too many connections, closing a new one",
                    {{"remote", remote}, {"max_connections", shared_->options.max_connections}});
          socket.close(rec);
        } else {
          shared_->open++;
          shared_->connections++;
          if (tls_) {
            Launch(std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
                beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), ssl_), shared_, remote));
          } else {
            Launch(std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared_,
                                                                   remote));
          }
        }
      }
      if (!shared_->stopping) Accept();
    });
  }

  template <class C>
  void Launch(std::shared_ptr<C> c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Stop() sets stopping before it takes the list: a connection not in the list by then
      // would never be cancelled, so it is not started at all.
      if (shared_->stopping) return;
      if (connections_.size() >= 64 && connections_.size() % 64 == 0) {
        std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      }
      connections_.push_back(c);
    }
    c->Start();
  }

  std::unique_ptr<Spool> spool_;  // outlives the threads and connections that append to it
  std::shared_ptr<Shared> shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::ssl::context ssl_;
  bool tls_ = false;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::vector<std::weak_ptr<ConnectionBase>> connections_;  // GUARDED_BY(mu_)
};

SyslogListener::SyslogListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SyslogListener::~SyslogListener() { impl_->Stop(); }

Result<std::unique_ptr<SyslogListener>> SyslogListener::Start(SyslogListenerOptions options) {
  ASSIGN_OR_RETURN(auto hp, SplitHostPort(options.listen, "syslog listen address"));
  bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return MakeError(ErrorCode::kInvalidArgument, "syslog: the TLS certificate and key must be given together");
  }
  if (!tls && !IsLoopbackHost(hp.first)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "refusing to receive syslog over plain TCP on non-loopback address " + hp.first +
                         ": audit logs would cross the network in clear and anyone could inject records. "
                         "Give a TLS certificate and key (RFC 5425), or listen on 127.0.0.1");
  }
  if (options.spool_dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "syslog: no spool directory given");
  if (options.max_message_bytes < 1 || options.max_connections < 1 || options.idle_timeout_seconds < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "syslog: max_message_bytes, max_connections and idle_timeout_seconds must be positive");
  }
  // An escaped message (up to 4x its size) must fit in a quarter of the spool (Spool::Append).
  if (options.spool_max_bytes / 32 < options.max_message_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "syslog: the spool must hold at least 32 x max_message_bytes");
  }
  ASSIGN_OR_RETURN(auto spool, Spool::Open(options.spool_dir, options.spool_max_bytes));
  auto impl = std::make_unique<Impl>(std::move(spool), std::move(options));
  RETURN_IF_ERROR(impl->Init(hp.first, hp.second));
  return std::unique_ptr<SyslogListener>(new SyslogListener(std::move(impl)));
}

uint16_t SyslogListener::port() const { return impl_->port(); }
void SyslogListener::Stop() { impl_->Stop(); }
Status SyslogListener::Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) {
  return impl_->spool().Run(cursor, [&sink](LineChunk c) {
    for (size_t i = 0; i < c.lines.size(); ++i) {
      if (!c.lines[i].empty() && c.lines[i][0] == '\0') {
        c.lines[i].erase(0, 1);
        c.truncated_line_nos.push_back(c.first_line_no + i);
      }
    }
    return sink(std::move(c));
  }, stop);
}
void SyslogListener::Committed(const std::string& cursor) { impl_->spool().Committed(cursor); }
Spool& SyslogListener::spool() { return impl_->spool(); }
SyslogListenerStats SyslogListener::stats() const { return impl_->stats(); }

}  // namespace cloudpact::ingest
