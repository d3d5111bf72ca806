// Sign-in for people, on every storage backend. Time is an injected clock; nothing here
// asserts on how long anything takes.
#include "api/accounts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/encoding.h"
#include "crypto/sha256.h"
#include "crypto/totp.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::api {
namespace {

// A multiple of 30, so that TOTP steps begin at kT0 + 30k.
constexpr int64_t kT0 = 1'700'000'010;
constexpr const char* kGood = "correct horse battery";
constexpr const char* kOther = "another long passphrase";

crypto::Sealer TestSealer() { return *crypto::Sealer::FromKey(std::string(32, 'k')); }

class AccountsSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = testing::OpenFresh(
        GetParam(),
        std::string("acct_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.password_params = {64, 1, 1};  // cheap: the suite checks logic, not cost
    options_.max_failures_before_lockout = 4;
    options_.lockout_seconds = 900;
    options_.session_ttl_seconds = 3600;
    options_.session_idle_seconds = 600;
    accounts_ = Make();
  }

  std::unique_ptr<Accounts> Make(storage::Storage* store = nullptr) {
    return std::make_unique<Accounts>(
        store ? *store : *store_, sealer_,
        [this](const std::string& p) { return mfa_required_.count(p) > 0; }, options_,
        [this] { return now_.load(); });
  }

  // The raw TOTP secret from an enrolment, as the app would scan it.
  static std::string RawSecret(const TotpEnrolment& e) {
    return *crypto::Base32Decode(e.secret_base32);
  }
  std::string Code(const std::string& raw, int64_t at) { return *crypto::TotpCode(raw, at); }

  // Enrols principal and returns the raw secret; confirms at the current time.
  std::string Enrol(const std::string& principal) {
    auto e = accounts_->BeginTotp(principal);
    EXPECT_TRUE(e.ok()) << e.error().message;
    std::string raw = RawSecret(*e);
    Status st = accounts_->ConfirmTotp(principal, Code(raw, now_));
    EXPECT_TRUE(st.ok()) << st.error().message;
    return raw;
  }

  Session MustSignIn(const std::string& p, const std::string& password,
                     const std::string& code = "") {
    auto s = accounts_->SignIn(p, password, code, "127.0.0.1");
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : Session{};
  }

  std::vector<storage::Record> AllRecords() {
    std::vector<storage::Record> out;
    for (const char* kind :
         {"accounts.password", "accounts.totp", "accounts.session", "accounts.lockout"}) {
      auto rs = store_->ListRecords(kind);
      EXPECT_TRUE(rs.ok());
      out.insert(out.end(), rs->begin(), rs->end());
    }
    return out;
  }

  std::unique_ptr<storage::Storage> store_;
  crypto::Sealer sealer_ = TestSealer();
  AccountsOptions options_;
  std::atomic<int64_t> now_{kT0};
  std::set<std::string> mfa_required_;
  std::unique_ptr<Accounts> accounts_;
};

TEST_P(AccountsSuite, PasswordPolicyAndVerification) {
  Status st = accounts_->SetPassword("alice", "short");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  // Twelve code points but more bytes: the policy counts characters.
  EXPECT_TRUE(accounts_->SetPassword("carol", "密码密码密码密码密码密码").ok());
  EXPECT_FALSE(accounts_->SetPassword("carol", "密码密码密码密码密码").ok());
  EXPECT_FALSE(accounts_->SetPassword("bad name", kGood).ok());
  EXPECT_FALSE(
      accounts_->SetPassword("alice", std::string(crypto::kMaxPasswordBytes + 1, 'x')).ok());

  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  auto rec = store_->GetRecord("accounts.password", "alice");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_NE((*rec)->body.find("$argon2id$v=19$m=64,t=1,p=1$"), std::string::npos);

  Session s = MustSignIn("alice", kGood);
  EXPECT_EQ(s.principal, "alice");
  EXPECT_FALSE(s.mfa);
  EXPECT_EQ(s.expires, kT0 + 3600);
  EXPECT_EQ(s.secret.size(), 43u);
  EXPECT_EQ(s.csrf_token.size(), 43u);
  EXPECT_NE(s.secret, s.csrf_token);

  auto wrong = accounts_->SignIn("alice", "wrong password!", "", "127.0.0.1");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);

