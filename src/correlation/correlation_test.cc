// Correlation and the ingestion pipeline on both storage backends: each finding rule with and
// without the grant that covers it, evidence that verifies from event bytes to the ledger,
// dead letters kept, idempotent pushes, restarts without loss or duplicates, fail-closed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "access/access.h"
#include "core/encoding.h"
#include "core/yaml.h"
#include "correlation/config.h"
#include "correlation/correlator.h"
#include "correlation/pipeline.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "crypto/ssh_key.h"
#include "core/time.h"
#include "directory/directory.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::correlation {
namespace {

using access::AccessService;
using ingest::OperationEvent;

crypto::Ed25519PrivateKey TenantKey() { return *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x21')); }

// A staff key: only its fingerprint matters to correlation.
constexpr const char* kAliceKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsdh+fNJz0cFqbHq6vQN4iTxQLtvw5aZ3Ubqg+hfpAb alice@laptop";

std::string DirectoryYaml() {
  return R"(platforms:
  - {id: os-bj, kind: openstack, aliases: [RegionOne]}
  - {id: k8s-sh, kind: kubernetes, aliases: [prod-sh]}
tenants:
  - id: acme
    approvers:
      - {id: acme-ann, public_key: )" + Base64Encode(TenantKey().public_key()) + R"(}
resources:
  - {id: acme-db, platform: os-bj, type: database, tenant: acme, tenant_data: true, risk: high, aliases: [acme-db.internal, 10.0.0.21]}
  - {id: host01, platform: os-bj, type: host, aliases: [host01, 10.0.0.11]}
  - id: gw-host
    platform: os-bj
    type: host
    aliases: [gw-host]
    ssh: {host: 10.0.0.12, port: 22, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCqdMI3DP6pxFUz4F8f2n5R9hWe5qCbgnbnw8YfW5zl"}
  - {id: cluster-sh, platform: k8s-sh, type: cluster, aliases: [prod-sh]}
staff:
  - {id: alice, roles: [sre], accounts: [alice, "arn:aws:iam::123456789012:user/alice"], ssh_keys: [")" +
         std::string(kAliceKey) + R"("]}
  - {id: bob, kind: outsourced, organisation: Contoso, roles: [contractor], accounts: [bob]}
  - {id: erin, roles: [lead]}
  - {id: olga, roles: [oncall], accounts: [olga]}
)";
}

constexpr const char* kPolicy = R"(request_ttl: 12h
default_max_duration: 8h
roles:
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*", "k8s:*"], resources: {types: [host, cluster]}}
  - name: contractor
    privileged: true
    permissions:
      - {actions: ["login:*"], resources: {types: [host, database]}}
  - name: lead
    admin: [access:review]
  - name: oncall
    privileged: true
    permissions:
      - {actions: ["*"], resources: {}, standing: true}
approval_rules:
  - name: contractors-in-office-hours
    match: {applies_to: outsourced}
    require: {approvals: 1, windows: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00", utc_offset: "+08:00"}]}
)";

constexpr int64_t kT0 = 1'800'000'000;  // 2027-01-15T08:00:00Z, a Friday (16:00 in Beijing)

class CorrelationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    inner_ = testing::OpenFresh(GetParam(), "corr-" + name);
    store_ = std::make_unique<testing::FaultyStorage>(*inner_);
    OpenServices();
    ASSERT_TRUE(access_->ProposePolicy(kPolicy, "root-admin").ok());
    auto spec = directory::ParseDirectory(*ParseYaml(DirectoryYaml()));
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    auto applied = directory_->Apply(*spec, "root-admin");
    ASSERT_TRUE(applied.ok()) << applied.error().message;
  }

