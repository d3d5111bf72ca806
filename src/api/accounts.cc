#include "api/accounts.h"

#include <algorithm>
#include <utility>

#include "core/encoding.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "crypto/totp.h"

namespace cloudpact::api {
namespace {

using storage::Record;
using storage::RecordWrite;

constexpr const char* kPasswordKind = "accounts.password";
constexpr const char* kTotpKind = "accounts.totp";
constexpr const char* kSessionKind = "accounts.session";
constexpr const char* kLockoutKind = "accounts.lockout";

constexpr const char* kInvalidCredentials = "invalid credentials";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded
constexpr size_t kMaxCsrfHeaderBytes = 256;
constexpr size_t kMaxSourceBytes = 256;
constexpr int64_t kTotpPendingSeconds = 15 * 60;
// An enrolment-only session (MFA required, none enrolled) is a foothold for whoever holds
// the password, so it is short.
constexpr int64_t kEnrolmentSessionSeconds = 15 * 60;
constexpr int64_t kMaxBackoffSeconds = 60;
constexpr int64_t kPruneEverySeconds = 5 * 60;
constexpr int kMaxCommitAttempts = 8;

// The directory's id syntax, so that every staff id can sign in and nothing else is stored.
bool ValidPrincipal(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

Status CheckPrincipal(const std::string& principal) {
  if (!ValidPrincipal(principal)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "principal must be 1..128 characters of [A-Za-z0-9._@-], starting with a "
                     "letter or digit");
  }
  return OkStatus();
}

bool ValidSecret(std::string_view s) {
  if (s.size() != kSecretChars) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

std::string NewSecret() { return Base64UrlEncode(crypto::RandomBytes(kSecretBytes)); }

// Printable ASCII only, bounded: sources are addresses and user agents, kept for the record.
std::string CleanSource(std::string_view source) {
  std::string out;
  for (char c : source.substr(0, kMaxSourceBytes)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Authenticator apps show "123 456"; people type it that way.
std::string StripSpaces(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

int64_t BackoffSeconds(int64_t failures) {
  if (failures <= 0) return 0;
  if (failures - 1 >= 6) return kMaxBackoffSeconds;
  return std::min<int64_t>(int64_t{1} << (failures - 1), kMaxBackoffSeconds);
}

// Our own records are JSON objects we wrote; anything else is damage, reported as such.
Result<Json> ParseBody(const Record& r) {
  auto j = ParseJson(r.body);
  if (!j.ok() || !j->is_object()) {
    return MakeError(ErrorCode::kDataLoss,
                     "record " + r.kind + "/" + r.id + " is not a JSON object");
  }
  return std::move(j).value();
}

template <typename T>
Result<T> Field(const Json& j, const char* name, const Record& r) {
  try {
    return j.at(name).get<T>();
  } catch (const Json::exception&) {
    return MakeError(ErrorCode::kDataLoss,
                     "record " + r.kind + "/" + r.id + " lacks a valid \"" + name + "\"");
  }
}

template <typename T>
Result<T> FieldOr(const Json& j, const char* name, const Record& r, T fallback) {
  if (!j.contains(name)) return fallback;
  return Field<T>(j, name, r);
}

struct Lockout {
  int64_t failures = 0;
  int64_t last_failure = 0;
  int64_t locked_until = 0;
  int64_t version = 0;  // 0: no record
};

Result<Lockout> ParseLockout(const Record& r) {
  ASSIGN_OR_RETURN(Json j, ParseBody(r));
  Lockout l;
  ASSIGN_OR_RETURN(l.failures, Field<int64_t>(j, "failures", r));
  ASSIGN_OR_RETURN(l.last_failure, Field<int64_t>(j, "last_failure", r));
  ASSIGN_OR_RETURN(l.locked_until, Field<int64_t>(j, "locked_until", r));
  l.version = r.version;
  return l;
}

Result<Lockout> ReadLockout(storage::Storage& store, const std::string& principal) {
  ASSIGN_OR_RETURN(auto rec, store.GetRecord(kLockoutKind, principal));
  if (!rec) return Lockout{};
  return ParseLockout(*rec);
}

// What stops an attempt at `now`, if anything: the seconds to wait and why.
struct Wait {
  int64_t seconds = 0;
  bool locked = false;
};

Wait WaitFor(const Lockout& l, int64_t now, const AccountsOptions& o) {
  if (l.locked_until > now) return {l.locked_until - now, true};
  if (l.failures > 0 && now - l.last_failure < o.lockout_seconds) {
    int64_t until = l.last_failure + BackoffSeconds(l.failures);
    if (until > now) return {until - now, false};
  }
  return {};
}

// Failures count from zero again once the last one is lockout_seconds old (this also ends
// an expired lockout's count).
int64_t LiveFailures(const Lockout& l, int64_t now, const AccountsOptions& o) {
  return l.failures > 0 && now - l.last_failure < o.lockout_seconds ? l.failures : 0;
}

struct Totp {
  std::optional<std::string> secret;  // sealed text
  int64_t confirmed = 0;
  int64_t last_step = -1;
  std::optional<std::string> pending;  // sealed text
  int64_t pending_since = 0;
  int64_t version = 0;
};

Result<Totp> ReadTotp(storage::Storage& store, const std::string& principal) {
  ASSIGN_OR_RETURN(auto rec, store.GetRecord(kTotpKind, principal));
  Totp t;
  if (!rec) return t;
  ASSIGN_OR_RETURN(Json j, ParseBody(*rec));
  if (j.contains("secret")) {
    ASSIGN_OR_RETURN(t.secret, Field<std::string>(j, "secret", *rec));
  }
  ASSIGN_OR_RETURN(t.confirmed, FieldOr<int64_t>(j, "confirmed", *rec, 0));
  ASSIGN_OR_RETURN(t.last_step, FieldOr<int64_t>(j, "last_step", *rec, -1));
  if (j.contains("pending")) {
    ASSIGN_OR_RETURN(t.pending, Field<std::string>(j, "pending", *rec));
  }
  ASSIGN_OR_RETURN(t.pending_since, FieldOr<int64_t>(j, "pending_since", *rec, 0));
  t.version = rec->version;
  return t;
}

std::string TotpBody(const Totp& t) {
  Json j = Json::object();
  if (t.secret) {
    j["secret"] = *t.secret;
    j["confirmed"] = t.confirmed;
    j["last_step"] = t.last_step;
  }
  if (t.pending) {
    j["pending"] = *t.pending;
    j["pending_since"] = t.pending_since;
  }
  return j.dump();
}

struct Password {
  std::string phc;
  int64_t changed = 0;
  int64_t last_sign_in = 0;
  int64_t sessions_ended = 0;
  int64_t version = 0;
};

Result<std::optional<Password>> ReadPassword(storage::Storage& store,
                                             const std::string& principal) {
  ASSIGN_OR_RETURN(auto rec, store.GetRecord(kPasswordKind, principal));
  if (!rec) return std::optional<Password>();
  ASSIGN_OR_RETURN(Json j, ParseBody(*rec));
  Password p;
  ASSIGN_OR_RETURN(p.phc, Field<std::string>(j, "phc", *rec));
  ASSIGN_OR_RETURN(p.changed, FieldOr<int64_t>(j, "changed", *rec, 0));
  ASSIGN_OR_RETURN(p.last_sign_in, FieldOr<int64_t>(j, "last_sign_in", *rec, 0));
  ASSIGN_OR_RETURN(p.sessions_ended, FieldOr<int64_t>(j, "sessions_ended", *rec, 0));
  p.version = rec->version;
  return std::optional<Password>(std::move(p));
}

RecordWrite PasswordWrite(const std::string& principal, const Password& p) {
  Json j = {{"phc", p.phc},
            {"changed", p.changed},
            {"last_sign_in", p.last_sign_in},
            {"sessions_ended", p.sessions_ended}};
  return RecordWrite{kPasswordKind, principal, j.dump(), p.version};
}

struct StoredSession {
  SessionInfo info;
  std::string source;
  int64_t version = 0;
};

Result<StoredSession> ParseSession(const Record& r) {
  ASSIGN_OR_RETURN(Json j, ParseBody(r));
  StoredSession s;
  s.info.id = r.id;
  ASSIGN_OR_RETURN(s.info.principal, Field<std::string>(j, "principal", r));
  ASSIGN_OR_RETURN(s.info.mfa, Field<bool>(j, "mfa", r));
  ASSIGN_OR_RETURN(s.info.created, Field<int64_t>(j, "created", r));
  ASSIGN_OR_RETURN(s.info.last_seen, Field<int64_t>(j, "last_seen", r));
  ASSIGN_OR_RETURN(s.info.expires, Field<int64_t>(j, "expires", r));
  ASSIGN_OR_RETURN(s.info.csrf_sha256, Field<std::string>(j, "csrf_sha256", r));
  ASSIGN_OR_RETURN(s.source, FieldOr<std::string>(j, "source", r, ""));
  s.version = r.version;
  return s;
}

std::string SessionBody(const SessionInfo& s, const std::string& source) {
  Json j = {{"principal", s.principal}, {"mfa", s.mfa},         {"created", s.created},
            {"last_seen", s.last_seen}, {"expires", s.expires}, {"csrf_sha256", s.csrf_sha256},
            {"source", source}};
  return j.dump();
}

bool Conflict(const Status& st) {
  return !st.ok() && st.error().code == ErrorCode::kFailedPrecondition;
}

}  // namespace

Accounts::Accounts(storage::Storage& store, const crypto::Sealer& sealer,
                   std::function<bool(const std::string&)> mfa_required, AccountsOptions options,
                   Clock clock)
    : store_(store),
      sealer_(sealer),
      mfa_required_(std::move(mfa_required)),
      options_(std::move(options)),
      clock_(std::move(clock)) {}

int64_t Accounts::Now() const { return clock_ ? clock_() : UnixSeconds(SystemNow()); }

Status Accounts::Commit(const std::function<Result<std::vector<RecordWrite>>()>& build) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    ASSIGN_OR_RETURN(std::vector<RecordWrite> writes, build());
    if (writes.empty()) return OkStatus();
    Status st = store_.WriteRecords(writes);
    if (!Conflict(st)) return st;
  }
  return MakeError(ErrorCode::kUnavailable, "the account is being changed concurrently; retry");
}

Result<std::vector<RecordWrite>> Accounts::EndSessionWrites(
    const std::string& principal, int64_t now, const std::optional<std::string>& new_phc) {
  std::vector<RecordWrite> writes;
  ASSIGN_OR_RETURN(std::optional<Password> pw, ReadPassword(store_, principal));
  if (pw || new_phc) {
    Password p = pw.value_or(Password{});  // version 0 = must not exist yet
    if (new_phc) {
      p.phc = *new_phc;
      p.changed = now;
    }
    p.sessions_ended = now;
    writes.push_back(PasswordWrite(principal, p));
  }
  ASSIGN_OR_RETURN(std::vector<Record> sessions, store_.ListRecords(kSessionKind));
  for (const Record& r : sessions) {
    auto s = ParseSession(r);
    // A damaged record cannot be attributed; Authenticate refuses it anyway.
    if (!s.ok() || s->info.principal != principal) continue;
    writes.push_back(RecordWrite{kSessionKind, r.id, "", r.version, /*erase=*/true});
  }
  return writes;
}

Status Accounts::SetPassword(const std::string& principal, std::string_view password) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  if (CodePoints(password) < options_.min_password_length) {
    return MakeError(ErrorCode::kInvalidArgument, "password must be at least " +
                                                      std::to_string(options_.min_password_length) +
                                                      " characters");
  }
  if (password.size() > crypto::kMaxPasswordBytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "password must be at most " + std::to_string(crypto::kMaxPasswordBytes) + " bytes");
  }
  ASSIGN_OR_RETURN(std::string phc, crypto::HashPassword(password, options_.password_params));
  const int64_t now = Now();
  return Commit([&] { return EndSessionWrites(principal, now, phc); });
}

Status Accounts::EndSessions(const std::string& principal) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  const int64_t now = Now();
  return Commit([&] { return EndSessionWrites(principal, now, std::nullopt); });
}

