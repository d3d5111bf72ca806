#include "api/static_files.h"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <system_error>

#include "core/log.h"
#include "crypto/sha256.h"

namespace cloudpact::api {
namespace {

namespace fs = std::filesystem;

// The console talks only to this origin, runs only its own scripts, and may not be framed;
// inline styles stay allowed because Lit components set them. 'wasm-unsafe-eval' (CSP
// Level 3) lets those scripts compile WebAssembly — asciinema-player's terminal emulator,
// bundled in the console's own files — and nothing else: not eval(), not inline script.
constexpr const char* kHtmlCsp =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
// Vite names what it puts in assets/ by a hash of the content: such a name never changes
// meaning, so browsers may keep it for a year without asking again.
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
// Everything else (index.html above all, which names the current assets) is revalidated on
// every use; the ETag makes that a 304 when nothing changed.
constexpr const char* kRevalidate = "no-cache";

// First path segments that belong to the API and the log: never the console's, so that an
// unknown API path keeps its JSON 404 instead of turning into the console's index.html.
bool Reserved(std::string_view first) {
  return first == "v1" || first == "ledger" || first == "healthz" || first == "metrics";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A percent-decoded path segment, or nullopt when it is malformed or could step outside
// the root: "." and "..", NUL and other control characters, backslashes (a separator on
// some systems) and slashes (an encoded %2F would change the segmentation).
std::optional<std::string> CleanSegment(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;
      int hi = HexValue(raw[i + 1]), lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\' || c == '/') return std::nullopt;
    out += c;
  }
  if (out == "." || out == "..") return std::nullopt;
  return out;
}

bool IsWithin(const fs::path& root, const fs::path& p) {
  fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

// Reads at most max+1 bytes, so that a file that grew since it was measured is still bounded.
Result<std::string> ReadBounded(const fs::path& p, size_t max) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kUnavailable, "cannot open " + p.string());
  std::string out(max + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) return MakeError(ErrorCode::kUnavailable, "cannot read " + p.string());
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > max) {
    return MakeError(ErrorCode::kResourceExhausted, p.string() + " is larger than " + std::to_string(max) + " bytes");
  }
  return out;
}

bool IsHtml(std::string_view content_type) { return content_type.rfind("text/html", 0) == 0; }

void SecurityHeaders(Response& res) {
  res.headers["x-content-type-options"] = "nosniff";
  if (IsHtml(res.content_type) || res.content_type.rfind("text/plain", 0) == 0) {
    res.headers["content-security-policy"] = kHtmlCsp;
    res.headers["referrer-policy"] = "no-referrer";
  }
}

constexpr const char* kPlaceholderPage =
    "cloudpact 网页控制台尚未构建。\n"
    "The cloudpact web console has not been built.\n"
    "\n"
    "构建并运行 / To build it and run:\n"
    "    make run\n"
    "只构建控制台 / To build only the console (Node.js and npm, installed by scripts/setup.sh):\n"
    "    cmake --preset release && cmake --build --preset release --target console\n"
    "或指定已构建的目录 / Or point the server at a built console:\n"
    "    cloudpact serve --console-dir console/dist …\n"
    "\n"
    "HTTP API: /v1/… (docs/API.md)\n";

}  // namespace

std::string StaticFiles::ContentType(std::string_view name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"},
  };
  size_t dot = name.rfind('.');
  size_t slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string ext(name.substr(dot));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

Result<std::unique_ptr<StaticFiles>> StaticFiles::Load(const fs::path& root_in, StaticFilesOptions options) {
  std::error_code ec;
  fs::path root = fs::canonical(root_in, ec);
  if (ec || !fs::is_directory(root, ec)) {
    return MakeError(ErrorCode::kNotFound, root_in.string() + " is not a directory");
  }
  if (!fs::is_regular_file(root / "index.html", ec)) {
    return MakeError(ErrorCode::kNotFound, root_in.string() + " has no index.html (is the console built?)");
  }
  std::unique_ptr<StaticFiles> out(new StaticFiles);
  out->root_ = root.string();
  auto skip = [&](const fs::path& p, const std::string& why) {
    log::Warn("console file not served", {{"path", p.string()}, {"reason", why}});
  };
  // Directory symlinks are not followed (the iterator's default), so only file symlinks
  // need checking against the root.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot list " + root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return MakeError(ErrorCode::kUnavailable, "cannot list " + root.string() + ": " + ec.message());
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    fs::file_status st = it->symlink_status(ec);
    if (ec) continue;
    if (!name.empty() && name[0] == '.') {  // .vite/ manifests and editor droppings
      if (fs::is_directory(st)) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_directory(st)) continue;
    fs::path source = p;
    if (fs::is_symlink(st)) {
      fs::path target = fs::canonical(p, ec);
      if (ec || !IsWithin(root, target)) {
        skip(p, "symlink resolves outside the console directory");
        continue;
      }
      if (!fs::is_regular_file(target, ec)) continue;
      source = target;
    } else if (!fs::is_regular_file(st)) {
      continue;  // sockets, FIFOs, devices
    }
    std::string key = p.lexically_relative(root).generic_string();
    bool clean = true;
    for (char c : key) clean = clean && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && c != '\\';
    if (!clean) {
      skip(p, "name cannot be requested");
      continue;
    }
    if (out->files_.size() >= options.max_files) {
      skip(p, "more than " + std::to_string(options.max_files) + " files");
      continue;
    }
    auto size = fs::file_size(source, ec);
    if (ec || size > options.max_file_bytes) {
      skip(p, "larger than " + std::to_string(options.max_file_bytes) + " bytes");
      continue;
    }
    if (out->total_bytes_ + size > options.max_total_bytes) {
      skip(p, "console larger than " + std::to_string(options.max_total_bytes) + " bytes in all");
      continue;
    }
    auto content = ReadBounded(source, options.max_file_bytes);
    if (!content.ok()) {
      skip(p, content.error().message);
      continue;
    }
    File f;
    f.content = std::move(content).value();
    f.content_type = ContentType(key);
    f.etag = "\"" + crypto::Sha256Hex(f.content).substr(0, 32) + "\"";
    f.cache_control = key.rfind("assets/", 0) == 0 ? kImmutable : kRevalidate;
    out->total_bytes_ += f.content.size();
    out->files_.emplace(std::move(key), std::move(f));
  }
  if (!out->files_.count("index.html")) {
    return MakeError(ErrorCode::kNotFound, root_in.string() + "/index.html could not be loaded");
  }
  return out;
}

