#include "gateway/line_editor.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace cloudpact::gateway {
namespace {

// A transcript as the gateway sees it: operator keystrokes and target output, in order.
struct Step {
  bool input;
  std::string bytes;
};
Step In(std::string bytes) { return {true, std::move(bytes)}; }
Step Out(std::string bytes) { return {false, std::move(bytes)}; }
// Keys typed one at a time, each echoed by the shell before the next.
std::vector<Step> Typed(std::string_view text) {
  std::vector<Step> steps;
  for (char c : text) {
    steps.push_back(In(std::string(1, c)));
    steps.push_back(Out(std::string(1, c)));
  }
  return steps;
}
std::vector<Step> Concat(std::initializer_list<std::vector<Step>> parts) {
  std::vector<Step> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

std::string Describe(const CommandLine& c) {
  std::ostringstream os;
  os << "{text=\"" << c.text << "\" key=" << static_cast<int>(c.key) << " from_echo=" << c.from_echo
     << " truncated=" << c.truncated << " echo_pending=" << c.echo_pending
     << " echo_differs=" << c.echo_differs << "}";
  return os.str();
}

// Plays the transcript, each step cut into chunks of 1..max_chunk bytes (0: whole steps), and
// returns every submission described, plus "fullscreen" markers, so runs can be compared.
std::vector<std::string> Play(LineEditor& ed, const std::vector<Step>& steps, size_t max_chunk = 0,
                              std::mt19937* rng = nullptr) {
  std::vector<std::string> events;
  for (const Step& step : steps) {
    std::string_view rest = step.bytes;
    while (!rest.empty()) {
      size_t n = rest.size();
      if (max_chunk == 1) {
        n = 1;
      } else if (max_chunk > 1 && rng != nullptr) {
        n = std::min(rest.size(), std::uniform_int_distribution<size_t>(1, max_chunk)(*rng));
      }
      std::string_view chunk = rest.substr(0, n);
      rest.remove_prefix(n);
      if (!step.input) {
        ed.FeedOutput(chunk);
        continue;
      }
      while (!chunk.empty()) {
        std::optional<CommandLine> sub;
        const size_t used = ed.FeedInput(chunk, &sub);
        EXPECT_GE(used, 1u);
        EXPECT_LE(used, chunk.size());
        if (sub.has_value()) {
          events.push_back(Describe(*sub));
        } else {
          EXPECT_EQ(used, chunk.size());
        }
        chunk.remove_prefix(std::min(used, chunk.size()));
      }
    }
    if (ed.in_fullscreen()) events.push_back("fullscreen");
  }
  return events;
}

// The submissions of a transcript fed in whole steps.
std::vector<CommandLine> Submissions(const std::vector<Step>& steps,
                                     LineEditor::Options options = LineEditor::Options()) {
  LineEditor ed(options);
  std::vector<CommandLine> subs;
  for (const Step& step : steps) {
    if (!step.input) {
      ed.FeedOutput(step.bytes);
      continue;
    }
    std::string_view rest = step.bytes;
    while (!rest.empty()) {
      std::optional<CommandLine> sub;
      rest.remove_prefix(ed.FeedInput(rest, &sub));
      if (sub.has_value()) subs.push_back(*sub);
    }
  }
  return subs;
}

// The one submission of a transcript.
CommandLine Only(const std::vector<Step>& steps,
                 LineEditor::Options options = LineEditor::Options()) {
  std::vector<CommandLine> subs = Submissions(steps, options);
  EXPECT_EQ(subs.size(), 1u);
  return subs.empty() ? CommandLine{"<none>"} : subs.front();
}

// Keys typed without output in between (the local model needs no echo).
CommandLine Keys(std::string keys, LineEditor::Options options = LineEditor::Options()) {
  return Only({In(std::move(keys))}, options);
}

// What an echo-mode submission reads from the row: prompt "$ ", Tab, then `output`.
CommandLine RowAfter(std::string output, LineEditor::Options options = LineEditor::Options()) {
  return Only({Out("$ "), In("\t"), Out(std::move(output)), In("\r")}, options);
}

// A bash prompt with a window title (OSC) and colours (SGR), 11 columns wide: "op@web1:~$ ".
const std::string kPrompt =
    "\x1b[?2004h\x1b]0;op@web1: ~\x07\x1b[01;32mop@web1\x1b[00m:\x1b[01;34m~\x1b[00m$ ";

// ------------------------------------------------------------------ local model

TEST(LineEditorTest, PrintableTextIsTheLine) {
  CommandLine c = Keys("ls -la /tmp\r");
  EXPECT_EQ(c.text, "ls -la /tmp");
  EXPECT_EQ(c.key, SubmitKey::kEnter);
  EXPECT_FALSE(c.from_echo);
  EXPECT_FALSE(c.truncated);
}

TEST(LineEditorTest, ConsumesUpToAndIncludingTheSubmissionKey) {
  LineEditor ed;
  std::optional<CommandLine> sub;
  const std::string input = "ls\npwd\rwho";
  size_t used = ed.FeedInput(input, &sub);
  EXPECT_EQ(used, 3u);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "ls");
  used += ed.FeedInput(std::string_view(input).substr(used), &sub);
  EXPECT_EQ(used, 7u);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "pwd");
  EXPECT_EQ(ed.FeedInput(std::string_view(input).substr(used), &sub), 3u);
  EXPECT_FALSE(sub.has_value());
  EXPECT_EQ(ed.FeedInput("\r", &sub), 1u);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "who");
}