  auto malformed = accounts_->SignIn("../alice", kGood, "", "127.0.0.1");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidArgument);
  auto empty = accounts_->SignIn("alice", "", "", "127.0.0.1");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(AccountsSuite, UnknownPrincipalAndWrongPasswordLookAlike) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  auto wrong = accounts_->SignIn("alice", "not the password", "", "10.0.0.1");
  auto unknown = accounts_->SignIn("mallory", "not the password", "", "10.0.0.1");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(unknown.error().code, wrong.error().code);
  EXPECT_EQ(wrong.error().message, "invalid credentials");
  EXPECT_EQ(unknown.error().message, wrong.error().message);
  // Both are counted alike, so back-off does not tell them apart either.
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 1);
  EXPECT_EQ(*accounts_->RetryAfter("mallory"), 1);
}

TEST_P(AccountsSuite, TotpEnrolmentSignInAndReplay) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  auto e = accounts_->BeginTotp("alice");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->uri.rfind("otpauth://totp/cloudpact:alice?secret=" + e->secret_base32, 0), 0u)
      << e->uri;
  const std::string raw = RawSecret(*e);
  EXPECT_EQ(raw.size(), 20u);
  EXPECT_FALSE(accounts_->HasTotp("alice"));

  // Pending is not enrolled: the password alone still signs in.
  EXPECT_FALSE(MustSignIn("alice", kGood).mfa);

  Status bad = accounts_->ConfirmTotp("alice", Code(raw, kT0 + 300));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(accounts_->ConfirmTotp("alice", "12345").ok());
  std::string confirm_code = Code(raw, now_);
  ASSERT_TRUE(
      accounts_->ConfirmTotp("alice", confirm_code.substr(0, 3) + " " + confirm_code.substr(3))
          .ok());
  EXPECT_TRUE(accounts_->HasTotp("alice"));
  EXPECT_FALSE(accounts_->HasTotp("bob"));
  Status again = accounts_->ConfirmTotp("alice", confirm_code);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);

  // The code that confirmed the enrolment is used up.
  auto replay_confirm = accounts_->SignIn("alice", kGood, confirm_code, "127.0.0.1");
  ASSERT_FALSE(replay_confirm.ok());
  EXPECT_EQ(replay_confirm.error().code, ErrorCode::kUnauthenticated);

  now_ = kT0 + 30;
  auto no_code = accounts_->SignIn("alice", kGood, "", "127.0.0.1");
  ASSERT_FALSE(no_code.ok());
  EXPECT_EQ(no_code.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(no_code.error().message, "TOTP code required");
  // A wrong password with a good code is still just "invalid credentials".
  now_ = kT0 + 33;
  auto wrong_pw = accounts_->SignIn("alice", "not the password", Code(raw, now_), "127.0.0.1");
  ASSERT_FALSE(wrong_pw.ok());
  EXPECT_EQ(wrong_pw.error().message, "invalid credentials");

  now_ = kT0 + 40;
  const std::string code = Code(raw, now_);
  Session s = MustSignIn("alice", kGood, code);
  EXPECT_TRUE(s.mfa);
  auto info = accounts_->Authenticate(s.secret);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->mfa);

  // The same code, or the previous step's, within the window: refused.
  now_ = kT0 + 45;
  auto replay = accounts_->SignIn("alice", kGood, code, "127.0.0.1");
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kUnauthenticated);
  now_ = kT0 + 50;
  auto older = accounts_->SignIn("alice", kGood, Code(raw, kT0), "127.0.0.1");
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, ErrorCode::kUnauthenticated);

  // The next step's code works.
  now_ = kT0 + 60;
  EXPECT_TRUE(MustSignIn("alice", kGood, Code(raw, now_)).mfa);
}