  void OpenServices() {
    pipeline_.reset();
    correlator_.reset();
    access_.reset();
    directory_.reset();
    ledger_.reset();
    ledger_ = ledger::Ledger::Open(*store_, crypto::NoteSigner("test.example/ingest", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x0b'))), {}).value();
    directory_ = directory::Directory::Load(*store_, *ledger_).value();
    access_ = AccessService::Load(*store_, *ledger_, *directory_, [this] { return now_; }).value();
    correlator_ = std::make_unique<Correlator>(*directory_, *access_, [this](const std::string& resource, const std::string& fp) {
      return resource == "gw-host" && fp == gateway_fp_;
    });
  }

  void StartPipeline(PipelineOptions options = {}) {
    options.retry_ms = 20;
    auto p = Pipeline::Start(*store_, *ledger_, *correlator_, options);
    ASSERT_TRUE(p.ok()) << p.error().message;
    pipeline_ = std::move(*p);
  }

  // An approved grant for `who` on `resources`, made at now_.
  std::string Grant(const std::string& who, std::vector<std::string> resources, std::vector<std::string> actions,
                    bool tenant_signs = false, int64_t seconds = 3600) {
    auto r = access_->CreateRequest(who, {resources, actions, "maintenance", "patching", "CHG-1", seconds});
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok()) return "";
    auto reviewed = access_->AddReview(r->id, "erin", {"approve", "", ""});
    EXPECT_TRUE(reviewed.ok()) << reviewed.error().message;
    if (tenant_signs) {
      auto signed_ = access_->AddReview(r->id, "acme-ann",
                                        {"approve", "", TenantKey().Sign(access::ReviewMessage("approve", r->digest))});
      EXPECT_TRUE(signed_.ok()) << signed_.error().message;
    }
    auto g = access_->Get(r->id);
    EXPECT_EQ(g->state, access::State::kActive) << r->id;
    return r->id;
  }

  static OperationEvent Event(std::string source, std::string actor, std::string action, std::string target,
                              std::string login, int64_t t, bool privileged = true) {
    OperationEvent e;
    e.source = std::move(source);
    e.actor = std::move(actor);
    e.action = std::move(action);
    e.target = std::move(target);
    e.platform = e.target;
    e.target_login = std::move(login);
    e.time_ms = t * 1000;
    e.outcome = "success";
    e.privileged = privileged;
    e.line = 1;
    return e;
  }

  std::vector<std::string> Kinds(const Analysis& a) {
    std::vector<std::string> out;
    for (const auto& f : a.findings) out.emplace_back(KindName(f.kind));
    return out;
  }

  // "<38>1 TIME HOST sshd 1 - - MSG"
  static std::string SshdLine(int64_t t, const std::string& host, const std::string& msg) {
    return "<38>1 " + FormatRfc3339(SystemTime(std::chrono::seconds(t))) + " " + host + " sshd 4242 - - " + msg;
  }

  std::unique_ptr<storage::Storage> inner_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<AccessService> access_;
  std::unique_ptr<Correlator> correlator_;
  std::unique_ptr<Pipeline> pipeline_;
  std::string gateway_fp_ = "SHA256:gatewaykeyfingerprintforgwhost000000000000";
  int64_t now_ = kT0;
  const SourceConfig host01_auth_{"host01-auth", {"sshd", "sudo"}, "os-bj", "host01"};
};

TEST_P(CorrelationTest, AccessActionsFromNormalisedActions) {
  EXPECT_EQ(Correlator::AccessAction(Event("sshd", "a", "ssh.login", "h", "Root", 0)), "login:root");
  EXPECT_EQ(Correlator::AccessAction(Event("sudo", "a", "sudo.exec", "h", "", 0)), "login:root");
  EXPECT_EQ(Correlator::AccessAction(Event("sudo", "a", "sudo.exec", "h", "postgres", 0)), "login:postgres");
  EXPECT_EQ(Correlator::AccessAction(Event("auditd", "a", "process.exec", "h", "", 0)), "login:root");
  EXPECT_EQ(Correlator::AccessAction(Event("auditd", "a", "process.exec", "h", "", 0, false)), "");
  EXPECT_EQ(Correlator::AccessAction(Event("k8s-audit", "a", "k8s.create", "secrets/x", "", 0)), "k8s:create");
  EXPECT_EQ(Correlator::AccessAction(Event("cloudtrail", "a", "api.iam.CreateAccessKey", "x", "", 0)),
            "api:iam.createaccesskey");
  EXPECT_EQ(Correlator::AccessAction(Event("sshd", "a", "ssh.logout", "h", "root", 0)), "");
}

TEST_P(CorrelationTest, PrivilegedOperationIsCoveredOnlyWhileAGrantIsActive) {
  OperationEvent sudo = Event("sudo", "alice", "sudo.exec", "host01", "root", kT0 + 60);
  auto before = correlator_->Analyze(sudo, host01_auth_);
  EXPECT_EQ(before.resolved.principal, "alice");
  EXPECT_EQ(before.resolved.resource, "host01");
  EXPECT_EQ(before.resolved.access_action, "login:root");
  EXPECT_EQ(Kinds(before), std::vector<std::string>{"privileged_without_grant"});

  const std::string grant = Grant("alice", {"host01"}, {"login:root"});
  auto during = correlator_->Analyze(sudo, host01_auth_);
  EXPECT_TRUE(during.findings.empty());
  EXPECT_EQ(during.resolved.coverage, "grant:" + grant);

  // The same operation after the hour the grant lasted is not covered, even though the log
  // is read now, and one just before the grant was approved is not covered either.
  OperationEvent later = sudo;
  later.time_ms = (kT0 + 3600 + 5) * 1000;
  EXPECT_EQ(Kinds(correlator_->Analyze(later, host01_auth_)), std::vector<std::string>{"privileged_without_grant"});
  OperationEvent earlier = sudo;
  earlier.time_ms = (kT0 - 5) * 1000;
  EXPECT_EQ(Kinds(correlator_->Analyze(earlier, host01_auth_)), std::vector<std::string>{"privileged_without_grant"});

  // Another host is not covered by a grant for host01.
  OperationEvent elsewhere = Event("k8s-audit", "alice", "k8s.create", "secrets/prod/db", "", kT0 + 60);
  elsewhere.platform = "prod-sh";
  auto k8s = correlator_->Analyze(elsewhere, SourceConfig{"k8s", {"k8s-audit"}, "", ""});
  EXPECT_EQ(k8s.resolved.resource, "cluster-sh");
  EXPECT_EQ(k8s.resolved.platform, "k8s-sh");
  EXPECT_EQ(Kinds(k8s), std::vector<std::string>{"privileged_without_grant"});
}

TEST_P(CorrelationTest, FailuresAndUnprivilegedOperationsAreNotFindings) {
  OperationEvent failed = Event("sudo", "alice", "sudo.exec", "host01", "root", kT0);
  failed.outcome = "failure";
  EXPECT_TRUE(correlator_->Analyze(failed, host01_auth_).findings.empty());
  OperationEvent login = Event("sshd", "alice", "ssh.login", "host01", "alice", kT0, /*privileged=*/false);
  auto a = correlator_->Analyze(login, host01_auth_);
  EXPECT_TRUE(a.findings.empty());
  EXPECT_FALSE(a.resolved.checked);
}

TEST_P(CorrelationTest, UnknownActorDoingPrivilegedWorkIsAFinding) {
  OperationEvent root = Event("sshd", "root", "ssh.login", "host01", "root", kT0);
  root.detail = "password";
  auto a = correlator_->Analyze(root, host01_auth_);
  EXPECT_EQ(a.resolved.principal, "");
  ASSERT_EQ(Kinds(a), std::vector<std::string>{"privileged_without_grant"});
  EXPECT_NE(a.findings[0].reason.find("no one in the directory"), std::string::npos) << a.findings[0].reason;
}

TEST_P(CorrelationTest, TenantDataNeedsATenantApprovedGrant) {
  OperationEvent e = Event("sshd", "bob", "ssh.login", "acme-db.internal", "postgres", kT0 + 60);
  const SourceConfig any{"db-auth", {"sshd"}, "", ""};
  auto none = correlator_->Analyze(e, any);
  EXPECT_EQ(none.resolved.resource, "acme-db");
  EXPECT_TRUE(none.resolved.tenant_data);
  ASSERT_EQ(Kinds(none), std::vector<std::string>{"tenant_data_without_tenant_approval"});
  EXPECT_EQ(none.findings[0].severity, "critical");
  EXPECT_TRUE(none.findings[0].candidate_incident);

  // A standing role covers it for the provider, but the tenant never approved.
  OperationEvent olga = e;
  olga.actor = "olga";
  auto standing = correlator_->Analyze(olga, any);
  EXPECT_EQ(standing.resolved.coverage, "role:oncall");
  EXPECT_EQ(Kinds(standing), std::vector<std::string>{"tenant_data_without_tenant_approval"});

  // With the tenant's signed approval, nothing to report.
  const std::string grant = Grant("bob", {"acme-db"}, {"login:postgres"}, /*tenant_signs=*/true);
  auto approved = correlator_->Analyze(e, any);
  EXPECT_TRUE(approved.findings.empty()) << (approved.findings.empty() ? "" : approved.findings[0].reason);
  EXPECT_EQ(approved.resolved.coverage, "grant:" + grant);
}

TEST_P(CorrelationTest, OutsourcedStaffOutsideTheirWindow) {
  const std::string grant = Grant("bob", {"host01"}, {"login:root"}, false, 4 * 3600);
  ASSERT_FALSE(grant.empty());
  // 16:01 in Beijing: inside 09:00-18:00.
  OperationEvent in = Event("sudo", "bob", "sudo.exec", "host01", "root", kT0 + 60);
  EXPECT_TRUE(correlator_->Analyze(in, host01_auth_).findings.empty());
  // 18:30 in Beijing, the grant still unexpired: outside the window.
  OperationEvent out = in;
  out.time_ms = (kT0 + 2 * 3600 + 1800) * 1000;
  auto a = correlator_->Analyze(out, host01_auth_);
  ASSERT_EQ(Kinds(a), std::vector<std::string>{"outside_allowed_window"}) << grant;
  EXPECT_NE(a.findings[0].reason.find("outsourced"), std::string::npos);
}

TEST_P(CorrelationTest, LoginsToGatewayFrontedTargetsMustComeThroughTheGateway) {
  // Through the gateway: its own key for this target.
  OperationEvent via = Event("sshd", "root", "ssh.login", "gw-host", "root", kT0);
  via.key_fingerprint = gateway_fp_;
  auto a = correlator_->Analyze(via, SourceConfig{"gw-auth", {"sshd"}, "", ""});
  EXPECT_TRUE(a.resolved.via_gateway);
  EXPECT_EQ(a.resolved.coverage, "gateway");
  EXPECT_TRUE(a.findings.empty());

  // Directly, with alice's own key: the key names her even though the account is root, and
  // even a grant does not make an unrecorded session acceptable.
  Grant("alice", {"gw-host"}, {"login:root"});
  OperationEvent direct = via;
  direct.key_fingerprint = crypto::ParseSshPublicKey(kAliceKey)->Fingerprint();
  auto b = correlator_->Analyze(direct, SourceConfig{"gw-auth", {"sshd"}, "", ""});
  EXPECT_EQ(b.resolved.principal, "alice");
  EXPECT_FALSE(b.resolved.via_gateway);
  EXPECT_EQ(Kinds(b), std::vector<std::string>{"gateway_bypassed"});
}

// ---------------------------------------------------------------------------------------
// The pipeline.

TEST_P(CorrelationTest, IngestedEventsAreProvableFromTheirBytesToTheLedger) {
  StartPipeline();
  const std::string text =
      SshdLine(kT0 + 10, "host01", "Accepted publickey for root from 10.9.9.9 port 50000 ssh2: ED25519 " +
                                       crypto::ParseSshPublicKey(kAliceKey)->Fingerprint()) + "\n" +
      SshdLine(kT0 + 20, "host01", "Accepted password for alice from 10.9.9.9 port 50001 ssh2") + "\n" +
      "<86>Jan 15 08:00:30 host01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow\n" +
      "<38>1 not-a-time host01 sshd 1 - - Accepted password for root from 10.9.9.9 port 1 ssh2\n";
  auto sum = pipeline_->Ingest(host01_auth_, text, "");
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->lines, 4u);
  EXPECT_EQ(sum->events, 3u);
  EXPECT_EQ(sum->dead_letters, 1u);
  EXPECT_EQ(sum->findings, 2u);  // the root login and the sudo; alice's own login is unprivileged
  EXPECT_TRUE(sum->ledgered);
  ASSERT_EQ(sum->batches.size(), 1u);