TEST(LineEditorTest, BackspaceDeletesOneCodePoint) {
  EXPECT_EQ(Keys("lsx\x7f\r").text, "ls");
  EXPECT_EQ(Keys("lsx\x08\r").text, "ls");
  EXPECT_EQ(Keys("caf\xc3\xa9\x7f\r").text, "caf");                        // é is two bytes
  EXPECT_EQ(Keys("\xe4\xb8\xad\xe6\x96\x87\x7f\r").text, "\xe4\xb8\xad");  // 中文 -> 中
  EXPECT_EQ(Keys("\x7f\x7f\x08ok\r").text, "ok");                          // at line start: nothing
}

TEST(LineEditorTest, CursorMovementKeys) {
  EXPECT_EQ(Keys("world\x01hello \r").text, "hello world");  // Ctrl-A
  EXPECT_EQ(Keys("world\x1b[Hhello \r").text, "hello world");
  EXPECT_EQ(Keys("world\x1b[1~hello \r").text, "hello world");
  EXPECT_EQ(Keys("world\x1b[7~hello \r").text, "hello world");
  EXPECT_EQ(Keys("world\x1bOHhello \r").text, "hello world");
  EXPECT_EQ(Keys("hello\x01\x05 world\r").text, "hello world");  // Ctrl-E
  EXPECT_EQ(Keys("hello\x01\x1b[F world\r").text, "hello world");
  EXPECT_EQ(Keys("hello\x01\x1b[4~ world\r").text, "hello world");
  EXPECT_EQ(Keys("hello\x01\x1bOF world\r").text, "hello world");
  EXPECT_EQ(Keys("ac\x1b[Db\r").text, "abc");
  EXPECT_EQ(Keys("ac\x1bODb\r").text, "abc");
  EXPECT_EQ(Keys("ac\x02\x62\r").text, "abc");  // Ctrl-B
  EXPECT_EQ(Keys("ac\x01\x1b[Cb\r").text, "abc");
  EXPECT_EQ(Keys("ac\x01\x1bOCb\r").text, "abc");
  EXPECT_EQ(Keys("ac\x01\x06\x62\r").text, "abc");  // Ctrl-F
  // Left over a multi-byte character moves one code point.
  EXPECT_EQ(Keys("a\xc3\xa9\x1b[Dx\r").text, "ax\xc3\xa9");
  // Moves stop at the ends.
  EXPECT_EQ(Keys("b\x1b[D\x1b[Da\x1b[C\x1b[C\x1b[Cc\r").text, "abc");
}

TEST(LineEditorTest, KillKeys) {
  EXPECT_EQ(Keys("rm -rf /\x15ls\r").text, "ls");             // Ctrl-U
  EXPECT_EQ(Keys("ls /etc\x1b[D\x1b[D\x15x\r").text, "xtc");  // Ctrl-U kills before
  EXPECT_EQ(Keys("ls /etc\x01\x06\x06\x0b\r").text, "ls");    // Ctrl-K
  EXPECT_EQ(Keys("rm -rf  /tmp  \x17\r").text, "rm -rf  ");   // Ctrl-W
  EXPECT_EQ(Keys("rm -rf  /tmp  \x17\x17\r").text, "rm ");
  EXPECT_EQ(Keys("a\tb\x17\r").from_echo, true);            // Tab is not local
  EXPECT_EQ(Keys("cat /a/b\x1b[D\x17x\r").text, "cat xb");  // only what is left of the cursor
}