TEST_P(AccountsSuite, ReenrolmentKeepsTheOldSecretUntilConfirmed) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  const std::string old_raw = Enrol("alice");
  auto e = accounts_->BeginTotp("alice");
  ASSERT_TRUE(e.ok());
  now_ = kT0 + 30;
  EXPECT_TRUE(MustSignIn("alice", kGood, Code(old_raw, now_)).mfa);
  const std::string new_raw = RawSecret(*e);
  now_ = kT0 + 60;
  ASSERT_TRUE(accounts_->ConfirmTotp("alice", Code(new_raw, now_)).ok());
  now_ = kT0 + 90;
  auto old_code = accounts_->SignIn("alice", kGood, Code(old_raw, now_), "127.0.0.1");
  EXPECT_FALSE(old_code.ok());
  now_ = kT0 + 120;
  EXPECT_TRUE(MustSignIn("alice", kGood, Code(new_raw, now_)).mfa);
}

TEST_P(AccountsSuite, PendingEnrolmentExpires) {
  auto e = accounts_->BeginTotp("alice");
  ASSERT_TRUE(e.ok());
  now_ = kT0 + 15 * 60;
  Status st = accounts_->ConfirmTotp("alice", Code(RawSecret(*e), now_));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(accounts_->HasTotp("alice"));
}

TEST_P(AccountsSuite, MfaRequiredButNotEnrolledGetsAnEnrolmentOnlySession) {
  mfa_required_ = {"root"};
  ASSERT_TRUE(accounts_->SetPassword("root", kGood).ok());
  ASSERT_TRUE(accounts_->SetPassword("nora", kGood).ok());

  Session root = MustSignIn("root", kGood, "123456");  // a code without enrolment is ignored
  EXPECT_FALSE(root.mfa);
  EXPECT_EQ(root.expires, kT0 + 15 * 60);  // short: it can only enrol
  auto info = accounts_->Authenticate(root.secret);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(accounts_->EnrolmentOnly(*info));

  Session nora = MustSignIn("nora", kGood);
  EXPECT_FALSE(nora.mfa);
  EXPECT_EQ(nora.expires, kT0 + 3600);
  auto nora_info = accounts_->Authenticate(nora.secret);
  ASSERT_TRUE(nora_info.ok());
  EXPECT_FALSE(accounts_->EnrolmentOnly(*nora_info));

  // Enrolling ends the enrolment-only session; signing in with a code gives a full one.
  const std::string raw = Enrol("root");
  EXPECT_FALSE(accounts_->Authenticate(root.secret).ok());
  EXPECT_TRUE(accounts_->Authenticate(nora.secret).ok());
  now_ = kT0 + 30;
  Session full = MustSignIn("root", kGood, Code(raw, now_));
  EXPECT_TRUE(full.mfa);
  EXPECT_EQ(full.expires, now_ + 3600);
  EXPECT_FALSE(accounts_->EnrolmentOnly(*accounts_->Authenticate(full.secret)));
}

TEST_P(AccountsSuite, BackoffThenLockoutSurvivesRestart) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  ASSERT_TRUE(accounts_->SetPassword("bob", kGood).ok());
  auto attempt = [&](const char* password) {
    return accounts_->SignIn("alice", password, "", "10.0.0.9");
  };

  EXPECT_EQ(*accounts_->RetryAfter("alice"), 0);
  EXPECT_EQ(attempt("wrong 1").error().code, ErrorCode::kUnauthenticated);  // failure 1
  auto backoff = attempt(kGood);                                            // not even checked
  ASSERT_FALSE(backoff.ok());
  EXPECT_EQ(backoff.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(backoff.error().message.find("retry after 1 s"), std::string::npos)
      << backoff.error().message;
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 1);

  now_ += 1;
  EXPECT_EQ(attempt("wrong 2").error().code, ErrorCode::kUnauthenticated);  // failure 2: wait 2 s
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 2);
  now_ += 1;
  EXPECT_EQ(attempt(kGood).error().code, ErrorCode::kResourceExhausted);
  now_ += 1;
  EXPECT_EQ(attempt("wrong 3").error().code, ErrorCode::kUnauthenticated);  // failure 3: wait 4 s
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 4);
  now_ += 4;
  EXPECT_EQ(attempt("wrong 4").error().code, ErrorCode::kUnauthenticated);  // failure 4: locked
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 900);

  now_ += 120;
  auto locked = attempt(kGood);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(locked.error().message.find("locked"), std::string::npos) << locked.error().message;
  // Per principal: bob is not affected.
  EXPECT_TRUE(MustSignIn("bob", kGood).principal == "bob");

  // A restart (or another server process) sees the same lockout.
  accounts_ = Make();
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 780);
  EXPECT_EQ(attempt(kGood).error().code, ErrorCode::kResourceExhausted);
  auto rec = store_->GetRecord("accounts.lockout", "alice");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_NE((*rec)->body.find("\"failures\":4"), std::string::npos) << (*rec)->body;

  // Once the lockout ends the count starts again, and a success clears it.
  now_ = kT0 + 7 + 900;
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 0);
  MustSignIn("alice", kGood);
  EXPECT_FALSE(store_->GetRecord("accounts.lockout", "alice")->has_value());
  EXPECT_EQ(attempt("wrong again").error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 1);
}