  auto findings = pipeline_->Findings({});
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 2u);
  for (const auto& f : *findings) {
    EXPECT_EQ(f.kind, "privileged_without_grant");
    EXPECT_EQ(f.principal, "alice");  // the root login by her key, the sudo by her name
    EXPECT_EQ(f.resource, "host01");

    auto ev = pipeline_->EventEvidence(f.batch, f.event_index, true);
    ASSERT_TRUE(ev.ok()) << ev.error().message;
    // Verify as an outsider would: event bytes → leaf hash → batch root → ledger entry →
    // ledger inclusion proof → the ledger's root.
    const std::string canonical = (*ev)["event"];
    auto event = ParseJson(canonical).value();
    EXPECT_EQ(event["resolved"]["principal"], "alice");
    EXPECT_EQ(CanonicalJson(event).value(), canonical);
    const crypto::Hash leaf = ledger::LeafHash(canonical);
    EXPECT_EQ(HexEncode(crypto::AsBytes(leaf)), f.event_hash);
    std::vector<crypto::Hash> path;
    for (const auto& h : (*ev)["path"]) {
      auto bytes = HexDecode(h.get<std::string>()).value();
      crypto::Hash hh;
      std::copy(bytes.begin(), bytes.end(), hh.begin());
      path.push_back(hh);
    }
    auto root_bytes = HexDecode((*ev)["root"].get<std::string>()).value();
    crypto::Hash root;
    std::copy(root_bytes.begin(), root_bytes.end(), root.begin());
    EXPECT_TRUE(ledger::VerifyInclusion(f.event_index, (*ev)["batch_size"], leaf, path, root).ok());
    auto entry = ParseJson((*ev)["ledger_entry"].get<std::string>()).value();
    EXPECT_EQ(entry["type"], "ingest.batch");
    EXPECT_EQ(entry["body"]["root"], (*ev)["root"]);
    const uint64_t index = (*ev)["ledger_index"];
    ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
    const auto cp = ledger_->LatestCheckpoint();
    auto proof = ledger_->InclusionProof(index, cp.size);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(ledger::VerifyInclusion(index, cp.size, ledger::LeafHash((*ev)["ledger_entry"].get<std::string>()),
                                        *proof, cp.root)
                    .ok());
    // The command line is off the tree, behind the salted commitment in the event.
    if (f.action == "sudo.exec") {
      EXPECT_EQ(canonical.find("/etc/shadow"), std::string::npos);
      const Json& conf = (*ev)["confidential"];
      const std::string salt = HexDecode(conf["salt"].get<std::string>()).value();
      const std::string content = conf["content"];
      EXPECT_NE(content.find("/etc/shadow"), std::string::npos);
      EXPECT_EQ(HexEncode(crypto::AsBytes(crypto::Sha256({salt, content}))), event["confidential"]["commitment"]);
    }
  }
}