TEST(LineEditorTest, DeleteAndCtrlD) {
  EXPECT_EQ(Keys("lxs\x1b[D\x1b[D\x1b[3~\r").text, "ls");
  EXPECT_EQ(Keys("lxs\x02\x02\x04\r").text, "ls");
  EXPECT_EQ(Keys("ls\x04\r").text, "ls");  // at the end: nothing to delete
  // Ctrl-D on an empty line is end-of-file: it runs nothing and submits nothing.
  LineEditor ed;
  std::optional<CommandLine> sub;
  EXPECT_EQ(ed.FeedInput("\x04", &sub), 1u);
  EXPECT_FALSE(sub.has_value());
  ed.FeedInput("\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "");
}

TEST(LineEditorTest, CtrlCDiscardsTheLine) {
  std::vector<CommandLine> subs = Submissions({In("rm -rf /\x03ls\r")});
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].text, "ls");
  // Also in the middle of an escape sequence or a prefix: SIGINT comes from the tty.
  EXPECT_EQ(Keys("rm\x1b[1\x03ls\r").text, "ls");
  EXPECT_EQ(Keys("rm\x18\x03ls\r").text, "ls");
  EXPECT_FALSE(Keys("rm\x18\x03ls\r").from_echo);
}

// bash's abort (Ctrl-G) keeps the line, zsh's send-break drops it: only the target knows, so it
// is an echo-mode key, never a discard (a discard would hide the line Enter then runs in bash).
TEST(LineEditorTest, CtrlGLeavesTheLineToTheEcho) {
  CommandLine c = Only(Concat({{Out("$ ")}, Typed("rm -rf /tmp/x"), {In("\x07"), In("\r")}}));
  EXPECT_TRUE(c.from_echo);
  EXPECT_EQ(c.text, "rm -rf /tmp/x");
}

TEST(LineEditorTest, CtrlLKeepsTheLine) {
  CommandLine c = Keys("ls\x0c -l\r");
  EXPECT_EQ(c.text, "ls -l");
  EXPECT_FALSE(c.from_echo);
}

TEST(LineEditorTest, QuotedInsertPutsTheByteInTheLine) {
  CommandLine c = Keys("echo a\x16\necho b\r");  // Ctrl-V Ctrl-J: a newline, not Enter
  EXPECT_EQ(c.text, "echo a\necho b");
  EXPECT_FALSE(c.from_echo);
  EXPECT_EQ(Keys("x\x16\x1b[A\r").text, "x\x1b[A");
}

TEST(LineEditorTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(Keys("a\xff"
                 "b\r")
                .text,
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(Keys("a\xe4\xb8x\r").text, "a\xef\xbf\xbdx");                          // cut short
  EXPECT_EQ(Keys("\xc0\xaf\r").text, "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(Keys("\xed\xa0\x80\r").text, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(Keys("\xe4\xb8\r").text, "\xef\xbf\xbd");  // cut short by Enter
}

// ------------------------------------------------------------------ bracketed paste

TEST(LineEditorTest, BracketedPasteInsertsLiterally) {
  std::vector<CommandLine> subs =
      Submissions({Out(kPrompt), In("ls; \x1b[200~echo a\recho b\n\x1b[A\t\x1b[201~ done\r")});
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].text, "ls; echo a\necho b\n\x1b[A\t done");
  EXPECT_FALSE(subs[0].from_echo);
}

TEST(LineEditorTest, BracketedPasteMarkersSplitAcrossReads) {
  LineEditor ed;
  ed.FeedOutput("\x1b[?2004h$ ");
  std::optional<CommandLine> sub;
  const std::string keys = "\x1b[200~a\rb\x1b[20x\x1b[201~\r";
  for (char c : keys) {
    ed.FeedInput(std::string_view(&c, 1), &sub);
    if (sub.has_value()) break;
  }
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "a\nb\x1b[20x");  // a partial end marker is pasted text
}