Result<TotpEnrolment> Accounts::BeginTotp(const std::string& principal) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  const std::string secret = crypto::GenerateTotpSecret();
  ASSIGN_OR_RETURN(std::string sealed, sealer_.SealText(secret, principal));
  const int64_t now = Now();
  RETURN_IF_ERROR(Commit([&]() -> Result<std::vector<RecordWrite>> {
    ASSIGN_OR_RETURN(Totp t, ReadTotp(store_, principal));
    t.pending = sealed;
    t.pending_since = now;
    return std::vector<RecordWrite>{{kTotpKind, principal, TotpBody(t), t.version}};
  }));
  return TotpEnrolment{crypto::Base32Encode(secret),
                       crypto::TotpUri(options_.totp_issuer, principal, secret)};
}

Status Accounts::ConfirmTotp(const std::string& principal, std::string_view code) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  const std::string digits = StripSpaces(code);
  const int64_t now = Now();
  return Commit([&]() -> Result<std::vector<RecordWrite>> {
    ASSIGN_OR_RETURN(Totp t, ReadTotp(store_, principal));
    if (!t.pending) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "no TOTP enrolment is in progress; begin one");
    }
    if (now - t.pending_since >= kTotpPendingSeconds || now < t.pending_since) {
      return MakeError(ErrorCode::kFailedPrecondition, "the TOTP enrolment expired; begin again");
    }
    auto secret = sealer_.OpenText(*t.pending, principal);
    if (!secret.ok()) {
      return MakeError(ErrorCode::kDataLoss,
                       "pending TOTP secret does not open: " + secret.error().message);
    }
    auto step = crypto::VerifyTotp(*secret, digits, now);
    if (!step.ok()) return MakeError(ErrorCode::kInvalidArgument, "the code must be 6 digits");
    if (!step->has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the code does not match; check the device's clock and try the next code");
    }
    t.secret = std::move(t.pending);
    t.pending.reset();
    t.confirmed = now;
    t.last_step = **step;
    ASSIGN_OR_RETURN(std::vector<RecordWrite> writes,
                     EndSessionWrites(principal, now, std::nullopt));
    writes.push_back(RecordWrite{kTotpKind, principal, TotpBody(t), t.version});
    return writes;
  });
}