TEST_P(CorrelationTest, UnparseableLinesAreKeptAsDeadLetters) {
  StartPipeline();
  const std::string garbage = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\"";  // cut short
  std::string bytes = "\xff\xfe not utf-8";
  auto sum = pipeline_->Ingest(SourceConfig{"k8s", {"k8s-audit"}, "", ""}, garbage + "\n" + bytes + "\n", "");
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->dead_letters, 2u);
  EXPECT_EQ(sum->events, 0u);
  for (uint64_t i = 0; i < 2; ++i) {
    auto ev = pipeline_->EventEvidence(sum->batches[0], i, true);
    ASSERT_TRUE(ev.ok()) << ev.error().message;
    auto leaf = ParseJson((*ev)["event"].get<std::string>()).value();
    EXPECT_EQ(leaf["type"], "cloudpact.dead-letter/v1");
    EXPECT_EQ(leaf["line"], i + 1);
    EXPECT_FALSE(leaf["error"].get<std::string>().empty());
    auto content = ParseJson((*ev)["confidential"]["content"].get<std::string>()).value();
    EXPECT_EQ(Base64Decode(content["raw_base64"].get<std::string>()).value(), i == 0 ? garbage : bytes);
  }
}

TEST_P(CorrelationTest, APushWithTheSameKeyIsIngestedOnce) {
  StartPipeline();
  const std::string text = SshdLine(kT0, "host01", "Accepted password for root from 10.1.1.1 port 1 ssh2") + "\n";
  auto first = pipeline_->Ingest(host01_auth_, text, "upload-1");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  const uint64_t size = ledger_->Size();
  auto again = pipeline_->Ingest(host01_auth_, text, "upload-1");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->batches, first->batches);
  EXPECT_EQ(again->findings, 1u);
  EXPECT_EQ(ledger_->Size(), size);
  EXPECT_EQ(pipeline_->Findings({})->size(), 1u);
  // Another key is another push.
  auto other = pipeline_->Ingest(host01_auth_, text, "upload-2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate);
}