TEST_P(AccountsSuite, UnknownPrincipalsLockOutAlike) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(accounts_->SignIn("ghost", "guess", "", "10.0.0.9").error().code,
              ErrorCode::kUnauthenticated);
    now_ += 60;
  }
  EXPECT_EQ(accounts_->SignIn("ghost", "guess", "", "10.0.0.9").error().code,
            ErrorCode::kResourceExhausted);
  EXPECT_EQ(*accounts_->RetryAfter("ghost"), 900 - 60);
}

TEST_P(AccountsSuite, FailuresAreForgottenAfterAQuietPeriod) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(accounts_->SignIn("alice", "wrong", "", "x").ok());
    now_ += 60;
  }
  now_ += 900;
  EXPECT_FALSE(accounts_->SignIn("alice", "wrong", "", "x").ok());
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 1);  // failure 1 again, not 4
}

TEST_P(AccountsSuite, UnlockLiftsTheLockout) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(accounts_->SignIn("alice", "wrong", "", "x").ok());
    now_ += 60;
  }
  ASSERT_EQ(accounts_->SignIn("alice", kGood, "", "x").error().code, ErrorCode::kResourceExhausted);
  ASSERT_TRUE(accounts_->Unlock("alice").ok());
  ASSERT_TRUE(accounts_->Unlock("alice").ok());  // idempotent
  EXPECT_EQ(*accounts_->RetryAfter("alice"), 0);
  MustSignIn("alice", kGood);
}

TEST_P(AccountsSuite, SessionsExpireAbsolutelyAndWhenIdle) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());

  Session idle = MustSignIn("alice", kGood);
  now_ = kT0 + 599;
  auto info = accounts_->Authenticate(idle.secret);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->principal, "alice");
  EXPECT_EQ(info->created, kT0);
  EXPECT_EQ(info->last_seen, kT0 + 599);
  EXPECT_EQ(info->id, HexEncode(crypto::AsBytes(crypto::Sha256(idle.secret))));
  now_ = kT0 + 599 + 599;
  ASSERT_TRUE(accounts_->Authenticate(idle.secret).ok());  // activity keeps it alive
  now_ = kT0 + 599 + 599 + 600;
  auto gone = accounts_->Authenticate(idle.secret);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kUnauthenticated);
  now_ = kT0 + 599 + 599 + 1;  // even if the clock went back, the session is gone
  EXPECT_FALSE(accounts_->Authenticate(idle.secret).ok());

  now_ = kT0 + 10'000;
  Session busy = MustSignIn("alice", kGood);
  for (int64_t t = 500; t < 3600; t += 500) {
    now_ = kT0 + 10'000 + t;
    ASSERT_TRUE(accounts_->Authenticate(busy.secret).ok()) << t;
  }
  now_ = kT0 + 10'000 + 3600;  // absolute limit, however busy
  EXPECT_EQ(accounts_->Authenticate(busy.secret).error().code, ErrorCode::kUnauthenticated);

  for (const std::string& bad :
       {std::string(), std::string("x"), busy.secret.substr(1), std::string(43, '!')}) {
    EXPECT_EQ(accounts_->Authenticate(bad).error().code, ErrorCode::kUnauthenticated);
  }
  EXPECT_EQ(accounts_->Authenticate(std::string(43, 'A')).error().code,
            ErrorCode::kUnauthenticated);
}