bool Accounts::HasTotp(const std::string& principal) const {
  if (!ValidPrincipal(principal)) return false;
  auto t = ReadTotp(store_, principal);
  return t.ok() && t->secret.has_value();
}

Result<int64_t> Accounts::BeginAttempt(const std::string& principal, int64_t now) {
  int64_t failures = 0;
  RETURN_IF_ERROR(Commit([&]() -> Result<std::vector<RecordWrite>> {
    ASSIGN_OR_RETURN(Lockout l, ReadLockout(store_, principal));
    Wait w = WaitFor(l, now, options_);
    if (w.locked) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "sign-in is locked after " + std::to_string(l.failures) +
                           " failed attempts; retry after " + std::to_string(w.seconds) +
                           " s or ask an administrator to unlock it");
    }
    if (w.seconds > 0) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "too many failed sign-ins; retry after " + std::to_string(w.seconds) + " s");
    }
    // Counted before it is checked: a crash, or a parallel attempt, cannot get a free guess.
    failures = LiveFailures(l, now, options_) + 1;
    const bool lock = failures >= options_.max_failures_before_lockout;
    Json j = {{"failures", failures},
              {"last_failure", now},
              {"locked_until", lock ? now + options_.lockout_seconds : 0}};
    return std::vector<RecordWrite>{{kLockoutKind, principal, j.dump(), l.version}};
  }));
  return failures;
}