// A source that serves numbered lines in chunks and remembers what was committed.
class ListSource final : public ingest::Source {
 public:
  ListSource(std::vector<std::string> lines, size_t chunk, size_t stop_after_chunks = SIZE_MAX)
      : lines_(std::move(lines)), chunk_(chunk), stop_after_(stop_after_chunks) {}
  Status Run(const std::string& cursor, const ingest::ChunkSink& sink, const std::atomic<bool>& stop) override {
    size_t pos = cursor.empty() ? 0 : std::stoul(cursor);
    size_t served = 0;
    while (pos < lines_.size() && !stop) {
      if (served == stop_after_) {  // like a machine losing power mid-file: wait to be stopped
        while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return OkStatus();
      }
      ingest::LineChunk c;
      c.first_line_no = pos + 1;
      for (size_t i = 0; i < chunk_ && pos < lines_.size(); ++i) c.lines.push_back(lines_[pos++]);
      c.cursor = std::to_string(pos);
      ++served;
      if (!sink(std::move(c))) return OkStatus();
    }
    return OkStatus();
  }
  void Committed(const std::string& cursor) override {
    std::lock_guard<std::mutex> lock(mu_);
    committed_ = cursor;
    cv_.notify_all();
  }
  bool WaitCommitted(const std::string& cursor) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return committed_ == cursor; });
  }

 private:
  std::vector<std::string> lines_;
  size_t chunk_, stop_after_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string committed_;
};