TEST_P(AccountsSuite, SessionsAreSharedAcrossInstances) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  Session s = MustSignIn("alice", kGood);
  auto other = Make();
  auto info = other->Authenticate(s.secret);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->principal, "alice");
  ASSERT_TRUE(other->SignOut(s.secret).ok());
  EXPECT_FALSE(accounts_->Authenticate(s.secret).ok());
}

TEST_P(AccountsSuite, CsrfToken) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  Session a = MustSignIn("alice", kGood);
  Session b = MustSignIn("alice", kGood);
  auto info = accounts_->Authenticate(a.secret);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(accounts_->CheckCsrf(*info, a.csrf_token));
  EXPECT_FALSE(accounts_->CheckCsrf(*info, b.csrf_token));
  EXPECT_FALSE(accounts_->CheckCsrf(*info, a.secret));
  EXPECT_FALSE(accounts_->CheckCsrf(*info, ""));
  EXPECT_FALSE(accounts_->CheckCsrf(*info, a.csrf_token.substr(1)));
  EXPECT_FALSE(accounts_->CheckCsrf(*info, info->csrf_sha256));
  EXPECT_FALSE(accounts_->CheckCsrf(SessionInfo{}, a.csrf_token));
}

TEST_P(AccountsSuite, SignOut) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  Session a = MustSignIn("alice", kGood);
  Session b = MustSignIn("alice", kGood);
  ASSERT_TRUE(accounts_->SignOut(a.secret).ok());
  EXPECT_EQ(accounts_->Authenticate(a.secret).error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(accounts_->Authenticate(b.secret).ok());
  EXPECT_TRUE(accounts_->SignOut(a.secret).ok());  // already gone
  EXPECT_TRUE(accounts_->SignOut("not a cookie").ok());
}

TEST_P(AccountsSuite, NewPasswordAndEndSessionsEndSessions) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  ASSERT_TRUE(accounts_->SetPassword("bob", kGood).ok());
  Session a1 = MustSignIn("alice", kGood);
  Session a2 = MustSignIn("alice", kGood);
  Session b = MustSignIn("bob", kGood);

  ASSERT_TRUE(accounts_->SetPassword("alice", kOther).ok());
  EXPECT_FALSE(accounts_->Authenticate(a1.secret).ok());
  EXPECT_FALSE(accounts_->Authenticate(a2.secret).ok());
  EXPECT_TRUE(accounts_->Authenticate(b.secret).ok());
  EXPECT_EQ(accounts_->SignIn("alice", kGood, "", "x").error().message, "invalid credentials");
  now_ += 1;
  Session a3 = MustSignIn("alice", kOther);

  ASSERT_TRUE(accounts_->EndSessions("bob").ok());
  EXPECT_FALSE(accounts_->Authenticate(b.secret).ok());
  EXPECT_TRUE(accounts_->Authenticate(a3.secret).ok());
  EXPECT_TRUE(accounts_->EndSessions("nobody").ok());
}

// The mfa_required callback runs after the password is checked and before the session is
// stored; a password change there is a change that raced with the sign-in.
TEST_P(AccountsSuite, SignInRacingAPasswordChangeFails) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  auto other = Make();
  bool changed = false;
  Accounts racing(
      *store_, sealer_,
      [&](const std::string&) {
        if (!changed) {
          changed = true;
          EXPECT_TRUE(other->SetPassword("alice", kOther).ok());
        }
        return false;
      },
      options_, [this] { return now_.load(); });
  auto s = racing.SignIn("alice", kGood, "", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(store_->ListRecords("accounts.session")->empty());
}