Result<int64_t> Accounts::RetryAfter(const std::string& principal) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  ASSIGN_OR_RETURN(Lockout l, ReadLockout(store_, principal));
  return WaitFor(l, Now(), options_).seconds;
}

Result<Session> Accounts::SignIn(const std::string& principal, std::string_view password,
                                 std::string_view totp_code, const std::string& source) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  if (password.empty() || password.size() > crypto::kMaxPasswordBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "password must be 1.." + std::to_string(crypto::kMaxPasswordBytes) + " bytes");
  }
  const int64_t now = Now();
  const std::string clean_source = CleanSource(source);
  MaybePrune(now);
  ASSIGN_OR_RETURN(const int64_t failures, BeginAttempt(principal, now));
  // Every way out below except success leaves this attempt counted as a failure.
  auto fail = [&](ErrorCode code, std::string message) -> Error {
    if (failures >= options_.max_failures_before_lockout) {
      log::Warn("sign-in locked after failed attempts",
                {{"principal", principal},
                 {"failures", failures},
                 {"locked_until", now + options_.lockout_seconds},
                 {"source", clean_source}});
    }
    return MakeError(code, std::move(message));
  };

  ASSIGN_OR_RETURN(std::optional<Password> pw, ReadPassword(store_, principal));
  if (!pw) {
    (void)crypto::DummyVerify(password,
                              options_.password_params);  // only errs on sizes checked above
    return fail(ErrorCode::kUnauthenticated, kInvalidCredentials);
  }
  auto match = crypto::VerifyPassword(password, pw->phc);
  if (!match.ok()) {
    return fail(ErrorCode::kDataLoss,
                "stored password hash of " + principal + " is unusable: " + match.error().message);
  }
  if (!*match) return fail(ErrorCode::kUnauthenticated, kInvalidCredentials);

  std::vector<RecordWrite> writes;
  ASSIGN_OR_RETURN(Totp totp, ReadTotp(store_, principal));
  bool mfa = false;
  if (totp.secret) {
    const std::string digits = StripSpaces(totp_code);
    if (digits.empty()) return fail(ErrorCode::kUnauthenticated, "TOTP code required");
    auto secret = sealer_.OpenText(*totp.secret, principal);
    if (!secret.ok()) {
      return fail(ErrorCode::kDataLoss, "TOTP secret of " + principal + " does not open");
    }
    auto step = crypto::VerifyTotp(*secret, digits, now);
    // The step must be later than any accepted before, so an observed code is worthless.
    if (!step.ok() || !step->has_value() || **step <= totp.last_step) {
      return fail(ErrorCode::kUnauthenticated, "invalid or already used TOTP code");
    }
    totp.last_step = **step;
    writes.push_back(RecordWrite{kTotpKind, principal, TotpBody(totp), totp.version});
    mfa = true;
  }

  if (crypto::NeedsRehash(pw->phc, options_.password_params)) {
    auto rehashed = crypto::HashPassword(password, options_.password_params);
    if (rehashed.ok()) pw->phc = std::move(rehashed).value();  // else keep the old one
  }
  pw->last_sign_in = now;
  // Written at the version read, so that a password change, TOTP confirmation or
  // EndSessions that committed since then makes this sign-in fail.
  writes.push_back(PasswordWrite(principal, *pw));

  Session s;
  s.secret = NewSecret();
  s.csrf_token = NewSecret();
  s.principal = principal;
  s.mfa = mfa;
  int64_t ttl = options_.session_ttl_seconds;
  if (!mfa && mfa_required_(principal)) ttl = std::min(ttl, kEnrolmentSessionSeconds);
  s.expires = now + ttl;
  SessionInfo info{crypto::Sha256Hex(s.secret),    principal, mfa, now, now, s.expires,
                   crypto::Sha256Hex(s.csrf_token)};
  writes.push_back(RecordWrite{kSessionKind, info.id, SessionBody(info, clean_source), 0});
  writes.push_back(
      RecordWrite{kLockoutKind, principal, "", RecordWrite::kAnyVersion, /*erase=*/true});

  Status st = store_.WriteRecords(writes);
  if (Conflict(st)) {
    // The attempt stays counted as a failure.
    return fail(ErrorCode::kUnauthenticated,
                mfa ? "invalid or already used TOTP code" : "credentials changed; sign in again");
  }
  RETURN_IF_ERROR(st);
  return s;
}

