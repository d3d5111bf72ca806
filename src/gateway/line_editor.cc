#include "gateway/line_editor.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cloudpact::gateway {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
// Escape sequences longer than this are dropped (their bytes consumed, their effect ignored);
// real keys and the CSI sequences a line editor emits are a few bytes long.
constexpr size_t kMaxEscapeBytes = 64;
// A base character and the combining marks drawn over it; more marks are dropped.
constexpr size_t kMaxGlyphBytes = 32;

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool IsContinuation(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// Cuts valid UTF-8 to at most max bytes on a code point boundary.
bool CutToBound(std::string& s, size_t max) {
  if (s.size() <= max) return false;
  size_t end = max;
  while (end > 0 && IsContinuation(s[end])) --end;
  s.resize(end);
  return true;
}

// Incremental UTF-8 decoder that keeps its state across calls, so sequences split between
// reads decode as if whole. Invalid input yields one U+FFFD per maximal ill-formed subpart
// (Unicode §3.9), which keeps what we report valid UTF-8 without losing the fact that a byte
// was there. Only bytes >= 0x80 are fed; the caller calls Flush before handling an ASCII byte.
class Utf8Decoder {
 public:
  template <typename Emit>
  void Feed(uint8_t b, Emit&& emit) {
    if (need_ > 0) {
      if (b >= lo_ && b <= hi_) {
        cp_ = (cp_ << 6) | (b & 0x3F);
        lo_ = 0x80;
        hi_ = 0xBF;
        if (--need_ == 0) emit(cp_);
        return;
      }
      need_ = 0;
      emit(kReplacement);
    }
    // Second-byte ranges exclude overlong forms, surrogates and code points above U+10FFFF.
    if (b >= 0xC2 && b <= 0xDF) {
      Start(b & 0x1F, 1, 0x80, 0xBF);
    } else if (b == 0xE0) {
      Start(0, 2, 0xA0, 0xBF);
    } else if (b >= 0xE1 && b <= 0xEF) {
      Start(b & 0x0F, 2, 0x80, b == 0xED ? 0x9F : 0xBF);
    } else if (b == 0xF0) {
      Start(0, 3, 0x90, 0xBF);
    } else if (b >= 0xF1 && b <= 0xF3) {
      Start(b & 0x07, 3, 0x80, 0xBF);
    } else if (b == 0xF4) {
      Start(4, 3, 0x80, 0x8F);
    } else {
      emit(kReplacement);
    }
  }
  template <typename Emit>
  void Flush(Emit&& emit) {
    if (need_ > 0) {
      need_ = 0;
      emit(kReplacement);
    }
  }
  void Clear() { need_ = 0; }

 private:
  void Start(char32_t bits, int need, uint8_t lo, uint8_t hi) {
    cp_ = bits;
    need_ = need;
    lo_ = lo;
    hi_ = hi;
  }
  char32_t cp_ = 0;
  int need_ = 0;
  uint8_t lo_ = 0x80, hi_ = 0xBF;
};

// Terminal column width (the East Asian Wide/Fullwidth ranges and the common zero-width
// marks; what wcwidth() gives for them, without depending on the gateway's locale).
int ColumnWidth(char32_t c) {
  struct Range {
    char32_t lo, hi;
  };
  static constexpr Range kZero[] = {
      {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
      {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},
      {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
  };
  static constexpr Range kWide[] = {
      {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x2E80, 0x303E},
      {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
      {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
      {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
      {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
  };
  if (c < 0x300) return 1;
  for (const Range& r : kZero) {
    if (c >= r.lo && c <= r.hi) return 0;
  }
  for (const Range& r : kWide) {
    if (c >= r.lo && c <= r.hi) return 2;
  }
  return 1;
}

// One row of the terminal: what the target drew on the line the cursor is on. A row, not a
// screen, because the command line is drawn on the cursor's row and a line editor redraws it
// with row-local moves (BS, CR, CSI C/D/G/K/P/@/X); moving to another row forgets the content.
class ScreenRow {
 public:
  explicit ScreenRow(size_t max_columns) : max_(max_columns) {}

  size_t column() const { return col_; }

  void Put(char32_t c) {
    if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return;  // controls draw nothing
    const int width = ColumnWidth(c);
    if (width == 0) {
      AddMark(c);
      return;
    }
    if (col_ + width > max_) {
      overflow_ = true;
      return;
    }
    Isolate(col_);
    if (width == 2) Isolate(col_ + 1);
    if (cells_.size() < col_ + width) cells_.resize(col_ + width);
    cells_[col_].glyph.clear();
    AppendUtf8(cells_[col_].glyph, c);
    cells_[col_].width = static_cast<uint8_t>(width);
    if (width == 2) cells_[col_ + 1] = Cell{std::string(), 0};
    col_ += width;
  }

  void CarriageReturn() { col_ = 0; }
  // The cursor moved to another row (LF, or an absolute or vertical move): that row's content
  // is unknown to us, and after a line feed at the bottom of the screen it is blank.
  void NewRow() {
    cells_.clear();
    overflow_ = false;
  }
  void Left(size_t n) { col_ = n > col_ ? 0 : col_ - n; }
  void Right(size_t n) { col_ = std::min(max_, col_ + std::min(n, max_)); }
  void SetColumn(size_t c) { col_ = std::min(max_, c); }
  void Tab() { SetColumn((col_ / 8 + 1) * 8); }
  void SaveColumn() { saved_col_ = col_; }
  void RestoreColumn() { SetColumn(saved_col_); }

  // CSI K / CSI J: 0 cursor to end, 1 start to cursor (inclusive), 2 whole row.
  void Erase(int mode) {
    if (mode == 0) {
      Isolate(col_);
      if (col_ < cells_.size()) cells_.resize(col_);
      overflow_ = false;
    } else if (mode == 1) {
      Isolate(col_);
      for (size_t i = 0; i <= col_ && i < cells_.size(); ++i) cells_[i] = Cell();
    } else if (mode == 2) {
      NewRow();
    }
  }
  // CSI P: the rest of the row shifts left.
  void DeleteChars(size_t n) {
    if (col_ >= cells_.size()) return;
    n = std::min(n, cells_.size() - col_);
    Isolate(col_);
    Isolate(col_ + n - 1);
    cells_.erase(cells_.begin() + static_cast<std::ptrdiff_t>(col_),
                 cells_.begin() + static_cast<std::ptrdiff_t>(col_ + n));
  }
  // CSI @: blanks open at the cursor, the rest shifts right (and falls off at the bound).
  void InsertBlanks(size_t n) {
    if (col_ >= cells_.size()) return;
    n = std::min(n, max_ - col_);
    Isolate(col_);
    cells_.insert(cells_.begin() + static_cast<std::ptrdiff_t>(col_), n, Cell());
    if (cells_.size() > max_) {
      cells_.resize(max_);
      overflow_ = true;
      if (cells_.back().width == 2) cells_.back() = Cell();
    }
  }
  // CSI X: blanks over n cells, nothing moves.
  void EraseChars(size_t n) {
    if (col_ >= cells_.size()) return;
    n = std::min(n, cells_.size() - col_);
    Isolate(col_);
    Isolate(col_ + n - 1);
    for (size_t i = col_; i < col_ + n; ++i) cells_[i] = Cell();
  }

  // The row's text from column `from`, trailing blanks trimmed, at most max_bytes bytes.
  std::string Text(size_t from, size_t max_bytes, bool* truncated) const {
    std::string out;
    for (size_t i = from; i < cells_.size(); ++i) {
      if (cells_[i].width == 0) continue;  // right half of a wide character
      out += cells_[i].glyph;
      if (out.size() > max_bytes + kMaxGlyphBytes) break;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    const bool cut = CutToBound(out, max_bytes);
    if (truncated != nullptr) *truncated = cut || (overflow_ && from <= max_);
    return out;
  }

 private:
  struct Cell {
    std::string glyph = " ";
    uint8_t width = 1;  // 2: left half of a wide character, 0: its right half
  };

  // Keeps wide characters whole: a cell about to change that is half of one blanks both halves,
  // as terminals do.
  void Isolate(size_t i) {
    if (i >= cells_.size()) return;
    if (cells_[i].width == 0) {
      cells_[i] = Cell();
      if (i > 0 && cells_[i - 1].width == 2) cells_[i - 1] = Cell();
    } else if (cells_[i].width == 2) {
      cells_[i] = Cell();
      if (i + 1 < cells_.size() && cells_[i + 1].width == 0) cells_[i + 1] = Cell();
    }
  }

  // A zero-width mark joins the character left of the cursor, so it is not lost from the text
  // (a zero-width space in a file name is part of the command).
  void AddMark(char32_t c) {
    if (col_ == 0 || col_ > cells_.size()) return;
    size_t i = col_ - 1;
    if (cells_[i].width == 0 && i > 0) --i;
    if (cells_[i].glyph.size() + 4 > kMaxGlyphBytes) return;
    AppendUtf8(cells_[i].glyph, c);
  }

  size_t max_;
  std::vector<Cell> cells_;
  size_t col_ = 0;
  size_t saved_col_ = 0;
  bool overflow_ = false;  // something was drawn beyond max_ columns
};

// Parameters of a CSI sequence: an optional private marker ('<'..'?'), numbers separated by
// ';' or ':' (saturating, so a long run of digits cannot overflow), and intermediates.
struct Csi {
  char marker = 0;
  bool has_intermediate = false;
  std::vector<unsigned> params;

  static Csi Parse(std::string_view body) {
    Csi csi;
    size_t i = 0;
    if (!body.empty() && body[0] >= '<' && body[0] <= '?') csi.marker = body[i++];
    unsigned value = 0;
    bool any = false;
    for (; i < body.size(); ++i) {
      const char c = body[i];
      if (c >= '0' && c <= '9') {
        value = std::min(value * 10 + static_cast<unsigned>(c - '0'), 100000u);
        any = true;
      } else if (c == ';' || c == ':') {
        csi.params.push_back(value);
        value = 0;
        any = true;
      } else if (c >= 0x20 && c <= 0x2F) {
        csi.has_intermediate = true;
      }
    }
    if (any) csi.params.push_back(value);
    return csi;
  }
  unsigned Param(size_t i, unsigned fallback) const {
    return i < params.size() && params[i] != 0 ? params[i] : fallback;
  }
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The search prompts readline draws at column 0 in place of the prompt during Ctrl-R/Ctrl-S.
constexpr std::string_view kSearchPrompts[] = {
    "(reverse-i-search)`",
    "(i-search)`",
    "(failed reverse-i-search)`",
    "(failed i-search)`",
};

}  // namespace

struct LineEditor::State {
  explicit State(Options o) : options(o), row(o.max_line_bytes), saved_row(o.max_line_bytes) {}

  enum class In { kGround, kEsc, kCsi, kSs3, kCtrlX, kQuoted, kPaste };
  enum class Out { kGround, kEsc, kEscIntermediate, kCsi, kString, kStringEsc };

  Options options;

  // --- The line as modelled from keystrokes.
  std::string line;   // valid UTF-8
  size_t cursor = 0;  // byte offset, on a code point boundary
  bool line_truncated = false;
  bool echo_mode = false;  // a key with an effect only the target knows was used
  bool started = false;    // a key of this line was seen; prompt_column is set
  size_t prompt_column = 0;
  bool next_line_echo = false;  // Ctrl-O preloads the next line from history
  bool input_since_output = false;

  In in = In::kGround;
  std::string in_escape;
  bool in_escape_overflow = false;
  size_t paste_match = 0;  // bytes of the paste end marker matched so far
  Utf8Decoder in_utf8;

  // --- The target's screen.
  ScreenRow row;
  ScreenRow saved_row;  // the main screen's row while the alternate screen is shown
  bool fullscreen = false;
  bool paste_enabled = false;  // the target asked for bracketed paste (ESC[?2004h)
  Out out = Out::kGround;
  std::string out_escape;
  bool out_escape_overflow = false;
  bool string_bel_ends = false;  // OSC ends at BEL as well as at ST
  Utf8Decoder out_utf8;

  // ---------------------------------------------------------------- input side

  void StartLine() {
    line.clear();
    cursor = 0;
    line_truncated = false;
    echo_mode = false;
    started = false;
  }

  void ResetInputParser() {
    in = In::kGround;
    in_escape.clear();
    in_escape_overflow = false;
    paste_match = 0;
    in_utf8.Clear();
  }

  void Insert(char32_t c) {
    std::string bytes;
    AppendUtf8(bytes, c);
    if (line.size() + bytes.size() > options.max_line_bytes) {
      line_truncated = true;
      return;
    }
    line.insert(cursor, bytes);
    cursor += bytes.size();
  }
  void InsertUtf8Byte(uint8_t b) {
    in_utf8.Feed(b, [this](char32_t c) { Insert(c); });
  }
  void InsertAscii(uint8_t b) {
    in_utf8.Flush([this](char32_t c) { Insert(c); });
    Insert(b);
  }

  size_t PrevBoundary(size_t p) const {
    if (p == 0) return 0;
    --p;
    while (p > 0 && IsContinuation(line[p])) --p;
    return p;
  }
  size_t NextBoundary(size_t p) const {
    if (p >= line.size()) return line.size();
    ++p;
    while (p < line.size() && IsContinuation(line[p])) ++p;
    return p;
  }

  void Backspace() {
    const size_t p = PrevBoundary(cursor);
    line.erase(p, cursor - p);
    cursor = p;
  }
  void DeleteForward() { line.erase(cursor, NextBoundary(cursor) - cursor); }
  // readline's unix-word-rubout: blanks before the cursor, then the non-blanks before them.
  void RuboutWord() {
    size_t p = cursor;
    while (p > 0 && IsBlank(line[p - 1])) --p;
    while (p > 0 && !IsBlank(line[p - 1])) --p;
    line.erase(p, cursor - p);
    cursor = p;
  }

  void Unknown() { echo_mode = true; }

  std::optional<SubmitKey> InputByte(uint8_t b) {
    // The tty, not the line editor, turns Ctrl-C into SIGINT, whatever readline was in the
    // middle of (a prefix, a quoted insert, a paste): the shell drops the line.
    if (b == 0x03) {
      in_utf8.Clear();
      ResetInputParser();
      StartLine();
      return std::nullopt;
    }
    switch (in) {
      case In::kGround:
        return GroundKey(b);
      case In::kQuoted:
        // Ctrl-V: the next byte goes into the line as it is (Ctrl-V Ctrl-J is a newline in the
        // line, not a submission).
        in = In::kGround;
        if (b >= 0x80) {
          InsertUtf8Byte(b);
        } else {
          InsertAscii(b);
        }
        return std::nullopt;
      case In::kEsc:
        return EscKey(b);
      case In::kCsi:
        if (b >= 0x40 && b <= 0x7E) {
          in = In::kGround;
          CsiKey(static_cast<char>(b));
          return std::nullopt;
        }
        if (b >= 0x20 && b <= 0x3F) {
          if (in_escape.size() < kMaxEscapeBytes) {
            in_escape += static_cast<char>(b);
          } else {
            in_escape_overflow = true;
          }
          return std::nullopt;
        }
        // Not part of a CSI sequence: the sequence was an unknown key and this byte is a key of
        // its own (it may be Enter, which must not be swallowed).
        in = In::kGround;
        Unknown();
        return GroundKey(b);
      case In::kSs3:
        in = In::kGround;
        if (b < 0x20 || b >= 0x7F) {
          Unknown();
          return GroundKey(b);
        }
        switch (b) {
          case 'C':
            cursor = NextBoundary(cursor);
            break;
          case 'D':
            cursor = PrevBoundary(cursor);
            break;
          case 'H':
            cursor = 0;
            break;
          case 'F':
            cursor = line.size();
            break;
          default:
            Unknown();  // SS3 A/B (history), function keys
        }
        return std::nullopt;
      case In::kCtrlX:
        in = In::kGround;
        if (b == 0x05) return SubmitKey::kEditAndExecute;
        Unknown();  // Ctrl-X Ctrl-U (undo), Ctrl-X Ctrl-X, Ctrl-X ( macros, ...
        return GroundKey(b);
      case In::kPaste:
        PasteByte(b);
        return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<SubmitKey> GroundKey(uint8_t b) {
    if (b >= 0x80) {
      InsertUtf8Byte(b);
      return std::nullopt;
    }
    in_utf8.Flush([this](char32_t c) { Insert(c); });
    if (b >= 0x20 && b < 0x7F) {
      Insert(b);
      return std::nullopt;
    }
    switch (b) {
      case '\r':
      case '\n':
        return SubmitKey::kEnter;
      case 0x0F:
        return SubmitKey::kOperateAndGetNext;
      case 0x7F:
      case 0x08:
        Backspace();
        break;
      case 0x01:
        cursor = 0;
        break;
      case 0x05:
        cursor = line.size();
        break;
      case 0x02:
        cursor = PrevBoundary(cursor);
        break;
      case 0x06:
        cursor = NextBoundary(cursor);
        break;
      case 0x04:  // delete-char; on an empty line it is end-of-file, which runs nothing
        DeleteForward();
        break;
      case 0x0B:
        line.erase(cursor);
        break;
      case 0x15:
        line.erase(0, cursor);
        cursor = 0;
        break;
      case 0x17:
        RuboutWord();
        break;
      case 0x0C:
        break;  // clear-screen redraws the same line
      case 0x16:
        in = In::kQuoted;
        break;
      case 0x18:
        in = In::kCtrlX;
        break;
      case 0x1B:
        in = In::kEsc;
        break;
      default:
        // Tab, Ctrl-G (abort: keeps the line in bash, drops it in zsh), Ctrl-N/P/R/S/T/Y,
        // Ctrl-Q, Ctrl-Z, Ctrl-\, Ctrl-], Ctrl-_, Ctrl-@.
        Unknown();
    }
    return std::nullopt;
  }

  std::optional<SubmitKey> EscKey(uint8_t b) {
    in = In::kGround;
    switch (b) {
      case '[':
        in = In::kCsi;
        in_escape.clear();
        in_escape_overflow = false;
        return std::nullopt;
      case 'O':
        in = In::kSs3;
        return std::nullopt;
      case '#':  // insert-comment (emacs M-#, vi-command #): runs the line as a comment
        return SubmitKey::kInsertComment;
      case 'v':  // vi-command v: edit-and-execute-command
        return SubmitKey::kEditAndExecute;
      case 0x1B:  // ESC ESC (M-ESC completes in bash); the second may start a sequence
        Unknown();
        in = In::kEsc;
        return std::nullopt;
      default:
        break;
    }
    Unknown();
    // A control byte or the start of a UTF-8 character after ESC is a key of its own: in vi
    // mode ESC then Enter runs the line, and that Enter must be seen.
    if (b < 0x20 || b >= 0x80) return GroundKey(b);
    return std::nullopt;  // Alt-<key>
  }

  void CsiKey(char final) {
    if (in_escape_overflow) {
      Unknown();
      return;
    }
    if (in_escape.empty()) {
      switch (final) {
        case 'C':
          cursor = NextBoundary(cursor);
          return;
        case 'D':
          cursor = PrevBoundary(cursor);
          return;
        case 'H':
          cursor = 0;
          return;
        case 'F':
          cursor = line.size();
          return;
        default:
          Unknown();
          return;  // A/B history, focus events, ...
      }
    }
    if (final == '~') {
      if (in_escape == "1" || in_escape == "7") {
        cursor = 0;
        return;
      }
      if (in_escape == "4" || in_escape == "8") {
        cursor = line.size();
        return;
      }
      if (in_escape == "3") {
        DeleteForward();
        return;
      }
      // Only when the target asked for bracketed paste does the shell treat this as a paste;
      // otherwise it is an unknown key to readline and a CR in what follows runs the line.
      if (in_escape == "200" && paste_enabled) {
        in = In::kPaste;
        paste_match = 0;
        return;
      }
    }
    Unknown();  // modified arrows (ESC[1;5D), Insert, PageUp, F-keys, the paste end marker
  }

  // Inside a bracketed paste, readline inserts every byte literally (CR as a newline) until
  // ESC[201~.
  void PasteByte(uint8_t b) {
    static constexpr std::string_view kEnd = "\x1b[201~";
    if (static_cast<char>(b) == kEnd[paste_match]) {
      if (++paste_match == kEnd.size()) {
        in = In::kGround;
        paste_match = 0;
      }
      return;
    }
    for (size_t i = 0; i < paste_match; ++i) InsertAscii(static_cast<uint8_t>(kEnd[i]));
    paste_match = 0;
    if (b == 0x1B) {
      paste_match = 1;
    } else if (b == '\r' || b == '\n') {
      InsertAscii('\n');
    } else if (b >= 0x80) {
      InsertUtf8Byte(b);
    } else {
      InsertAscii(b);
    }
  }

  std::string EchoText(bool* truncated) const {
    const size_t max = options.max_line_bytes;
    bool whole_cut = false;
    const std::string whole = row.Text(0, max + 64, &whole_cut);
    for (std::string_view prompt : kSearchPrompts) {
      if (whole.compare(0, prompt.size(), prompt) != 0) continue;
      const size_t end = whole.find("': ", prompt.size());
      if (end == std::string::npos) break;
      std::string text = whole.substr(end + 3);
      *truncated = CutToBound(text, max) || whole_cut;
      return text;
    }
    return row.Text(prompt_column, max, truncated);
  }

  CommandLine Submit(SubmitKey key) {
    CommandLine out;
    out.key = key;
    out.echo_pending = input_since_output;
    if (echo_mode) {
      out.from_echo = true;
      out.text = EchoText(&out.truncated);
    } else {
      out.text = line;
      out.truncated = line_truncated;
      // A row can only show a line without control characters (readline draws those as ^X).
      const bool drawable = std::none_of(line.begin(), line.end(), [](char c) {
        return static_cast<uint8_t>(c) < 0x20 || c == 0x7F;
      });
      if (!out.echo_pending && drawable) {
        std::string typed = line;
        while (!typed.empty() && typed.back() == ' ') typed.pop_back();
        out.echo_differs = row.Text(prompt_column, options.max_line_bytes, nullptr) != typed;
      }
    }
    if (key == SubmitKey::kInsertComment) {
      out.text.insert(0, "#");
      if (CutToBound(out.text, options.max_line_bytes)) out.truncated = true;
    }
    StartLine();
    next_line_echo = key == SubmitKey::kOperateAndGetNext;
    return out;
  }

  // ---------------------------------------------------------------- output side

  void OutputByte(uint8_t b) {
    switch (out) {
      case Out::kGround:
        OutputGround(b);
        return;
      case Out::kEsc:
        OutputEsc(b);
        return;
      case Out::kEscIntermediate:
        if (b >= 0x20 && b <= 0x2F) return;  // e.g. ESC ( B
        if (b == 0x1B) {
          out = Out::kEsc;
          return;
        }
        out = Out::kGround;
        if (b < 0x20) OutputControl(b);
        return;
      case Out::kCsi:
        if (b >= 0x40 && b <= 0x7E) {
          out = Out::kGround;
          if (!out_escape_overflow) CsiOutput(static_cast<char>(b));
        } else if (b >= 0x20 && b <= 0x3F) {
          if (out_escape.size() < kMaxEscapeBytes) {
            out_escape += static_cast<char>(b);
          } else {
            out_escape_overflow = true;
          }
        } else if (b == 0x1B) {
          out = Out::kEsc;
        } else if (b == 0x18 || b == 0x1A) {
          out = Out::kGround;  // CAN, SUB cancel the sequence
        } else if (b < 0x20) {
          OutputControl(b);  // terminals execute C0 controls inside CSI sequences
        }
        return;
      case Out::kString:
        // OSC (window titles, hyperlinks), DCS, APC, PM, SOS: drawn nowhere, not stored.
        if (b == 0x1B) {
          out = Out::kStringEsc;
        } else if ((b == 0x07 && string_bel_ends) || b == 0x18 || b == 0x1A) {
          out = Out::kGround;
        }
        return;
      case Out::kStringEsc:
        if (b == '\\') {
          out = Out::kGround;
          return;
        }
        out = Out::kEsc;  // an ESC that is not ST ends the string and starts a sequence
        OutputEsc(b);
        return;
    }
  }

  void Print(char32_t c) { row.Put(c); }

  void OutputGround(uint8_t b) {
    if (b >= 0x80) {
      out_utf8.Feed(b, [this](char32_t c) { Print(c); });
      return;
    }
    out_utf8.Flush([this](char32_t c) { Print(c); });
    if (b >= 0x20 && b < 0x7F) {
      Print(b);
    } else if (b == 0x1B) {
      out = Out::kEsc;
    } else {
      OutputControl(b);
    }
  }

  void OutputControl(uint8_t b) {
    switch (b) {
      case '\r':
        row.CarriageReturn();
        break;
      case '\n':
      case 0x0B:
      case 0x0C:
        row.NewRow();
        break;
      case 0x08:
        row.Left(1);
        break;
      case '\t':
        row.Tab();
        break;
      default:
        break;  // BEL and the rest draw nothing
    }
  }

  void OutputEsc(uint8_t b) {
    out = Out::kGround;
    switch (b) {
      case '[':
        out = Out::kCsi;
        out_escape.clear();
        out_escape_overflow = false;
        return;
      case ']':
        out = Out::kString;
        string_bel_ends = true;
        return;
      case 'P':
      case 'X':
      case '^':
      case '_':
        out = Out::kString;
        string_bel_ends = false;
        return;
      case '7':
        row.SaveColumn();
        return;
      case '8':
        row.RestoreColumn();
        return;
      case 'c':  // RIS: full reset
        SetFullscreen(false);
        paste_enabled = false;
        row.NewRow();
        row.CarriageReturn();
        return;
      case 0x1B:
        out = Out::kEsc;
        return;
      default:
        break;
    }
    if (b >= 0x20 && b <= 0x2F) {
      out = Out::kEscIntermediate;
    } else if (b < 0x20) {
      OutputControl(b);
    }
  }

  void CsiOutput(char final) {
    const Csi csi = Csi::Parse(out_escape);
    if (csi.has_intermediate) return;  // e.g. CSI SP q (cursor style)
    if (csi.marker == '?') {
      if (final != 'h' && final != 'l') return;
      const bool on = final == 'h';
      for (unsigned p : csi.params) {
        if (p == 1049 || p == 1047 || p == 47) SetFullscreen(on);
        if (p == 2004) paste_enabled = on;
      }
      return;
    }
    if (csi.marker != 0) return;
    const unsigned n = csi.Param(0, 1);
    const unsigned mode = csi.params.empty() ? 0 : csi.params[0];
    switch (final) {
      case 'K':
        row.Erase(static_cast<int>(mode));
        break;
      case 'J':
        row.Erase(mode >= 2 ? 2 : static_cast<int>(mode));
        break;
      case 'C':
        row.Right(n);
        break;
      case 'D':
        row.Left(n);
        break;
      case 'G':
      case '`':
        row.SetColumn(n - 1);
        break;
      case 'P':
        row.DeleteChars(n);
        break;
      case '@':
        row.InsertBlanks(n);
        break;
      case 'X':
        row.EraseChars(n);
        break;
      case 'H':
      case 'f':
        row.NewRow();
        row.SetColumn(csi.Param(1, 1) - 1);
        break;
      case 'A':
      case 'B':
      case 'd':
        row.NewRow();
        break;
      case 'E':
      case 'F':
        row.NewRow();
        row.CarriageReturn();
        break;
      case 's':
        row.SaveColumn();
        break;
      case 'u':
        row.RestoreColumn();
        break;
      default:
        break;  // SGR colours, scrolling regions, queries, ...
    }
  }

  void SetFullscreen(bool on) {
    if (on == fullscreen) return;
    fullscreen = on;
    if (on) {
      // Keys typed in the application are not shell commands; when it exits the shell starts
      // a new line (or, after Ctrl-X Ctrl-E, runs the edited one, which was already reported).
      std::swap(row, saved_row);
      row.NewRow();
      ResetInputParser();
      StartLine();
    } else {
      std::swap(row, saved_row);
    }
  }
};

LineEditor::LineEditor() : LineEditor(Options()) {}
LineEditor::LineEditor(Options options) : s_(std::make_unique<State>(options)) {}
LineEditor::~LineEditor() = default;

size_t LineEditor::FeedInput(std::string_view input, std::optional<CommandLine>* submitted) {
  submitted->reset();
  if (s_->fullscreen) return input.size();
  for (size_t i = 0; i < input.size(); ++i) {
    if (!s_->started) {
      // The line starts where the cursor is when its first key arrives: after the prompt.
      // A line bash preloaded after Ctrl-O is already drawn by then; its prompt is taken to be
      // as wide as the previous one.
      s_->started = true;
      if (!s_->next_line_echo) s_->prompt_column = s_->row.column();
      s_->echo_mode = s_->next_line_echo;
      s_->next_line_echo = false;
    }
    const std::optional<SubmitKey> key = s_->InputByte(static_cast<uint8_t>(input[i]));
    if (key.has_value()) {
      *submitted = s_->Submit(*key);
      s_->input_since_output = true;
      return i + 1;
    }
    s_->input_since_output = true;
  }
  return input.size();
}

void LineEditor::FeedOutput(std::string_view output) {
  for (char c : output) s_->OutputByte(static_cast<uint8_t>(c));
  if (!output.empty()) s_->input_since_output = false;
}

bool LineEditor::in_fullscreen() const { return s_->fullscreen; }

bool LineEditor::awaiting_echo() const {
  return s_->echo_mode && s_->started && s_->input_since_output;
}

void LineEditor::Reset() {
  s_->ResetInputParser();
  s_->StartLine();
  s_->next_line_echo = false;
}

}  // namespace cloudpact::gateway