TEST(LineEditorTest, PasteMarkerWithoutBracketedPasteModeIsNotAPaste) {
  // The target never enabled bracketed paste (or disabled it after the line): readline reads
  // ESC[200~ as an unknown key and the CR runs the line, so the CR must submit.
  std::vector<CommandLine> subs = Submissions({Out("$ "), In("\x1b[200~rm -rf /x\rls\r")});
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_TRUE(subs[0].from_echo);
  subs = Submissions(
      {Out("\x1b[?2004h$ "), In("a\r"), Out("\x1b[?2004l\r\n"), In("\x1b[200~b\rc\x1b[201~\r")});
  ASSERT_EQ(subs.size(), 3u);
}

TEST(LineEditorTest, CtrlCInsidePasteDiscards) {
  CommandLine c = Only({Out("\x1b[?2004h$ "), In("\x1b[200~rm -rf /x\x03ls\r")});
  EXPECT_EQ(c.text, "ls");
}

// ------------------------------------------------------------------ keys that run a line

TEST(LineEditorTest, EveryKeyThatRunsALineSubmits) {
  CommandLine c = Keys("make\x0f");
  EXPECT_EQ(c.key, SubmitKey::kOperateAndGetNext);
  EXPECT_EQ(c.text, "make");
  c = Keys("ls\x18\x05");
  EXPECT_EQ(c.key, SubmitKey::kEditAndExecute);
  EXPECT_EQ(c.text, "ls");
  c = Keys("ls\x1bv");
  EXPECT_EQ(c.key, SubmitKey::kEditAndExecute);
  c = Keys("rm -rf /\x1b#");
  EXPECT_EQ(c.key, SubmitKey::kInsertComment);
  EXPECT_EQ(c.text, "#rm -rf /");
  // ESC then Enter runs the line in vi mode; an interrupted sequence does not swallow Enter.
  c = Keys("rm x\x1b\r");
  EXPECT_EQ(c.key, SubmitKey::kEnter);
  EXPECT_TRUE(c.from_echo);
  EXPECT_EQ(Keys("rm x\x1b[1;\r").key, SubmitKey::kEnter);
  EXPECT_EQ(Keys("rm x\x1bO\r").key, SubmitKey::kEnter);
  EXPECT_EQ(Keys("rm x\x18\r").key, SubmitKey::kEnter);
}

TEST(LineEditorTest, LineAfterCtrlOIsReadFromTheEcho) {
  // Ctrl-O runs "make" and bash preloads the next history entry, "make test".
  std::vector<CommandLine> subs =
      Submissions({Out("$ "), In("make\x0f"), Out("make\r\nmake: done\r\n$ make test"), In("\r")});
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[1].text, "make test");
  EXPECT_TRUE(subs[1].from_echo);
}

// ------------------------------------------------------------------ echo mode, bash transcripts

TEST(LineEditorTest, TabCompletionIsReadFromTheEcho) {
  CommandLine c = Only(Concat({{Out(kPrompt)}, Typed("ls /et"), {In("\t"), Out("c/"), In("\r")}}));
  EXPECT_EQ(c.text, "ls /etc/");
  EXPECT_TRUE(c.from_echo);
  EXPECT_FALSE(c.echo_pending);
}

TEST(LineEditorTest, DoubleTabListingRedrawsPromptAndLine) {
  CommandLine c =
      Only(Concat({{Out(kPrompt)},
                   Typed("cat /etc/pa"),
                   {In("\t"), Out("\x07"), In("\t")},
                   {Out("\r\npam.conf  pam.d/    passwd    \r\n" + kPrompt + "cat /etc/pa")},
                   Typed("sswd"),
                   {In("\r")}}));
  EXPECT_EQ(c.text, "cat /etc/passwd");
  EXPECT_TRUE(c.from_echo);
}

