#include "crypto/seal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/encoding.h"
#include "core/files.h"
#include "crypto/sha256.h"

namespace cloudpact::crypto {
namespace {

constexpr unsigned char kVersion = 0x01;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Error Errno(ErrorCode code, const std::string& what) {
  return MakeError(code, "seal: " + what + ": " + std::strerror(errno));
}

// Wipes a string that may hold plaintext or key bytes before it is freed.
struct Wiped {
  std::string& s;
  bool keep = false;
  ~Wiped() {
    if (!keep) OPENSSL_cleanse(s.data(), s.size());
  }
};

// Reads the key file; kNotFound (with errno == ENOENT) if there is none.
Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "seal: no key file " + path);
    return Errno(ErrorCode::kUnavailable, "cannot open key file " + path);
  }
  struct stat st;
  std::string key(kSealKeyBytes, '\0');
  Result<std::string> result = MakeError(ErrorCode::kInternal, "");
  if (::fstat(fd, &st) != 0) {
    result = Errno(ErrorCode::kUnavailable, "cannot stat key file " + path);
  } else if (!S_ISREG(st.st_mode)) {
    result = MakeError(ErrorCode::kFailedPrecondition,
                       "seal: key file " + path + " is not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    result =
        MakeError(ErrorCode::kFailedPrecondition,
                  "seal: key file " + path + " has mode " + mode +
                      "; it must not be accessible by group or others (chmod 600 " + path + ")");
  } else if (st.st_size != static_cast<off_t>(kSealKeyBytes)) {
    result = MakeError(ErrorCode::kFailedPrecondition,
                       "seal: key file " + path + " is " + std::to_string(st.st_size) +
                           " bytes; a key is exactly " + std::to_string(kSealKeyBytes));
  } else {
    size_t got = 0;
    while (got < key.size()) {
      ssize_t n = ::read(fd, key.data() + got, key.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == key.size()) {
      result = key;
    } else {
      result = MakeError(ErrorCode::kUnavailable, "seal: cannot read key file " + path);
    }
  }
  OPENSSL_cleanse(key.data(), key.size());
  ::close(fd);
  return result;
}

// Stores a new key at path unless a key is already there. The key is written completely
// to a private temporary file first (WriteFileAtomic, mode 0600), then hard-linked into
// place: link() fails with EEXIST instead of replacing a key another process stored in the
// meantime, which rename() would do, orphaning whatever that process had sealed.
// Returns false if a file was already there.
Result<bool> CreateKeyFile(const std::string& path) {
  std::string key = RandomBytes(kSealKeyBytes);
  Wiped wipe{key};
  std::string tmp = path + ".new-" + HexEncode(RandomBytes(8));
  RETURN_IF_ERROR(WriteFileAtomic(tmp, key, 0600));
  int rc = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (link_errno == EEXIST) return false;
    errno = link_errno;
    return Errno(ErrorCode::kUnavailable, "cannot create key file " + path);
  }
  // The new name must survive a crash too: everything sealed from now on depends on it.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool synced = dfd >= 0 && ::fsync(dfd) == 0;
  int sync_errno = errno;
  if (dfd >= 0) ::close(dfd);
  if (!synced) {
    errno = sync_errno;
    return Errno(ErrorCode::kUnavailable, "cannot sync directory of " + path);
  }
  return true;
}

}  // namespace

Sealer::~Sealer() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<Sealer> Sealer::FromKey(std::string_view key) {
  if (key.size() != kSealKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: key must be 32 bytes");
  }
  Sealer s;
  std::memcpy(s.key_.data(), key.data(), kSealKeyBytes);
  return s;
}

Result<Sealer> Sealer::LoadOrCreate(const std::string& key_path) {
  // Two rounds at most: if another process stores a key between our failed read and our
  // link, the second read finds it.
  for (int round = 0; round < 2; ++round) {
    auto key = ReadKeyFile(key_path);
    if (key.ok()) {
      Wiped wipe{*key};
      return FromKey(*key);
    }
    if (key.error().code != ErrorCode::kNotFound) return std::move(key).error();
    ASSIGN_OR_RETURN(bool created, CreateKeyFile(key_path));
    (void)created;  // either way, read back what is stored
  }
  return MakeError(
      ErrorCode::kUnavailable,
      "seal: key file " + key_path + " can be neither read nor created (a dangling symlink?)");
}

Result<std::string> Sealer::Seal(std::string_view plaintext,
                                 std::string_view associated_data) const {
  if (plaintext.size() > kMaxSealBytes || associated_data.size() > kMaxSealBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: plaintext or associated data too long");
  }
  std::string out(kSealOverheadBytes + plaintext.size(), '\0');
  out[0] = static_cast<char>(kVersion);
  std::string nonce = RandomBytes(kNonceBytes);
  std::memcpy(out.data() + 1, nonce.data(), kNonceBytes);
  unsigned char* ct = U(out) + 1 + kNonceBytes;

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  const unsigned char version = kVersion;
  bool ok =
      ctx &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), U(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, &version, 1) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(associated_data),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext), static_cast<int>(plaintext.size())) ==
          1 &&
      static_cast<size_t>(len) == plaintext.size() &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) == 1 && final_len == 0 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) == 1;
  if (!ok) return MakeError(ErrorCode::kInternal, "seal: AES-256-GCM encryption failed");
  return out;
}

Result<std::string> Sealer::Open(std::string_view sealed, std::string_view associated_data) const {
  if (sealed.size() < kSealOverheadBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: sealed data too short (truncated?)");
  }
  if (static_cast<unsigned char>(sealed[0]) != kVersion) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: unknown sealed format version");
  }
  if (sealed.size() - kSealOverheadBytes > kMaxSealBytes ||
      associated_data.size() > kMaxSealBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: sealed or associated data too long");
  }
  std::string_view nonce = sealed.substr(1, kNonceBytes);
  std::string_view ct = sealed.substr(1 + kNonceBytes, sealed.size() - kSealOverheadBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));

  std::string out(ct.size(), '\0');
  Wiped wipe{out};
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  const unsigned char version = kVersion;
  bool setup =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), U(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, &version, 1) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(associated_data),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), U(out), &len, U(ct), static_cast<int>(ct.size())) == 1 &&
      static_cast<size_t>(len) == ct.size() &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
  if (!setup) return MakeError(ErrorCode::kInternal, "seal: AES-256-GCM decryption failed");
  // The tag is checked here, in constant time, before any plaintext is released.
  if (EVP_DecryptFinal_ex(ctx.get(), U(out) + len, &final_len) != 1) {
    return MakeError(ErrorCode::kDataLoss,
                     "seal: sealed data does not authenticate (altered, truncated, another key, "
                     "or other associated data)");
  }
  wipe.keep = true;
  return out;
}

Result<std::string> Sealer::SealText(std::string_view plaintext,
                                     std::string_view associated_data) const {
  ASSIGN_OR_RETURN(std::string sealed, Seal(plaintext, associated_data));
  return std::string(kSealedTextPrefix) + Base64Encode(sealed);
}

Result<std::string> Sealer::OpenText(std::string_view text,
                                     std::string_view associated_data) const {
  if (!IsSealedText(text)) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: not a sealed:v1: value");
  }
  auto sealed = Base64Decode(text.substr(kSealedTextPrefix.size()));
  if (!sealed.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, "seal: sealed value: " + sealed.error().message);
  }
  return Open(*sealed, associated_data);
}

}  // namespace cloudpact::crypto