Status Accounts::VerifySecondFactor(const std::string& principal, std::string_view totp_code) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  const int64_t now = Now();
  ASSIGN_OR_RETURN(const int64_t failures, BeginAttempt(principal, now));
  (void)failures;
  ASSIGN_OR_RETURN(Totp totp, ReadTotp(store_, principal));
  if (!totp.secret) {
    return MakeError(ErrorCode::kFailedPrecondition, principal + " has no TOTP enrolled; enrol in the console first");
  }
  auto secret = sealer_.OpenText(*totp.secret, principal);
  if (!secret.ok()) return MakeError(ErrorCode::kDataLoss, "TOTP secret of " + principal + " does not open");
  auto step = crypto::VerifyTotp(*secret, StripSpaces(totp_code), now);
  if (!step.ok() || !step->has_value() || **step <= totp.last_step) {
    return MakeError(ErrorCode::kUnauthenticated, "invalid or already used TOTP code");
  }
  totp.last_step = **step;
  Status st = store_.WriteRecords({RecordWrite{kTotpKind, principal, TotpBody(totp), totp.version},
                                   RecordWrite{kLockoutKind, principal, "", RecordWrite::kAnyVersion, /*erase=*/true}});
  if (Conflict(st)) return MakeError(ErrorCode::kUnauthenticated, "invalid or already used TOTP code");
  return st;
}