TEST(LineEditorTest, HistoryIsReadFromTheEcho) {
  // Up twice: the second redraw backs up over the differing part and clears the rest.
  CommandLine c = Only({Out(kPrompt), In("\x1b[A"), Out("ls -la /var/log"), In("\x1b[A"),
                        Out(std::string(15, '\b') + "whoami\x1b[K"), In("\r")});
  EXPECT_EQ(c.text, "whoami");
  EXPECT_TRUE(c.from_echo);
  // Up then Down back to an edited line, redrawn from column 0 with the prompt.
  c = Only({Out("$ "), In("\x10"), Out("sudo reboot"), In("\x0e"), Out("\r$ \x1b[K"), In("i"),
            Out("i"), In("d"), Out("d"), In("\r")});
  EXPECT_EQ(c.text, "id");
  // Up, then an edit at the start: readline inserts with CSI @.
  c = Only({Out("$ "), In("\x1b[A"), Out("rm /tmp/x"), In("\x01"), Out(std::string(9, '\b')),
            In("s"), Out("\x1b[1@s"), In("\r")});
  EXPECT_EQ(c.text, "srm /tmp/x");
}

TEST(LineEditorTest, ReverseSearchYieldsTheFoundCommand) {
  CommandLine c =
      Only({Out(kPrompt), In("\x12"), Out("\r(reverse-i-search)`': \x1b[K"), In("p"),
            Out("\r(reverse-i-search)`p': cat /etc/\x1b[7mp\x1b[0masswd\b\b\b\b\b\b"), In("a"),
            Out("\r(reverse-i-search)`pa': cat /etc/passwd\x1b[K\b\b\b\b\b\b"), In("\r")});
  EXPECT_EQ(c.text, "cat /etc/passwd");
  EXPECT_TRUE(c.from_echo);
  c = Only({Out("$ "), In("\x12zz"), Out("\r(failed reverse-i-search)`zz': ls -l"), In("\r")});
  EXPECT_EQ(c.text, "ls -l");
}

TEST(LineEditorTest, SearchPromptCountsOnlyAtColumnZero) {
  // Typed text that looks like a search prompt must not hide the rest of the line.
  const std::string line = "rm -rf /x #(reverse-i-search)`a': ls";
  CommandLine c = Only(Concat({{Out("$ ")}, Typed(line), {In("\t"), In("\r")}}));
  EXPECT_EQ(c.text, line);
}

TEST(LineEditorTest, YankAndAltKeysAreReadFromTheEcho) {
  CommandLine c = Only({Out("$ "), In("rm -rf /x\x15"), Out("\r$ \x1b[K"), In("ls \x19"),
                        Out("ls rm -rf /x"), In("\r")});
  EXPECT_TRUE(c.from_echo);
  EXPECT_EQ(c.text, "ls rm -rf /x");
  c = Only({Out("$ "), In("cat \x1b."), Out("cat /etc/shadow"), In("\r")});  // Alt-.
  EXPECT_EQ(c.text, "cat /etc/shadow");
  EXPECT_TRUE(c.from_echo);
}

// ------------------------------------------------------------------ echo checks

