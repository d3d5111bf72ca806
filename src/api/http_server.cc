#include "api/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "core/host_port.h"
#include "core/log.h"
#include "core/metrics.h"

namespace cloudpact::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpMetrics {
  metrics::Counter& requests = metrics::Registry::Global().NewCounter(
      "cloudpact_http_requests_total", "HTTP requests answered.");
  metrics::Counter& errors = metrics::Registry::Global().NewCounter(
      "cloudpact_http_errors_total", "HTTP requests answered with status >= 400.");
  metrics::Histogram& latency = metrics::Registry::Global().NewHistogram(
      "cloudpact_http_request_duration_seconds", "From request read to response queued.",
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1});
};
HttpMetrics& M() {
  static HttpMetrics* m = new HttpMetrics;
  return *m;
}

// What the server needs of a session to shut it down.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Cancel() = 0;  // closes the connection on the session's strand
};

// Shared by all sessions: the server's settings and whether it is draining.
struct Shared {
  Shared(Api& a, HttpServerOptions o) : api(a), options(std::move(o)) {}
  Api& api;
  HttpServerOptions options;
  std::atomic<bool> draining{false};
  std::atomic<int> in_flight{0};  // requests read but not yet answered
  std::mutex mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;  // GUARDED_BY(mu); pruned as they expire

  void Register(std::weak_ptr<SessionBase> s) {
    std::lock_guard<std::mutex> lock(mu);
    if (sessions.size() > 64 && sessions.size() % 64 == 0) {
      std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    }
    sessions.push_back(std::move(s));
  }
};

