// Command-line reconstruction for the SSH gateway: from the operator's keystrokes and the
// target's output, the exact line a shell (bash readline, emacs keymap) is about to run, known
// before the key that runs it is forwarded. docs/COMMAND_RECONSTRUCTION.md describes the model
// and the known ways around it; the gateway treats the result as a policy aid, not a sandbox.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cloudpact::gateway {

// The key that made the shell run the line. Every key that may run a line is reported; a few
// (ESC v, ESC #) do so only in some keymaps, and over-reporting is the safe side.
enum class SubmitKey {
  kEnter,              // CR or LF (accept-line)
  kOperateAndGetNext,  // Ctrl-O: runs the line, then loads the next history entry
  kEditAndExecute,     // Ctrl-X Ctrl-E, ESC v: opens $EDITOR on the line, runs what is saved
  kInsertComment,      // ESC # (Alt-#, vi-mode #): runs the line with '#' in front
};

struct CommandLine {
  // The reconstructed line, valid UTF-8 (invalid input bytes become U+FFFD), at most
  // Options::max_line_bytes bytes. Lines pasted in one bracketed paste, or typed with a quoted
  // newline (Ctrl-V Ctrl-J), are '\n'-separated; other control characters the shell would get
  // (quoted insert, pasted) are kept as they are. For kInsertComment it starts with '#'.
  std::string text;
  SubmitKey key = SubmitKey::kEnter;
  // Keys whose effect only the target knows (Tab completion, history, Ctrl-R, Ctrl-Y, Alt-...,
  // unknown escape sequences) were used, so text was read from the target's echo of the line.
  // Such text is only as trustworthy as the target's output, which the operator controls.
  bool from_echo = false;
  // The line (or the screen row it was read from) exceeded the bound and was cut.
  bool truncated = false;
  // Keys of this line were sent after the last target output seen: the echo may lag behind
  // (a completion not yet shown), so from_echo text may be stale.
  bool echo_pending = false;
  // Locally modelled line (from_echo false, echo not pending) that the echoed row does not show:
  // a no-echo prompt (a password), a readline macro or key binding, a changed stty intr key,
  // or a line wider than the terminal. The gateway treats the text as unverified.
  bool echo_differs = false;
};

// One per interactive session channel. Not thread-safe: the gateway feeds both directions of a
// channel from one task. Memory is bounded by Options whatever the peers send.
class LineEditor {
 public:
  struct Options {
    // Bound on the line and on the modelled screen row (in columns).
    size_t max_line_bytes = 16 * 1024;
  };

  LineEditor();  // default Options (a default argument cannot use them inside the class)
  explicit LineEditor(Options options);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // Processes operator keystrokes up to and including the first key that runs a line (CR, LF,
  // Ctrl-O, Ctrl-X Ctrl-E, ESC v, ESC #; CR/LF inside a bracketed paste do not). Returns the
  // number of bytes consumed, at least 1 for non-empty input. When a submission ended the
  // consumed part, *submitted holds the line and the submitting key's last byte is the last
  // consumed byte (the gateway decides whether to forward it); otherwise all input is consumed
  // and *submitted is empty. While the target is in a full-screen application all input is
  // consumed and nothing is submitted.
  size_t FeedInput(std::string_view input, std::optional<CommandLine>* submitted);

  // Processes target output (echo, prompt, program output): keeps a model of the current
  // screen row, and notices full-screen mode and bracketed-paste mode.
  void FeedOutput(std::string_view output);

  // The alternate screen is active (ESC[?1049h, ?1047h, ?47h), e.g. vim, less, top.
  bool in_fullscreen() const;
  // The current line depends on the echo and keys were sent since the last output: a gateway
  // that wants from_echo text to be current can delay feeding a submitting key until output
  // arrives (or a timeout).
  bool awaiting_echo() const;
  // Discards the current line (the gateway did so on the target with Ctrl-C).
  void Reset();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace cloudpact::gateway