TEST_P(AccountsSuite, StoredRecordsHoldNoSecrets) {
  mfa_required_ = {"alice"};
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  auto e = accounts_->BeginTotp("alice");
  ASSERT_TRUE(e.ok());
  const std::string raw = RawSecret(*e);
  ASSERT_TRUE(accounts_->ConfirmTotp("alice", Code(raw, now_)).ok());
  auto e2 = accounts_->BeginTotp("alice");  // a pending secret too
  ASSERT_TRUE(e2.ok());
  now_ += 30;
  Session s = MustSignIn("alice", kGood, Code(raw, now_));
  now_ += 1;
  EXPECT_FALSE(accounts_->SignIn("alice", "wrong password", "", "x").ok());  // a lockout record

  std::vector<std::string> secrets = {kGood, s.secret, s.csrf_token};
  for (const std::string& r : {raw, RawSecret(*e2)}) {
    secrets.push_back(crypto::Base32Encode(r));
    secrets.push_back(HexEncode(r));
    secrets.push_back(Base64Encode(r));
    secrets.push_back(Base64UrlEncode(r));
    secrets.push_back(r);
  }
  auto records = AllRecords();
  std::set<std::string> kinds;
  for (const auto& r : records) kinds.insert(r.kind);
  EXPECT_EQ(kinds.size(), 4u);
  for (const auto& r : records) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(r.body.find(secret), std::string::npos) << r.kind << "/" << r.id;
      EXPECT_EQ(r.id.find(secret), std::string::npos) << r.kind << "/" << r.id;
    }
  }
  auto totp = store_->GetRecord("accounts.totp", "alice");
  ASSERT_TRUE(totp.ok() && totp->has_value());
  EXPECT_NE((*totp)->body.find(crypto::kSealedTextPrefix), std::string::npos);
}

TEST_P(AccountsSuite, SealedSecretIsBoundToItsPrincipal) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  ASSERT_TRUE(accounts_->SetPassword("mallory", kGood).ok());
  const std::string raw = Enrol("alice");
  Enrol("mallory");
  // Copying alice's sealed secret into mallory's record does not give mallory alice's secret.
  auto alice = store_->GetRecord("accounts.totp", "alice");
  auto mallory = store_->GetRecord("accounts.totp", "mallory");
  ASSERT_TRUE(
      store_->WriteRecords({{"accounts.totp", "mallory", (*alice)->body, (*mallory)->version}})
          .ok());
  now_ += 30;
  auto s = accounts_->SignIn("mallory", kGood, Code(raw, now_), "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
}

TEST_P(AccountsSuite, StorageFailureCreatesNoSession) {
  ASSERT_TRUE(accounts_->SetPassword("alice", kGood).ok());
  testing::FaultyStorage faulty(*store_);
  auto accounts = Make(&faulty);
  faulty.fail_records = true;
  auto s = accounts->SignIn("alice", kGood, "", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(accounts->SetPassword("alice", kOther).ok());
  faulty.fail_records = false;
  EXPECT_TRUE(store_->ListRecords("accounts.session")->empty());
  MustSignIn("alice", kGood);
}

TEST_P(AccountsSuite, ConcurrentSignIns) {
  constexpr int kPeople = 6;
  for (int i = 0; i < kPeople; ++i)
    ASSERT_TRUE(accounts_->SetPassword("p" + std::to_string(i), kGood).ok());
  std::atomic<int> ok{0}, exhausted{0};
  std::vector<std::thread> threads;
  // Two attempts at once for each person: at most one is checked at a time, the other
  // either succeeds too (after the first finished) or backs off; none is lost.
  for (int i = 0; i < 2 * kPeople; ++i) {
    threads.emplace_back([&, i] {
      auto s = accounts_->SignIn("p" + std::to_string(i % kPeople), kGood, "", "x");
      if (s.ok() && accounts_->Authenticate(s->secret).ok()) ++ok;
      if (!s.ok() && s.error().code == ErrorCode::kResourceExhausted) ++exhausted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ok.load(), kPeople);
  EXPECT_EQ(ok.load() + exhausted.load(), 2 * kPeople);
}

TEST(AccountsCookieTest, CookieHeaders) {
  Session s;
  s.secret = "abc";
  EXPECT_EQ(Accounts::CookieHeader(s, 3600),
            "cloudpact_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=3600");
  EXPECT_EQ(Accounts::CookieHeader(s, -5),
            "cloudpact_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(Accounts::ClearCookieHeader(),
            "cloudpact_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsSuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::api
