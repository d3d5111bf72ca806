// Sign-in for people (the console): Argon2id passwords, RFC 6238 TOTP as the second factor,
// cookie sessions with a CSRF token, and per-principal back-off and lockout. API tokens are
// separate (auth.h). docs/SIGNIN.md describes the behaviour for operators.
//
// State lives in storage records, so that a restart or a second server process sees the
// same sessions and lockouts:
//   accounts.password  id = principal  {phc, changed, last_sign_in, sessions_ended}
//   accounts.totp      id = principal  {secret?, confirmed, last_step, pending?, pending_since}
//   accounts.session   id = hex SHA-256 of the cookie secret
//                      {principal, mfa, created, last_seen, expires, csrf_sha256, source}
//   accounts.lockout   id = principal  {failures, last_failure, locked_until}
// Session secrets and CSRF tokens are stored only as SHA-256 hashes; TOTP secrets are sealed
// (crypto::Sealer, associated data = the principal).
//
// Thread-safe. Concurrent changes, from this process or another, are serialised by the
// records' versions: a sign-in that raced with a password change, a TOTP confirmation or
// EndSessions fails instead of creating a session the change should have prevented.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "storage/storage.h"

namespace cloudpact::api {

inline constexpr std::string_view kSessionCookieName = "cloudpact_session";

struct AccountsOptions {
  int64_t session_ttl_seconds = 8 * 3600;  // absolute, from sign-in
  int64_t session_idle_seconds = 30 * 60;  // sliding, from the last authenticated request
  // Consecutive failed sign-ins of one principal that lock it for lockout_seconds. The count
  // is forgotten lockout_seconds after the last failure, and on a successful sign-in.
  int max_failures_before_lockout = 10;
  int64_t lockout_seconds = 15 * 60;
  // After f failures a principal must wait 2^(f-1) seconds (at most 60) before the next
  // attempt is even checked; attempts in that window fail with kResourceExhausted.
  size_t min_password_length = 12;  // in Unicode code points
  crypto::PasswordParams password_params;
  std::string totp_issuer = "cloudpact";  // shown by authenticator apps
};

// A new session, returned once by SignIn. Neither secret is stored.
struct Session {
  std::string secret;      // the cookie value: 32 random bytes, base64url without padding
  std::string csrf_token;  // for the X-CSRF-Token header: 32 random bytes, likewise
  std::string principal;
  bool mfa = false;  // a TOTP code was checked at sign-in
  int64_t expires = 0;
};

struct SessionInfo {
  std::string id;  // hex SHA-256 of the cookie secret, never the secret
  std::string principal;
  bool mfa = false;
  int64_t created = 0, last_seen = 0, expires = 0;
  std::string csrf_sha256;  // hex SHA-256 of the CSRF token, for CheckCsrf
};

struct TotpEnrolment {
  std::string secret_base32;  // for typing into an app
  std::string uri;            // otpauth://…, for a QR code
};

class Accounts {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds

  // mfa_required(principal): whether this person must use TOTP (the access module's rule:
  // anyone who can approve or holds privileged roles). The store, sealer and callback must
  // outlive this object. An empty clock means the system clock.
  Accounts(storage::Storage& store, const crypto::Sealer& sealer,
           std::function<bool(const std::string&)> mfa_required, AccountsOptions options = {},
           Clock clock = {});

  // Stores an Argon2id hash of password and ends every session of principal, atomically.
  // Deciding who may set whose password (and asking for the old one) is the caller's job.
  // Does not lift a lockout (Unlock does). kInvalidArgument for a malformed principal (the
  // directory's id syntax) or a password shorter than min_password_length code points or
  // longer than crypto::kMaxPasswordBytes bytes.
  Status SetPassword(const std::string& principal, std::string_view password);

  // Starts (or restarts) enrolment: a new secret is stored sealed as pending, and the
  // confirmed one, if any, keeps working until ConfirmTotp replaces it.
  Result<TotpEnrolment> BeginTotp(const std::string& principal);
  // Confirms the pending secret with a current code from the app: it becomes the principal's
  // second factor, the code's time step counts as used, and every session of the principal
  // ends (the person signs in again with a code). kFailedPrecondition if no enrolment is
  // pending or it began more than 15 minutes ago; kInvalidArgument if the code does not match.
  Status ConfirmTotp(const std::string& principal, std::string_view code);
  // Whether a confirmed TOTP secret exists (false also if storage cannot be read).
  bool HasTotp(const std::string& principal) const;