Result<SessionInfo> Accounts::Authenticate(std::string_view cookie_secret) {
  if (!ValidSecret(cookie_secret))
    return MakeError(ErrorCode::kUnauthenticated, "no valid session");
  // The lookup is by hash of a 256-bit secret, so its timing tells nothing about the secret.
  const std::string id = crypto::Sha256Hex(cookie_secret);
  const int64_t now = Now();
  // Refreshing last_seen on every request would be a write per request; once per interval
  // keeps it within a minute, and only ever makes the idle timeout earlier.
  const int64_t touch_every = std::clamp<int64_t>(options_.session_idle_seconds / 10, 1, 60);
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto rec, store_.GetRecord(kSessionKind, id));
    if (!rec) return MakeError(ErrorCode::kUnauthenticated, "no valid session");
    ASSIGN_OR_RETURN(StoredSession s, ParseSession(*rec));
    if (now >= s.info.expires || now - s.info.last_seen >= options_.session_idle_seconds) {
      (void)store_.WriteRecords({{kSessionKind, id, "", s.version, /*erase=*/true}});
      return MakeError(ErrorCode::kUnauthenticated, "session expired");
    }
    if (now - s.info.last_seen < touch_every) return s.info;
    s.info.last_seen = now;
    // At the version read: a session ended meanwhile must not come back.
    Status st = store_.WriteRecords({{kSessionKind, id, SessionBody(s.info, s.source), s.version}});
    if (st.ok()) return s.info;
    if (!Conflict(st)) return std::move(st).error();
  }
  return MakeError(ErrorCode::kUnavailable, "the session is being changed concurrently; retry");
}

bool Accounts::CheckCsrf(const SessionInfo& session, std::string_view header_value) const {
  if (header_value.empty() || header_value.size() > kMaxCsrfHeaderBytes) return false;
  auto expected = HexDecode(session.csrf_sha256);
  if (!expected.ok() || expected->size() != 32) return false;
  return crypto::ConstantTimeEquals(crypto::AsBytes(crypto::Sha256(header_value)), *expected);
}

bool Accounts::EnrolmentOnly(const SessionInfo& session) const {
  return !session.mfa && mfa_required_(session.principal);
}

Status Accounts::SignOut(std::string_view cookie_secret) {
  if (!ValidSecret(cookie_secret)) return OkStatus();
  return store_.WriteRecords(
      {{kSessionKind, crypto::Sha256Hex(cookie_secret), "", RecordWrite::kAnyVersion, /*erase=*/true}});
}

Status Accounts::Unlock(const std::string& principal) {
  RETURN_IF_ERROR(CheckPrincipal(principal));
  RETURN_IF_ERROR(store_.WriteRecords(
      {{kLockoutKind, principal, "", RecordWrite::kAnyVersion, /*erase=*/true}}));
  log::Info("sign-in lockout lifted", {{"principal", principal}});
  return OkStatus();
}

void Accounts::MaybePrune(int64_t now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_prune_ != INT64_MIN && now - last_prune_ < kPruneEverySeconds) return;
    last_prune_ = now;
  }
  // Best effort: a record that changed since it was read is left for next time.
  if (auto sessions = store_.ListRecords(kSessionKind); sessions.ok()) {
    for (const Record& r : *sessions) {
      auto s = ParseSession(r);
      if (!s.ok()) continue;
      if (now >= s->info.expires || now - s->info.last_seen >= options_.session_idle_seconds) {
        (void)store_.WriteRecords({{kSessionKind, r.id, "", r.version, /*erase=*/true}});
      }
    }
  }
  if (auto lockouts = store_.ListRecords(kLockoutKind); lockouts.ok()) {
    for (const Record& r : *lockouts) {
      auto l = ParseLockout(r);
      if (!l.ok()) continue;
      if (l->locked_until <= now && LiveFailures(*l, now, options_) == 0) {
        (void)store_.WriteRecords({{kLockoutKind, r.id, "", r.version, /*erase=*/true}});
      }
    }
  }
}

std::string Accounts::CookieHeader(const Session& s, int64_t max_age) {
  return std::string(kSessionCookieName) + "=" + s.secret +
         "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=" +
         std::to_string(std::max<int64_t>(0, max_age));
}

std::string Accounts::ClearCookieHeader() {
  return std::string(kSessionCookieName) +
         "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";
}

}  // namespace cloudpact::api