TEST_P(CorrelationTest, ARestartMidSourceResumesWithoutLossOrDuplicates) {
  // auditd events span lines; chunks of 4 lines cut events in half, so the resumed parser
  // must be given the saved half to complete them.
  std::vector<std::string> lines;
  for (int i = 0; i < 30; ++i) {
    const std::string hdr = "msg=audit(" + std::to_string(kT0 + i) + ".000:" + std::to_string(1000 + i) + "): ";
    lines.push_back("type=SYSCALL " + hdr + "arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=" +
                    std::to_string(200 + i) + " auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
                    "tty=pts0 ses=3 comm=\"id\" exe=\"/usr/bin/id\" key=(null) AUID=\"alice\" UID=\"root\" EUID=\"root\"");
    lines.push_back("type=EXECVE " + hdr + "argc=1 a0=\"id\"");
    lines.push_back("type=EOE " + hdr);
  }
  const SourceConfig cfg{"host01-audit", {"auditd"}, "os-bj", "host01"};
  StartPipeline();
  auto first = std::make_unique<ListSource>(lines, 4, /*stop_after_chunks=*/11);
  ListSource* first_raw = first.get();
  ASSERT_TRUE(pipeline_->AddSource(cfg, std::move(first)).ok());
  ASSERT_TRUE(first_raw->WaitCommitted("44"));
  pipeline_->Stop();
  const size_t findings_before = pipeline_->Findings({})->size();
  EXPECT_EQ(findings_before, 14u);  // events 0..13 complete in lines 1..44; event 14 is half read

  OpenServices();
  StartPipeline();
  auto second = std::make_unique<ListSource>(lines, 4);
  ListSource* second_raw = second.get();
  ASSERT_TRUE(pipeline_->AddSource(cfg, std::move(second)).ok());
  ASSERT_TRUE(second_raw->WaitCommitted(std::to_string(lines.size())));
  pipeline_->Stop();
  auto all = pipeline_->Findings({.limit = 1000});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 30u);
  std::set<int64_t> times;
  for (const auto& f : *all) times.insert(f.time_ms);
  EXPECT_EQ(times.size(), 30u);  // each event once
}