Request ToRequest(http::request<http::string_body>& req, const std::string& remote) {
  Request r;
  r.method = std::string(req.method_string());
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto parsed = ParseQuery(target.substr(q + 1));
    if (parsed.ok()) r.query = std::move(parsed).value();
    else r.query_error = parsed.error().message;
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = std::move(req.body());
  r.remote = remote;
  return r;
}

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, std::shared_ptr<Shared> shared, std::string remote)
      : stream_(std::move(stream)), shared_(std::move(shared)), remote_(std::move(remote)) {}

  void Cancel() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->stream_).socket().close(ec);
    });
  }

  void Start() {
    shared_->Register(this->weak_from_this());
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  void Read() {
    if (shared_->draining) return Close();
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body);
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header));
    beast::get_lowest_layer(stream_).expires_after(first_ ? shared_->options.read_timeout
                                                          : shared_->options.idle_timeout);
    first_ = false;
    // Headers first: the body limit depends on the route (inventory imports are large).
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    const auto t = parser_->get().target();
    const std::string_view target(t.data(), t.size());
    for (const auto& prefix : shared_->options.large_body_prefixes) {
      if (target.substr(0, prefix.size()) == prefix) {
        parser_->body_limit(shared_->options.max_large_body);
        beast::get_lowest_layer(stream_).expires_after(
            std::max<std::chrono::seconds>(shared_->options.read_timeout, std::chrono::seconds(600)));
        break;
      }
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof) return Close();
    if (ec == http::error::body_limit) {
      return Send(ErrorResponse(413, "payload_too_large", "request body too large for " +
                                                              std::string(parser_->get().target().data(), parser_->get().target().size())),
                  11, false);
    }
    if (ec == http::error::header_limit) {
      return Send(ErrorResponse(431, "headers_too_large", "request headers too large"), 11, false);
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset) {
        // A malformed request gets an answer before we hang up.
        return Send(ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()), 11, false);
      }
      return Close();
    }
    auto req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    bool head = req.method() == http::verb::head;
    Request r = ToRequest(req, remote_);
    auto started = std::chrono::steady_clock::now();
    if (r.query_error) return Send(ErrorResponse(400, "invalid_argument", *r.query_error), version, keep_alive);
    // The handler may answer from another thread (the ledger's sequencer); hop back onto
    // this connection's strand before touching the stream.
    auto self = this->shared_from_this();
    shared_->in_flight++;
    shared_->api.Handle(r, [self, version, keep_alive, head, started](Response res) {
      M().latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      asio::dispatch(self->stream_.get_executor(),
                     [self, res = std::move(res), version, keep_alive, head]() mutable {
                       if (head) res.body.clear();
                       self->Send(std::move(res), version, keep_alive, /*counted=*/true);
                     });
    });
  }

  // `counted`: the response ends a request that OnRead counted as in flight.
  void Send(Response res, unsigned version, bool keep_alive, bool counted = false) {
    M().requests.Add();
    if (res.status >= 400) M().errors.Add();
    auto msg = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(res.status), version);
    msg->set(http::field::server, "cloudpact");
    msg->set(http::field::content_type, res.content_type);
    msg->set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : res.headers) msg->set(k, v);
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive && !shared_->draining && res.status != 413 && res.status != 400);
    msg->prepare_payload();
    bool close = !msg->keep_alive();
    beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
    http::async_write(stream_, *msg,
                      [self = this->shared_from_this(), msg, close, counted](beast::error_code ec, size_t) {
                        if (counted) self->shared_->in_flight--;
                        if (ec || close) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool first_ = true;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(Api& api, HttpServerOptions options)
      : shared_(std::make_shared<Shared>(api, std::move(options))),
        ioc_(shared_->options.threads),
        acceptor_(ioc_),
        ssl_(asio::ssl::context::tls_server) {}

  Status Init(const std::string& host, uint16_t port) {
    tls_ = !shared_->options.tls_cert.empty();
    if (tls_) {
      boost::system::error_code ec;
      ssl_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      ssl_.use_certificate_chain_file(shared_->options.tls_cert, ec);
      if (ec) return MakeError(ErrorCode::kInvalidArgument, "cannot load --tls-cert: " + ec.message());
      ssl_.use_private_key_file(shared_->options.tls_key, asio::ssl::context::pem, ec);
      if (ec) return MakeError(ErrorCode::kInvalidArgument, "cannot load --tls-key: " + ec.message());
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) return MakeError(ErrorCode::kInvalidArgument, "listen address \"" + host + "\" is not an IP address");
    tcp::endpoint ep(addr, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return MakeError(ErrorCode::kUnavailable, "cannot listen on " + shared_->options.listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    host_ = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    Accept();
    work_.emplace(ioc_.get_executor());
    for (int i = 0; i < std::max(1, shared_->options.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return OkStatus();
  }

  ~BeastServer() override { Shutdown(std::chrono::milliseconds(0)); }

  uint16_t port() const override { return port_; }
  std::string url() const override {
    return std::string(tls_ ? "https://" : "http://") + host_ + ":" + std::to_string(port_);
  }

  void Shutdown(std::chrono::milliseconds grace) override {
    if (stopped_.exchange(true)) return;
    shared_->draining = true;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    // Let answers already on their way (e.g. appends being committed) reach their clients.
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (shared_->in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Close every connection on its own strand; once their handlers have run, the
    // io_context has no work left and the threads return. Sessions must die before the
    // io_context does, since they hold its strands.
    std::vector<std::weak_ptr<SessionBase>> sessions;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      sessions.swap(shared_->sessions);
    }
    for (auto& w : sessions) {
      if (auto s = w.lock()) s->Cancel();
    }
    // Until now the guard kept the threads running even when no socket had work, so that
    // answers to requests in flight (posted from the ledger's thread) were still written.
    work_.reset();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Answers that arrived after the threads left (grace expired) still hold their
    // sessions; run them now, against closed sockets, so that no session outlives the
    // io_context whose strands it uses.
    ioc_.restart();
    ioc_.poll();
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        log::Warn("accept failed", {{"error", ec.message()}});
      } else {
        boost::system::error_code rec;
        auto ep = socket.remote_endpoint(rec);
        std::string remote = rec ? "?" : ep.address().to_string();
        if (tls_) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), ssl_), shared_, remote)
              ->Start();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared_, remote)
              ->Start();
        }
      }
      if (!shared_->draining) Accept();
    });
  }

  std::shared_ptr<Shared> shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::ssl::context ssl_;
  bool tls_ = false;
  uint16_t port_ = 0;
  std::string host_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Api& api, HttpServerOptions options) {
  ASSIGN_OR_RETURN(auto hp, SplitHostPort(options.listen));
  bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return MakeError(ErrorCode::kInvalidArgument, "--tls-cert and --tls-key must be given together");
  }
  if (!tls && !IsLoopbackHost(hp.first)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "refusing to serve plain HTTP on non-loopback address " + hp.first +
                         ": bearer tokens and evidence would cross the network in clear. "
                         "Give --tls-cert and --tls-key, or listen on 127.0.0.1");
  }
  auto server = std::make_unique<BeastServer>(api, std::move(options));
  RETURN_IF_ERROR(server->Init(hp.first, hp.second));
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace cloudpact::api
