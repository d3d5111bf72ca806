#include "crypto/ssh_key.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

#include "core/encoding.h"
#include "core/files.h"

namespace cloudpact::crypto {
namespace {

namespace fs = std::filesystem;

// Keys made once with ssh-keygen 9.2 and their `ssh-keygen -lf` fingerprints.
const std::string kEd25519Line =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKN5BZb7xyBEhfiGkVr7+BJmFwjpaTr5YJpiBe8edmQY "
    "kat@cloudpact";
const std::string kEd25519Fingerprint = "SHA256:BdPxIYZ61O+clqCYurBgl4PsGunWbLH4LiJWioshJv8";
const std::string kEcdsaLine =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBB7J2WCWoU1kaqg4r99H7AuYDMjqyTKE7w1fwtG/"
    "ihjT/6lyRCXtjBBf+YqzuvgAD0YxPkYzElhUDmw4Zn6eWQU= kat ecdsa";
const std::string kEcdsaFingerprint = "SHA256:Y0m5LFAEdyBNqbtnaE0WnMtSul7/JKCe7rCBpQiRACY";

// SSH wire string: uint32 big-endian length, then the bytes.
std::string Wire(std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + std::string(s);
}

std::string Line(std::string_view type, std::string_view blob, std::string_view comment = "") {
  std::string line = std::string(type) + " " + Base64Encode(blob);
  if (!comment.empty()) line += " " + std::string(comment);
  return line;
}

SshPublicKey MustParse(std::string_view line) {
  auto k = ParseSshPublicKey(line);
  EXPECT_TRUE(k.ok()) << line << ": " << (k.ok() ? "" : k.error().message);
  return k.ok() ? *k : SshPublicKey{};
}

// The error message for a line that must not parse.
std::string ErrorOf(std::string_view line) {
  auto k = ParseSshPublicKey(line);
  EXPECT_FALSE(k.ok()) << line;
  if (k.ok()) return "";
  EXPECT_EQ(k.error().code, ErrorCode::kInvalidArgument) << line;
  return k.error().message;
}

struct CommandResult {
  int status;
  std::string out;
};
CommandResult RunCommand(const std::string& command) {
  CommandResult r{-1, ""};
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(SshKeyTest, ParsesKnownKeys) {
  SshPublicKey k = MustParse(kEd25519Line);
  EXPECT_EQ(k.type, "ssh-ed25519");
  EXPECT_EQ(k.comment, "kat@cloudpact");
  EXPECT_EQ(k.blob.size(), 4 + 11 + 4 + 32u);
  EXPECT_EQ(k.Fingerprint(), kEd25519Fingerprint);
  EXPECT_EQ(k.ToLine(), kEd25519Line);

  SshPublicKey e = MustParse(kEcdsaLine);
  EXPECT_EQ(e.type, "ecdsa-sha2-nistp256");
  EXPECT_EQ(e.comment, "kat ecdsa");
  EXPECT_EQ(e.Fingerprint(), kEcdsaFingerprint);
  EXPECT_EQ(e.ToLine(), kEcdsaLine);
}

TEST(SshKeyTest, WhitespaceAndComments) {
  const std::string data = kEd25519Line.substr(12, 68);
  SshPublicKey k = MustParse("ssh-ed25519 " + data);
  EXPECT_EQ(k.comment, "");
  EXPECT_EQ(k.ToLine(), "ssh-ed25519 " + data);

  k = MustParse("  \tssh-ed25519\t\t" + data + "   alice's laptop \t(work)  \r\n");
  EXPECT_EQ(k.comment, "alice's laptop \t(work)");
  EXPECT_EQ(k.Fingerprint(), kEd25519Fingerprint);
  EXPECT_EQ(MustParse(k.ToLine()).comment, k.comment);

  k = MustParse(kEd25519Line + "\n");
  EXPECT_EQ(k.ToLine(), kEd25519Line);
  // UTF-8 in a comment is kept as it is.
  k = MustParse("ssh-ed25519 " + data + " \xe5\xbc\xa0\xe4\xb8\x89@example");
  EXPECT_EQ(k.comment, "\xe5\xbc\xa0\xe4\xb8\x89@example");
}

// Keys generated now by the real ssh-keygen; our fingerprint must equal its own.
TEST(SshKeyTest, MatchesSshKeygen) {
  ASSERT_EQ(RunCommand("command -v ssh-keygen >/dev/null").status, 0)
      << "ssh-keygen not found: install openssh-client";
  std::string tmpl = (fs::temp_directory_path() / "cloudpact-sshkey-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;

  const struct {
    const char* args;
    const char* type;
  } kinds[] = {
      {"-t ed25519", "ssh-ed25519"},
      {"-t ecdsa -b 256", "ecdsa-sha2-nistp256"},
      {"-t rsa -b 2048", "ssh-rsa"},
  };
  for (const auto& kind : kinds) {
    SCOPED_TRACE(kind.type);
    std::string key = (dir / kind.type).string();
    ASSERT_EQ(RunCommand(std::string("ssh-keygen -q ") + kind.args +
                         " -N '' -C 'test key@cloudpact' -f '" + key + "' </dev/null")
                  .status,
              0);
    auto pub = ReadFile(key + ".pub");
    ASSERT_TRUE(pub.ok());
    SshPublicKey k = MustParse(*pub);
    EXPECT_EQ(k.type, kind.type);
    EXPECT_EQ(k.comment, "test key@cloudpact");
    EXPECT_EQ(k.ToLine() + "\n", *pub);

    // "<bits> SHA256:<fp> <comment> (<TYPE>)"
    CommandResult lf = RunCommand("ssh-keygen -lf '" + key + ".pub'");
    ASSERT_EQ(lf.status, 0);
    size_t sp = lf.out.find(' ');
    ASSERT_NE(sp, std::string::npos) << lf.out;
    std::string fingerprint = lf.out.substr(sp + 1, lf.out.find(' ', sp + 1) - sp - 1);
    EXPECT_EQ(k.Fingerprint(), fingerprint) << lf.out;
    EXPECT_EQ(fingerprint.rfind("SHA256:", 0), 0u) << lf.out;
  }
  fs::remove_all(dir);
}

TEST(SshKeyTest, RejectsOptions) {
  for (std::string prefix :
       {"from=\"10.0.0.0/8\"", "restrict", "no-pty", "NO-PTY", "command=\"/bin/true\",no-pty",
        "cert-authority", "environment=\"A=b\"", "expiry-time=\"20300101\"",
        "no-port-forwarding,no-agent-forwarding"}) {
    std::string message = ErrorOf(prefix + " " + kEd25519Line);
    EXPECT_NE(message.find("options before the key"), std::string::npos)
        << prefix << ": " << message;
  }
}

TEST(SshKeyTest, RejectsUnsupportedTypes) {
  for (std::string type :
       {"ssh-dss", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-256",
        "SSH-ED25519", "ssh-ed448", "AAAAC3NzaC1lZDI1NTE5AAAAIKN5BZb7xyBEhfiGkVr7"}) {
    std::string message = ErrorOf(type + " AAAA comment");
    EXPECT_NE(message.find("unsupported key type"), std::string::npos) << type << ": " << message;
  }
}

TEST(SshKeyTest, RejectsMalformedLines) {
  const std::string data = kEd25519Line.substr(12, 68);
  EXPECT_EQ(ErrorOf(""), "ssh key: empty line");
  EXPECT_EQ(ErrorOf(" \t\n"), "ssh key: empty line");
  EXPECT_EQ(ErrorOf("# a comment"), "ssh key: the line is a comment, not a key");
  EXPECT_EQ(ErrorOf("ssh-ed25519"), "ssh key: no key data after the type");
  EXPECT_EQ(ErrorOf("ssh-ed25519   "), "ssh key: no key data after the type");
  EXPECT_EQ(ErrorOf("ssh-ed25519 " + data.substr(1)), "ssh key: the key data is not valid base64");
  EXPECT_EQ(ErrorOf("ssh-ed25519 " + data + "="), "ssh key: the key data is not valid base64");
  EXPECT_EQ(ErrorOf("ssh-ed25519 !!!!"), "ssh key: the key data is not valid base64");
  EXPECT_EQ(ErrorOf(kEd25519Line + "\n" + kEd25519Line),
            "ssh key: more than one line; give one key");
  EXPECT_EQ(ErrorOf(kEd25519Line + "\n\n"), "ssh key: more than one line; give one key");
  EXPECT_EQ(ErrorOf(kEd25519Line + "\x1b[31m"), "ssh key: control character in line");
  EXPECT_EQ(ErrorOf(kEd25519Line + std::string(1, '\0')), "ssh key: control character in line");
  EXPECT_EQ(ErrorOf("ssh-ed25519 " + data + " a\rb"), "ssh key: control character in line");
  EXPECT_NE(ErrorOf(kEd25519Line + std::string(kMaxSshKeyLineBytes, ' ')).find("line longer than"),
            std::string::npos);
}

TEST(SshKeyTest, ChecksTheBlobStructure) {
  const std::string key32(32, 'k');
  // The declared type and the blob's own type string must agree.
  EXPECT_EQ(ErrorOf(Line("ssh-rsa", Wire("ssh-ed25519") + Wire(key32))),
            "ssh key: the key data is for \"ssh-ed25519\" but the line says \"ssh-rsa\"");
  EXPECT_NE(
      ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519\n") + Wire(key32))).find("\"ssh-ed25519?\""),
      std::string::npos);
  // ed25519 keys are 32 bytes.
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32.substr(1)))),
            "ssh key: an ed25519 key is 32 bytes, this one is 31");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32 + "k"))),
            "ssh key: an ed25519 key is 32 bytes, this one is 33");
  // Every length field is bounded by the blob.
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", "")), "ssh key: no key data after the type");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", std::string("\0\0\0", 3))),
            "ssh key: key data ends before the key type");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", std::string("\xff\xff\xff\xff", 4) + "ssh-ed25519")),
            "ssh key: length of the key type (4294967295 bytes) runs past the end of the key data");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519"))),
            "ssh key: key data ends before the ed25519 key");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32).substr(0, 20))),
            "ssh key: length of the ed25519 key (32 bytes) runs past the end of the key data");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + std::string("\0\0\0", 3))),
            "ssh key: key data ends before the ed25519 key");
  // Nothing may follow the key.
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32) + "x")),
            "ssh key: 1 unexpected bytes after the key");
  EXPECT_EQ(ErrorOf(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32) + Wire(""))),
            "ssh key: 4 unexpected bytes after the key");
  // The well-formed blob parses.
  SshPublicKey ok = MustParse(Line("ssh-ed25519", Wire("ssh-ed25519") + Wire(key32), "c"));
  EXPECT_EQ(ok.blob, Wire("ssh-ed25519") + Wire(key32));
}

