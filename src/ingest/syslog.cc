#include "ingest/syslog.h"

#include <chrono>

#include "core/encoding.h"
#include "crypto/sha256.h"

namespace cloudpact::ingest {
namespace syslog_internal {

int64_t NowMs(const SyslogOptions& options) {
  SystemTime t = options.clock ? options.clock() : SystemNow();
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Civil-time fields to Unix ms; false for out-of-range fields.
bool CivilToMs(int y, int mo, int d, int h, int mi, int sec, int64_t* ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *ms = ((days * 24 + h) * 60 + mi) * 60000 + static_cast<int64_t>(sec) * 1000;
  return true;
}

int MonthIndex(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (s == kMonths[i]) return i + 1;
  return 0;
}

int YearOf(int64_t ms) {
  // civil_from_days, year only.
  int64_t z = (ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (m <= 2));
}

// "Mmm dd hh:mm:ss" (dd space-padded or not); 15 bytes, or 14 with a one-digit unpadded day.
bool ParseRfc3164Time(std::string_view s, int64_t now_ms, int64_t* ms, size_t* used) {
  if (s.size() < 14 || s[3] != ' ') return false;
  int mo = MonthIndex(s.substr(0, 3));
  if (mo == 0) return false;
  size_t p = 4;
  int day = 0;
  if (s[p] == ' ') ++p;
  if (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    day = s[p++] - '0';
    if (p < s.size() && s[p] >= '0' && s[p] <= '9') day = day * 10 + (s[p++] - '0');
  } else {
    return false;
  }
  if (p >= s.size() || s[p] != ' ') return false;
  ++p;
  int h = 0, mi = 0, sec = 0;
  if (!Digits(s, p, 2, &h) || p + 2 >= s.size() || s[p + 2] != ':' || !Digits(s, p + 3, 2, &mi) ||
      p + 5 >= s.size() || s[p + 5] != ':' || !Digits(s, p + 6, 2, &sec))
    return false;
  p += 8;
  int year = YearOf(now_ms);
  if (!CivilToMs(year, mo, day, h, mi, sec, ms)) return false;
  if (*ms > now_ms + 31LL * 86400000) CivilToMs(year - 1, mo, day, h, mi, sec, ms);
  *used = p;
  return true;
}

bool IsTagChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '/' || c == '@';
}

// "TAG[PID]: " or "TAG: " at the start of s. Sets app and the message start.
bool ParseTag(std::string_view s, bool require_pid, std::string_view* app, size_t* msg_start) {
  size_t p = 0;
  while (p < s.size() && p < 64 && IsTagChar(s[p])) ++p;
  if (p == 0 || p >= s.size()) return false;
  *app = s.substr(0, p);
  bool had_pid = false;
  if (s[p] == '[') {
    size_t close = s.find(']', p);
    if (close == std::string_view::npos || close - p > 21) return false;
    p = close + 1;
    had_pid = true;
  }
  if (require_pid && !had_pid) return false;
  if (p >= s.size() || s[p] != ':') return false;
  ++p;
  if (p < s.size()) {
    if (s[p] != ' ') return false;
    ++p;
  }
  *msg_start = p;
  return true;
}

std::string_view NextToken(std::string_view s, size_t* pos) {
  size_t start = *pos;
  size_t end = s.find(' ', start);
  if (end == std::string_view::npos) end = s.size();
  *pos = end < s.size() ? end + 1 : end;
  return s.substr(start, end - start);
}

Error FrameError(std::string_view what) {
  return MakeError(ErrorCode::kInvalidArgument, "malformed syslog frame: " + std::string(what));
}

Result<SyslogLine> ParseRfc5424(std::string_view s) {
  // After "<PRI>1 ".
  SyslogLine out;
  out.framed = true;
  size_t pos = 0;
  std::string_view ts = NextToken(s, &pos);
  std::string_view host = NextToken(s, &pos);
  std::string_view app = NextToken(s, &pos);
  std::string_view procid = NextToken(s, &pos);
  std::string_view msgid = NextToken(s, &pos);
  if (msgid.empty() || procid.empty() || app.empty() || host.empty() || ts.empty())
    return FrameError("RFC 5424 header needs TIMESTAMP HOST APP-NAME PROCID MSGID");
  if (ts != "-") {
    size_t used = 0;
    if (!ParseRfc3339(ts, &out.time_ms, &used) || used != ts.size())
      return FrameError("RFC 5424 TIMESTAMP is not RFC 3339");
    out.has_time = true;
  }
  out.host = host == "-" ? std::string_view() : host;
  out.app = app == "-" ? std::string_view() : app;
  if (pos >= s.size()) return out;  // no SD, no MSG
  if (s[pos] == '-') {
    ++pos;
  } else if (s[pos] == '[') {
    // One or more SD-ELEMENTs; inside quoted PARAM-VALUEs, '\' escapes '"', '\' and ']'.
    while (pos < s.size() && s[pos] == '[') {
      bool quoted = false;
      ++pos;
      for (;; ++pos) {
        if (pos >= s.size()) return FrameError("unterminated RFC 5424 structured data");
        char c = s[pos];
        if (quoted && c == '\\') {
          ++pos;
          continue;
        }
        if (c == '"') quoted = !quoted;
        if (!quoted && c == ']') break;
      }
      ++pos;
    }
  } else {
    return FrameError("RFC 5424 STRUCTURED-DATA must be '-' or start with '['");
  }
  if (pos < s.size()) {
    if (s[pos] != ' ') return FrameError("RFC 5424 STRUCTURED-DATA not followed by a space");
    ++pos;
  }
  std::string_view msg = s.substr(pos);
  if (msg.starts_with("\xEF\xBB\xBF")) msg.remove_prefix(3);
  out.msg = msg;
  return out;
}

}  // namespace

bool ParseRfc3339(std::string_view s, int64_t* ms, size_t* used) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec))
    return false;
  int64_t t = 0;
  if (!CivilToMs(y, mo, d, h, mi, sec, &t)) return false;
  size_t p = 19;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    int frac_ms = 0, digits = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[p] - '0');
      ++digits;
      ++p;
    }
    if (p == start || p - start > 9) return false;
    for (; digits < 3; ++digits) frac_ms *= 10;
    t += frac_ms;
  }
  if (p >= s.size()) return false;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int oh = 0, om = 0;
    if (!Digits(s, p + 1, 2, &oh) || p + 3 >= s.size() || s[p + 3] != ':' ||
        !Digits(s, p + 4, 2, &om) || oh > 23 || om > 59)
      return false;
    int64_t off = (static_cast<int64_t>(oh) * 60 + om) * 60000;
    t += s[p] == '+' ? -off : off;
    p += 6;
  } else {
    return false;
  }
  *ms = t;
  *used = p;
  return true;
}

