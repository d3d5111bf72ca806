// Webhook delivery: JSON events POSTed to a receiver's URL with an HMAC-SHA256 signature of
// the exact body, from a background thread with a bounded queue and retries, so that a slow
// or dead receiver never holds up the caller.
//
// Receivers verify:  X-Cloudpact-Signature: sha256=<hex HMAC-SHA256(secret, body)>
// and reject bodies whose "sent" time is too old (replay).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/json.h"

namespace cloudpact::net {

struct WebhookOptions {
  size_t max_queue = 10'000;
  int attempts = 3;
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds timeout{5000};
};

class WebhookSender {
 public:
  // outcome(url, event, delivered, detail) is called after the last attempt, for logs and
  // evidence; may be empty.
  using Outcome = std::function<void(const std::string& url, const Json& event, bool delivered, const std::string& detail)>;

  explicit WebhookSender(WebhookOptions options = {}, Outcome outcome = {});
  ~WebhookSender();  // delivers what is queued, within one timeout per item, then stops

  // Queues a delivery; false if the queue is full (the caller logs it: nothing blocks).
  bool Send(const std::string& url, const std::string& secret, Json event);

  static std::string Signature(const std::string& secret, const std::string& body);

 private:
  struct Item {
    std::string url, secret;
    Json event;
  };
  void Loop();

  WebhookOptions options_;
  Outcome outcome_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace cloudpact::net