TEST_P(CorrelationTest, SeveralSourcesRunSideBySide) {
  StartPipeline();
  std::vector<ListSource*> sources;
  for (int k = 0; k < 4; ++k) {
    std::vector<std::string> lines;
    for (int i = 0; i < 50; ++i)
      lines.push_back(SshdLine(kT0 + k * 100 + i, "host01", "Accepted password for root from 10.0.0." + std::to_string(k) + " port " +
                                                                std::to_string(1000 + i) + " ssh2"));
    auto src = std::make_unique<ListSource>(lines, 7);
    sources.push_back(src.get());
    ASSERT_TRUE(pipeline_->AddSource({"host01-" + std::to_string(k), {"sshd"}, "os-bj", "host01"}, std::move(src)).ok());
  }
  EXPECT_EQ(pipeline_->AddSource({"host01-0", {"sshd"}, "", ""}, std::make_unique<ListSource>(std::vector<std::string>{}, 1))
                .error()
                .code,
            ErrorCode::kAlreadyExists);
  for (auto* s : sources) ASSERT_TRUE(s->WaitCommitted("50"));
  pipeline_->Stop();
  EXPECT_EQ(pipeline_->Findings({.limit = 1000})->size(), 200u);
  auto listed = pipeline_->Sources();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 4u);
  for (const auto& s : *listed) EXPECT_EQ(s["last_line"], 50);
}

TEST_P(CorrelationTest, NothingIsStoredOrAdvancedWhileTheLedgerIsDown) {
  StartPipeline();
  store_->fail_ledger = true;
  const std::string text = SshdLine(kT0, "host01", "Accepted password for root from 10.1.1.1 port 1 ssh2") + "\n";
  auto first = pipeline_->Ingest(host01_auth_, text, "k1");
  // Stored, but the ledger refused: reported, and nothing else is stored until it is back.
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->ledgered);
  auto second = pipeline_->Ingest(host01_auth_, text, "k2");
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(pipeline_->Findings({})->size(), 1u);
  store_->fail_ledger = false;
  auto third = pipeline_->Ingest(host01_auth_, text, "k2");
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE(third->ledgered);
  // The first push's batch is now in the ledger, before the third's.
  auto ev = pipeline_->EventEvidence(first->batches[0], 0, false);
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE((*ev)["ledger_index"].is_number());
  auto ev3 = pipeline_->EventEvidence(third->batches[0], 0, false);
  EXPECT_LT((*ev)["ledger_index"].get<uint64_t>(), (*ev3)["ledger_index"].get<uint64_t>());
}

TEST_P(CorrelationTest, ACrashBetweenStoreAndLedgerIsRecoveredAtStart) {
  StartPipeline();
  store_->fail_ledger = true;
  const std::string text = SshdLine(kT0, "host01", "Accepted password for root from 10.1.1.1 port 1 ssh2") + "\n";
  auto first = pipeline_->Ingest(host01_auth_, text, "");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->ledgered);
  pipeline_->Stop();
  store_->fail_ledger = false;
  OpenServices();
  StartPipeline();  // ledgers the stored batch before accepting anything
  auto ev = pipeline_->EventEvidence(first->batches[0], 0, false);
  ASSERT_TRUE(ev.ok());
  ASSERT_TRUE((*ev)["ledger_index"].is_number());
  // Exactly one ledger entry for the batch.
  int entries = 0;
  auto all = store_->ReadEntries(0, ledger_->Size()).value();
  for (const auto& e : all)
    if (e.find(first->batches[0]) != std::string::npos) ++entries;
  EXPECT_EQ(entries, 1);
}