TEST(LineEditorTest, EchoPendingWhenKeysFollowTheLastOutput) {
  LineEditor ed;
  std::optional<CommandLine> sub;
  ed.FeedOutput("$ ");
  ed.FeedInput("ls /et\t", &sub);
  EXPECT_TRUE(ed.awaiting_echo());
  ed.FeedInput("\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_TRUE(sub->echo_pending);
  EXPECT_TRUE(sub->from_echo);

  ed.FeedInput("ls /et\t", &sub);
  ed.FeedOutput("ls /etc/");
  EXPECT_FALSE(ed.awaiting_echo());
  ed.FeedInput("\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_FALSE(sub->echo_pending);
  EXPECT_EQ(sub->text, "ls /etc/");
}

TEST(LineEditorTest, EchoDiffersFromTheLocalModel) {
  // The local model stays authoritative; a row that shows something else is flagged.
  CommandLine c = Only({Out("$ "), In("ls"), Out("rm -rf /"), In("\r")});
  EXPECT_EQ(c.text, "ls");
  EXPECT_FALSE(c.from_echo);
  EXPECT_TRUE(c.echo_differs);
  c = Only(Concat({{Out("$ ")}, Typed("ls -l "), {In("\r")}}));
  EXPECT_FALSE(c.echo_differs);
  EXPECT_EQ(c.text, "ls -l ");
  // A no-echo prompt (a password) leaves the keys unconfirmed.
  c = Only({Out("[sudo] password for op: "), In("hunter2\r")});
  EXPECT_TRUE(c.echo_pending);
}

// ------------------------------------------------------------------ screen-row model

TEST(LineEditorTest, RowModelBasicEdits) {
  EXPECT_EQ(RowAfter("hello\b\b\bXY").text, "heXYo");
  EXPECT_EQ(RowAfter("hello\x1b[3D\x1b[K").text, "he");
  EXPECT_EQ(RowAfter("hello\x1b[3D\x1b[0K").text, "he");
  EXPECT_EQ(RowAfter("hello\x1b[2D\x1b[1K").text, "    o");
  EXPECT_EQ(RowAfter("hello\x1b[2K").text, "");
  EXPECT_EQ(RowAfter("ab\x1b[3C"
                     "cd")
                .text,
            "ab   cd");
  EXPECT_EQ(RowAfter("ab\x1b[C"
                     "cd")
                .text,
            "ab cd");
  EXPECT_EQ(RowAfter("abcdef\x1b[4GX").text, "aXcdef");
  EXPECT_EQ(RowAfter("abcdef\x1b[4D\x1b[2P").text, "abef");
  EXPECT_EQ(RowAfter("abcdef\x1b[4D\x1b[P").text, "abdef");
  EXPECT_EQ(RowAfter("abef\x1b[2D\x1b[2@"
                     "cd")
                .text,
            "abcdef");
  EXPECT_EQ(RowAfter("abcdef\x1b[4D\x1b[2X").text, "ab  ef");
  EXPECT_EQ(RowAfter("xxxx\r$ ab").text, "abxx");
  EXPECT_EQ(RowAfter("old\r\n$ new").text, "new");
  EXPECT_EQ(RowAfter("a\tb").text, "a     b");  // tab stop at column 8
}

TEST(LineEditorTest, RowModelSkipsControlSequences) {
  EXPECT_EQ(RowAfter("\x1b]0;title\x07"
                     "ab\x1b]2;t2\x1b\\cd")
                .text,
            "abcd");
  EXPECT_EQ(RowAfter("\x1b[1;31mred\x1b[0m \x1b[38;5;196mx\x1b(B").text, "red x");
  EXPECT_EQ(RowAfter("a\x1bP1$r\x1b\\b\x1b_apc\x1b\\c").text, "abc");
  EXPECT_EQ(RowAfter("a\x1b[?25l\x1b[>4;1m\x1b[2 qb").text, "ab");
  EXPECT_EQ(RowAfter("a\x1b]8;;http://x\x1b[Kb").text, "ab");  // ESC ends an OSC, then CSI K
  // BS inside CSI moves the cursor, and the sequence goes on (a move left by 2).
  EXPECT_EQ(RowAfter("abcd\x1b[2\bDX").text, "aXcd");
  EXPECT_EQ(RowAfter("ab\x1b[12\x18"
                     "cd")
                .text,
            "abcd");  // CAN cancels
}

TEST(LineEditorTest, RowModelWideCharacters) {
  // 中文 takes four columns; a backspace moves one column.
  EXPECT_EQ(RowAfter("\xe4\xb8\xad\xe6\x96\x87x").text, "\xe4\xb8\xad\xe6\x96\x87x");
  EXPECT_EQ(RowAfter("\xe4\xb8\xad\xe6\x96\x87\b\bX").text, "\xe4\xb8\xadX");
  // Overwriting the right half of a wide character blanks its left half.
  EXPECT_EQ(RowAfter("\xe4\xb8\xad\xe6\x96\x87\bX").text, "\xe4\xb8\xad X");
  EXPECT_EQ(RowAfter("ab\xe4\xb8\xad"
                     "cd\x1b[3D\x1b[P")
                .text,
            "ab cd");  // from its right half
  // Combining marks stay with their base character; the cursor does not move.
  EXPECT_EQ(RowAfter("e\xcc\x81x").text, "e\xcc\x81x");
  // A column count after wide characters: CSI G counts columns, not characters.
  EXPECT_EQ(RowAfter("\xe4\xb8\xad"
                     "abc\x1b[5GX")
                .text,
            "\xe4\xb8\xadXbc");
  EXPECT_EQ(RowAfter("a\xff"
                     "b")
                .text,
            "a\xef\xbf\xbd"
            "b");
}

// ------------------------------------------------------------------ full-screen

TEST(LineEditorTest, FullScreenKeysAreNotCommands) {
  LineEditor ed;
  std::optional<CommandLine> sub;
  ed.FeedOutput("$ ");
  EXPECT_EQ(ed.FeedInput("vim x\r", &sub), 6u);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "vim x");
  ed.FeedOutput("\r\n\x1b[?1049h\x1b[22;1H~");
  EXPECT_TRUE(ed.in_fullscreen());
  EXPECT_EQ(ed.FeedInput("ihello\r\x1b:!rm -rf /\r:wq\r", &sub), 23u);
  EXPECT_FALSE(sub.has_value());
  ed.FeedOutput("\x1b[?1049l");
  EXPECT_FALSE(ed.in_fullscreen());
  ed.FeedOutput("$ ");
  ed.FeedInput("\t", &sub);
  ed.FeedOutput("ls");
  ed.FeedInput("\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "ls");  // the main screen's row came back; vim's text is gone
}

TEST(LineEditorTest, FullScreenModesAndParameterLists) {
  for (const char* on :
       {"\x1b[?1049h", "\x1b[?1047h", "\x1b[?47h", "\x1b[?1;1049h", "\x1b[?25;47;12h"}) {
    SCOPED_TRACE(on);
    LineEditor ed;
    ed.FeedOutput(on);
    EXPECT_TRUE(ed.in_fullscreen());
    std::optional<CommandLine> sub;
    ed.FeedInput("ls\r", &sub);
    EXPECT_FALSE(sub.has_value());
  }
  LineEditor ed;
  ed.FeedOutput("\x1b[?1047h");
  ed.FeedOutput("\x1b[?1047l");
  EXPECT_FALSE(ed.in_fullscreen());
  ed.FeedOutput(
      "\x1b[?1049h\x1b"
      "c");  // a full reset leaves it too
  EXPECT_FALSE(ed.in_fullscreen());
  ed.FeedOutput("\x1b[1049h");  // not the private mode
  EXPECT_FALSE(ed.in_fullscreen());
}

TEST(LineEditorTest, LineTypedBeforeFullScreenIsDropped) {
  LineEditor ed;
  std::optional<CommandLine> sub;
  ed.FeedInput("rm -rf /", &sub);
  ed.FeedOutput("\x1b[?1049h");
  ed.FeedOutput("\x1b[?1049l");
  ed.FeedInput("ls\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "ls");
}

TEST(LineEditorTest, ResetDiscardsTheLine) {
  LineEditor ed;
  std::optional<CommandLine> sub;
  ed.FeedInput("rm -rf /\t\x1b[", &sub);
  ed.Reset();
  ed.FeedInput("ls\r", &sub);
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->text, "ls");
  EXPECT_FALSE(sub->from_echo);
}

// ------------------------------------------------------------------ bounds

TEST(LineEditorTest, LineIsBounded) {
  LineEditor::Options small{8};
  CommandLine c = Keys("abcdefghij\r", small);
  EXPECT_EQ(c.text, "abcdefgh");
  EXPECT_TRUE(c.truncated);
  c = Keys("aaaaaaa\xe2\x82\xac\r", small);  // € does not fit whole
  EXPECT_EQ(c.text, "aaaaaaa");
  EXPECT_TRUE(c.truncated);
  c = Keys("abcdefgh\x1b#", small);
  EXPECT_EQ(c.text, "#abcdefg");
  EXPECT_TRUE(c.truncated);
  EXPECT_FALSE(Keys("abcdefgh\r", small).truncated);
  // The default bound, against a flood.
  c = Keys(std::string(1 << 20, 'x') + "\r");
  EXPECT_EQ(c.text.size(), 16u * 1024);
  EXPECT_TRUE(c.truncated);
}

TEST(LineEditorTest, EchoRowIsBounded) {
  LineEditor::Options small{8};
  CommandLine c = RowAfter("abcdefghijkl", small);
  EXPECT_EQ(c.text, "abcdef");  // columns 2..7
  EXPECT_TRUE(c.truncated);
  c = RowAfter("abc", small);
  EXPECT_FALSE(c.truncated);
  c = RowAfter("\x1b[100000C\x1b[100000@x" + std::string(100000, 'y'));
  EXPECT_LE(c.text.size(), 16u * 1024);
  // Combining marks cannot grow one cell without bound.
  std::string marks = "e";
  for (int i = 0; i < 10000; ++i) marks += "\xcc\x81";
  EXPECT_LE(RowAfter(marks).text.size(), 32u);
}

TEST(LineEditorTest, OverlongEscapeSequencesAreDropped) {
  // In input it is an unknown key: the line is read from the echo.
  CommandLine c =
      Only({Out("$ "), In("ab\x1b[" + std::string(100, '3') + "~cd"), Out("abcd"), In("\r")});
  EXPECT_EQ(c.text, "abcd");
  EXPECT_TRUE(c.from_echo);
  // In output, an over-long sequence neither moves the cursor nor prints its parameters.
  EXPECT_EQ(RowAfter("ab\x1b[" + std::string(100, '0') + "3Ccd").text, "abcd");
  // Parameters saturate instead of wrapping (2^32 + 1 would be a move by 1).
  EXPECT_EQ(RowAfter("ab\x1b[4294967297D"
                     "cd")
                .text,
            "ab");
}

// ------------------------------------------------------------------ chunking invariance

std::vector<Step> Everything() {
  return Concat({
      {Out(kPrompt)},
      Typed("ls /et"),
      {In("\t"), Out("c/"), In("\r"), Out("\x1b[?2004l\r\npasswd  hosts\r\n" + kPrompt)},
      {In("\xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9\x7f\x1b[D\x1b[C\xe2\x82\xac\x17x\r")},
      {Out("\r\n" + kPrompt), In("\x1b[200~echo a\recho \xe4\xb8\xad\x1b[201~\x1b[A"),
       Out("\r\x1b[Kop@web1:~$ \xe4\xb8\xad\xe6\x96\x87\xe2\x82\xac\x1b[D\x1b[1@Z"), In("\r")},
      {Out("\r\n" + kPrompt), In("\x12"), Out("\r(reverse-i-search)`': "), In("w"),
       Out("\r(reverse-i-search)`w': who\x1b]0;t\x07\b\b\b"), In("\r")},
      {Out("\x1b[?1049h"), In("q\r"), Out("\x1b[?1049l\r\n$ "),
       In("a\xff\x16\nb\x1b"
          "OD\x1b#")},
      {Out("$ "), In("x\x18\x05"), Out("\x1b[?1049h"), In(":wq\r"), Out("\x1b[?1049l\r\n$ ")},
      {In("\x0f"), Out("\r\n$ make test"), In("\r")},
  });
}

TEST(LineEditorTest, ChunkingDoesNotChangeResults) {
  LineEditor whole_editor;
  const std::vector<std::string> whole = Play(whole_editor, Everything());
  // The expected results pin the reference run itself.
  ASSERT_EQ(whole.size(), 12u);
  auto has = [&](size_t i, std::string_view part) {
    EXPECT_NE(whole[i].find(part), std::string::npos) << i << ": " << whole[i];
  };
  has(0, "text=\"ls /etc/\" key=0 from_echo=1");
  has(1, "text=\"\xe4\xb8\xad\xe6\x96\x87 x\" key=0 from_echo=0");
  has(2, "text=\"\xe4\xb8\xad\xe6\x96\x87Z\xe2\x82\xac\" key=0 from_echo=1");
  has(3, "text=\"who\" key=0 from_echo=1");
  EXPECT_EQ(whole[4], "fullscreen");
  EXPECT_EQ(whole[5], "fullscreen");
  has(6, "text=\"#a\xef\xbf\xbd\nb\" key=3 from_echo=0");
  has(7, "text=\"x\" key=2");
  EXPECT_EQ(whole[8], "fullscreen");
  EXPECT_EQ(whole[9], "fullscreen");
  has(10, "text=\"\" key=1");
  has(11, "text=\"make test\" key=0 from_echo=1");

  LineEditor bytewise_editor;
  EXPECT_EQ(Play(bytewise_editor, Everything(), 1), whole);
  std::mt19937 rng(20240611);
  for (int run = 0; run < 50; ++run) {
    LineEditor ed;
    ASSERT_EQ(Play(ed, Everything(), 1 + run % 7, &rng), whole) << "run " << run;
  }
}

}  // namespace
}  // namespace cloudpact::gateway
