// Result<T>: a value or an Error. Errors are values, never exceptions, across module
// boundaries; libraries that throw are wrapped where they are called.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cloudpact {

// The abseil canonical codes we use; each maps to exactly one HTTP status (api/).
enum class ErrorCode {
  kInvalidArgument,     // 400: the caller sent something malformed
  kUnauthenticated,     // 401
  kPermissionDenied,    // 403
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409: state does not allow it (e.g. size mismatch)
  kOutOfRange,          // 400: an index or size beyond what exists
  kResourceExhausted,   // 413/429: a bound was hit
  kUnavailable,         // 503: a dependency (storage) cannot serve now
  kDataLoss,            // 500: stored evidence does not verify
  kInternal,            // 500
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error MakeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status OkStatus() { return Status(); }

}  // namespace cloudpact

#define CLOUDPACT_CONCAT_INNER(a, b) a##b
#define CLOUDPACT_CONCAT(a, b) CLOUDPACT_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): returns the error of a Status/Result expression.
#define RETURN_IF_ERROR(expr)                                            \
  do {                                                                   \
    auto&& cloudpact_status_ = (expr);                                   \
    if (!cloudpact_status_.ok()) return std::move(cloudpact_status_).error(); \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a Result, returns its error or assigns its value.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(CLOUDPACT_CONCAT(cloudpact_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