// The hand-ordered writer must produce exactly what the reference canonicaliser does, for
// any content: quotes, backslashes, control characters, non-ASCII, empty fields.
TEST(EventCanonicalTest, IsRfc8785Canonical) {
  OperationEvent e;
  e.source = "sshd";
  e.actor = "ali\"ce\\ \x01\t王";
  e.action = "ssh.login";
  e.target = "host01\n";
  e.target_login = "root";
  e.outcome = "success";
  e.privileged = true;
  e.time_ms = 1'800'000'000'123;
  e.line = 42;
  e.event_id = "\x7f\u2028";
  e.ocsf_class_uid = 3002;
  e.ocsf_activity_id = 1;
  Analysis a;
  a.resolved.principal = "alice";
  a.resolved.tenant_data = true;
  a.findings.push_back({FindingKind::kGatewayBypassed, "high", "", false});
  a.findings.push_back({FindingKind::kTenantDataWithoutApproval, "critical", "", true});
  const SourceConfig src{"host01-auth", {"sshd"}, "", ""};
  for (const std::string commitment : {std::string(), std::string(64, 'a')}) {
    const std::string text = EventCanonical(src, e, a, commitment);
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
    EXPECT_EQ(CanonicalJson(*parsed).value(), text);
    EXPECT_EQ((*parsed)["actor"], e.actor);
    EXPECT_EQ((*parsed)["findings"][1], "tenant_data_without_tenant_approval");
    EXPECT_EQ(parsed->contains("confidential"), !commitment.empty());
  }
  OperationEvent empty;
  const std::string text = EventCanonical(src, empty, Analysis{}, "");
  EXPECT_EQ(CanonicalJson(*ParseJson(text)).value(), text);
}

// `serve --ingest-config`: what a provider writes by hand gets errors that name the line.
TEST(IngestConfigTest, ReadsSourcesAndNamesTheLineOfEachProblem) {
  auto ok = ParseIngestConfig(*ParseYaml(R"(sources:
  - {name: host01-auth, formats: [sshd, sudo], file: /var/log/auth.log, platform: os-bj, resource: host01}
  - name: syslog
    formats: [auditd]
    syslog: {listen: "127.0.0.1:6514", spool_max_bytes: 1048576}
)"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].file, "/var/log/auth.log");
  EXPECT_EQ((*ok)[0].source.formats, (std::vector<std::string>{"sshd", "sudo"}));
  EXPECT_EQ((*ok)[0].source.resource, "host01");
  ASSERT_TRUE((*ok)[1].syslog.has_value());
  EXPECT_EQ((*ok)[1].syslog->spool_max_bytes, 1048576u);

  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"sources:\n  - {name: a, formats: [sshd], file: /x, colour: red}\n", "line 2 (/sources/0/colour): unknown key"},
           {"sources:\n  - {name: a, formats: [sshd]}\n", "give exactly one of file or syslog"},
           {"sources:\n  - {name: a, formats: [sshd], file: /x, syslog: {listen: \"127.0.0.1:1\"}}\n", "exactly one"},
           {"sources:\n  - {name: a, formats: [sshd], file: /x}\n  - {name: a, formats: [sudo], file: /y}\n",
            "line 3 (/sources/1/name): source a is listed twice"},
           {"sources:\n  - {name: a, formats: [syslog-ng], file: /x}\n", "unknown log format"},
           {"sources:\n  - {name: A B, formats: [sshd], file: /x}\n", "source name must be"},
           {"sources:\n  - {name: a, formats: [], file: /x}\n", "formats must be a non-empty list"},
           {"sources: {}\n", "sources must be a list"},
           {"sources:\n  - {name: a, formats: [sshd], syslog: {listen: \"127.0.0.1:1\", spool_max_bytes: -5}}\n",
            "spool_max_bytes): must be a positive integer"},
       }) {
    auto doc = ParseYaml(c.yaml);
    ASSERT_TRUE(doc.ok()) << c.yaml;
    auto r = ParseIngestConfig(*doc);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CorrelationTest, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::correlation