std::unique_ptr<StaticFiles> StaticFiles::Placeholder() {
  std::unique_ptr<StaticFiles> out(new StaticFiles);
  out->placeholder_ = true;
  return out;
}

std::vector<fs::path> StaticFiles::DefaultDirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  // PREFIX/bin/cloudpact → PREFIX/share/cloudpact/console
  if (!ec && exe.has_parent_path()) dirs.push_back(exe.parent_path().parent_path() / "share" / "cloudpact" / "console");
#ifdef CLOUDPACT_CONSOLE_DIST
  dirs.emplace_back(CLOUDPACT_CONSOLE_DIST);
#endif
  return dirs;
}

Result<std::unique_ptr<StaticFiles>> StaticFiles::ForServe(const std::string& flag) {
  auto loaded = [](const StaticFiles& f) {
    log::Info("web console", {{"dir", f.root()}, {"files", f.file_count()}, {"bytes", f.total_bytes()}});
  };
  if (!flag.empty()) {
    auto f = Load(flag);
    if (!f.ok()) return MakeError(f.error().code, "--console-dir: " + f.error().message);
    loaded(**f);
    return f;
  }
  Json looked = Json::array();
  for (const auto& dir : DefaultDirs()) {
    looked.push_back(dir.string());
    std::error_code ec;
    if (!fs::exists(dir / "index.html", ec)) continue;
    auto f = Load(dir);
    if (f.ok()) {
      loaded(**f);
      return f;
    }
    log::Warn("web console not loadable", {{"dir", dir.string()}, {"error", f.error().message}});
  }
  log::Warn("web console not built: / explains how to build it (make run, or the CMake target console)",
            {{"looked_in", looked}});
  return Placeholder();
}

Response StaticFiles::Serve(const Request& r, const File& f) const {
  Response res;
  res.content_type = f.content_type;
  res.headers["cache-control"] = f.cache_control;
  res.headers["etag"] = f.etag;
  SecurityHeaders(res);
  // A conditional request for what the browser already has: headers only.
  std::string inm = r.Header("if-none-match");
  if (!inm.empty() && (inm == "*" || inm.find(f.etag) != std::string::npos)) {
    res.status = 304;
    return res;
  }
  res.status = 200;
  res.body = f.content;
  return res;
}

bool StaticFiles::Handle(const Request& r, const Respond& respond) const {
  std::string_view path = r.path;
  if (path.empty() || path[0] != '/') return false;  // "*", absolute-form targets
  // Decode and check every segment before deciding anything: a traversal attempt is
  // refused as such, not answered with index.html.
  std::vector<std::string> segs;
  bool trailing_slash = path.size() > 1 && path.back() == '/';
  for (size_t at = 1; at <= path.size();) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view raw = path.substr(at, slash - at);
    at = slash + 1;
    if (raw.empty()) continue;
    auto seg = CleanSegment(raw);
    if (!seg) {
      if (!segs.empty() && Reserved(segs[0])) return false;
      respond(ErrorResponse(400, "invalid_argument",
                            "path may not contain \".\" or \"..\" segments, backslashes, control characters "
                            "or encoded slashes"));
      return true;
    }
    segs.push_back(std::move(*seg));
  }
  if (!segs.empty() && Reserved(segs[0])) return false;

  std::string key;
  for (const auto& s : segs) key += (key.empty() ? "" : "/") + s;
  const File* file = nullptr;
  if (!placeholder_ && !key.empty() && !trailing_slash) {
    auto it = files_.find(key);
    if (it != files_.end()) file = &it->second;
  }
  // An SPA route: "/" or a last segment without a dot is a page of the console, whose
  // router reads the location; a dotted name that is not a file is a real 404.
  bool spa_route = segs.empty() || trailing_slash || segs.back().find('.') == std::string::npos;
  if (!file && !spa_route) return false;

  if (r.method != "GET" && r.method != "HEAD") {
    Response res = ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + r.path);
    res.headers["allow"] = "GET, HEAD";
    respond(std::move(res));
    return true;
  }
  if (placeholder_) {
    Response res;
    res.status = 404;
    res.content_type = "text/plain; charset=utf-8";
    res.body = kPlaceholderPage;
    res.headers["cache-control"] = kRevalidate;
    SecurityHeaders(res);
    respond(std::move(res));
    return true;
  }
  if (!file) file = &files_.at("index.html");
  respond(Serve(r, *file));
  return true;
}

}  // namespace cloudpact::api