TEST(SshKeyTest, ChecksEcdsaAndRsaStructure) {
  const std::string point = "\x04" + std::string(64, 'p');
  MustParse(
      Line("ecdsa-sha2-nistp256", Wire("ecdsa-sha2-nistp256") + Wire("nistp256") + Wire(point)));
  EXPECT_EQ(ErrorOf(Line("ecdsa-sha2-nistp256",
                         Wire("ecdsa-sha2-nistp256") + Wire("nistp384") + Wire(point))),
            "ssh key: curve \"nistp384\" is not nistp256");
  for (std::string bad_point : {"\x02" + std::string(32, 'p'), "\x03" + std::string(64, 'p'),
                                point.substr(0, 64), point + "p"}) {
    EXPECT_NE(ErrorOf(Line("ecdsa-sha2-nistp256",
                           Wire("ecdsa-sha2-nistp256") + Wire("nistp256") + Wire(bad_point)))
                  .find("not an uncompressed P-256 point"),
              std::string::npos);
  }
  EXPECT_EQ(ErrorOf(Line("ecdsa-sha2-nistp256", Wire("ecdsa-sha2-nistp256") + Wire("nistp256"))),
            "ssh key: key data ends before the ecdsa point");

  const std::string e = std::string("\x01\x00\x01", 3);
  const std::string n_fixed = std::string("\x00\xc1", 2) + std::string(255, 'n');
  MustParse(Line("ssh-rsa", Wire("ssh-rsa") + Wire(e) + Wire(n_fixed)));
  EXPECT_EQ(ErrorOf(Line("ssh-rsa", Wire("ssh-rsa") + Wire("") + Wire(n_fixed))),
            "ssh key: the rsa exponent is not a positive integer");
  EXPECT_EQ(
      ErrorOf(Line("ssh-rsa", Wire("ssh-rsa") + Wire(e) + Wire("\xc1" + std::string(255, 'n')))),
      "ssh key: the rsa modulus is not a positive integer");
  EXPECT_EQ(ErrorOf(Line("ssh-rsa", Wire("ssh-rsa") + Wire(e))),
            "ssh key: key data ends before the rsa modulus");
  EXPECT_EQ(ErrorOf(Line("ssh-rsa", Wire("ssh-rsa") + Wire(e) + Wire(n_fixed) + "z")),
            "ssh key: 1 unexpected bytes after the key");
}

}  // namespace
}  // namespace cloudpact::crypto