  // Checks the password, then a TOTP code when the principal has one. Errors:
  // - kUnauthenticated "invalid credentials" for an unknown principal or a wrong password,
  //   which cost the same (one Argon2id computation);
  // - kUnauthenticated "TOTP code required" / "invalid or already used TOTP code" once the
  //   password was right (a time step once accepted is never accepted again);
  // - kResourceExhausted while the principal is backing off or locked out (see RetryAfter);
  //   such attempts are not checked and not counted;
  // - kInvalidArgument for a malformed principal or an empty or overlong password.
  // Every checked attempt counts as a failure until it succeeds, unknown principals
  // included, so that lockout does not reveal which principals exist. When MFA is required
  // but the person has no TOTP yet, the session has mfa=false, lasts at most 15 minutes, and
  // the HTTP layer lets it do nothing but enrol (EnrolmentOnly). source (the client address,
  // say) is kept with the session for the record.
  Result<Session> SignIn(const std::string& principal, std::string_view password,
                         std::string_view totp_code, const std::string& source);

  // The second factor alone, for sign-ins whose first factor is checked elsewhere (the SSH
  // gateway checks the operator's key): a current TOTP code never accepted before. Counts
  // toward the same lockout as SignIn. kFailedPrecondition when no TOTP is enrolled.
  Status VerifySecondFactor(const std::string& principal, std::string_view totp_code);

  // Seconds until principal may try to sign in again; 0 if it may now (for Retry-After).
  Result<int64_t> RetryAfter(const std::string& principal);

  // The session of a cookie value, its last_seen refreshed (stored at most once a minute).
  // kUnauthenticated if the value is malformed or unknown, or the session expired or was
  // idle for session_idle_seconds.
  Result<SessionInfo> Authenticate(std::string_view cookie_secret);
  // Whether header_value (X-CSRF-Token) is the session's CSRF token; constant time.
  bool CheckCsrf(const SessionInfo& session, std::string_view header_value) const;
  // True if the session may only enrol TOTP: MFA is required now and it was not used.
  bool EnrolmentOnly(const SessionInfo& session) const;

  // Ends the cookie's session; OK if there is none.
  Status SignOut(std::string_view cookie_secret);
  // Ends every session of principal (e.g. when the person is disabled).
  Status EndSessions(const std::string& principal);
  // Lifts a lockout and forgets the failures (an administrator's action); OK if none.
  Status Unlock(const std::string& principal);

  // "cloudpact_session=…; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=…"; a negative
  // max_age counts as 0.
  static std::string CookieHeader(const Session& s, int64_t max_age);
  // The Set-Cookie value that removes the cookie (for sign-out).
  static std::string ClearCookieHeader();

 private:
  int64_t Now() const;
  // Builds writes from the current records and applies them, again from a fresh read if a
  // concurrent change got in first.
  Status Commit(const std::function<Result<std::vector<storage::RecordWrite>>()>& build);
  // Counts an attempt as a failure before it is checked, unless backing off or locked;
  // returns the failures counted, this one included.
  Result<int64_t> BeginAttempt(const std::string& principal, int64_t now);
  // Writes that end every session of principal and mark its password record, so that a
  // concurrent sign-in that read the older record cannot commit.
  // With new_phc, the password is replaced too.
  Result<std::vector<storage::RecordWrite>> EndSessionWrites(
      const std::string& principal, int64_t now, const std::optional<std::string>& new_phc);
  void MaybePrune(int64_t now);

  storage::Storage& store_;
  const crypto::Sealer& sealer_;
  std::function<bool(const std::string&)> mfa_required_;
  AccountsOptions options_;
  Clock clock_;

  std::mutex mu_;
  int64_t last_prune_ = INT64_MIN;  // GUARDED_BY(mu_)
};

}  // namespace cloudpact::api