void AppendSanitized(std::string& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c >= 0x20 && c < 0x7f) {
      size_t j = i + 1;
      while (j < in.size() && static_cast<unsigned char>(in[j]) >= 0x20 &&
             static_cast<unsigned char>(in[j]) < 0x7f)
        ++j;
      out.append(in.data() + i, j - i);
      i = j;
      continue;
    }
    // A valid UTF-8 sequence of 2-4 bytes (no overlongs, no surrogates, ≤ U+10FFFF).
    size_t n = 0;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3;
    else if (c >= 0xF0 && c <= 0xF4) n = 4;
    bool ok = n > 0 && i + n <= in.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    if (ok && n >= 3) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) ok = false;
      if (c == 0xED && c1 >= 0xA0) ok = false;
      if (c == 0xF0 && c1 < 0x90) ok = false;
      if (c == 0xF4 && c1 >= 0x90) ok = false;
    }
    if (ok) {
      out.append(in.data() + i, n);
      i += n;
      continue;
    }
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
    ++i;
  }
}

void AppendShellWord(std::string& out, std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '/' || c == '=' || c == ':' || c == ',' ||
              c == '+' || c == '@' || c == '%';
    if (!ok) {
      safe = false;
      break;
    }
  }
  if (safe) {
    out.append(word);
    return;
  }
  out += '\'';
  size_t start = 0;
  for (size_t i = 0; i <= word.size(); ++i) {
    if (i == word.size() || word[i] == '\'') {
      AppendSanitized(out, word.substr(start, i - start));
      if (i < word.size()) out += "'\\''";
      start = i + 1;
    }
  }
  out += '\'';
}


Status CheckLineLength(std::string_view line, uint64_t line_no) {
  if (line.size() <= kMaxLineBytes) return OkStatus();
  return MakeError(ErrorCode::kInvalidArgument,
                   "line " + std::to_string(line_no) + " is " + std::to_string(line.size()) +
                       " bytes, over the " + std::to_string(kMaxLineBytes) +
                       "-byte limit for one log line");
}

std::string_view StripEol(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  return line;
}

}  // namespace syslog_internal

using namespace syslog_internal;

Result<SyslogLine> ParseSyslogLine(std::string_view line, int64_t now_ms) {
  std::string_view s = StripEol(line);
  bool had_pri = false;
  if (!s.empty() && s[0] == '<') {
    size_t p = 1;
    int pri = 0;
    while (p < s.size() && p <= 4 && s[p] >= '0' && s[p] <= '9') pri = pri * 10 + (s[p++] - '0');
    if (p == 1 || p > 4 || p >= s.size() || s[p] != '>')
      return FrameError("'<' must start a <PRI> of 1-3 digits closed by '>'");
    if (pri > 191) return FrameError("PRI " + std::to_string(pri) + " is above 191");
    s.remove_prefix(p + 1);
    had_pri = true;
    if (s.size() >= 2 && s[0] == '1' && s[1] == ' ') return ParseRfc5424(s.substr(2));
  }
  SyslogLine out;
  size_t used = 0;
  if (ParseRfc3164Time(s, now_ms, &out.time_ms, &used) || ParseRfc3339(s, &out.time_ms, &used)) {
    out.has_time = true;
    s.remove_prefix(used);
    if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
    // HOST TAG[PID]: MSG, or TAG[PID]: MSG without a host, or an unframed message.
    size_t pos = 0;
    std::string_view first = NextToken(s, &pos);
    std::string_view app;
    size_t msg_start = 0;
    if (!first.empty() && first.find(':') == std::string_view::npos &&
        ParseTag(s.substr(pos), false, &app, &msg_start)) {
      out.framed = true;
      out.host = first;
      out.app = app;
      out.msg = s.substr(pos + msg_start);
      return out;
    }
    if (ParseTag(s, true, &app, &msg_start)) {
      out.framed = true;
      out.app = app;
      out.msg = s.substr(msg_start);
      return out;
    }
    out.msg = s;
    return out;
  }
  (void)had_pri;  // "<13>msg" (a local /dev/log writer) is a message without a timestamp
  // No timestamp: "TAG[PID]: MSG" (journalctl -o cat with identifiers, sshd -e) or plain.
  std::string_view app;
  size_t msg_start = 0;
  if (ParseTag(s, true, &app, &msg_start)) {
    out.framed = true;
    out.app = app;
    out.msg = s.substr(msg_start);
    return out;
  }
  out.msg = s;
  return out;
}

}  // namespace cloudpact::ingest
