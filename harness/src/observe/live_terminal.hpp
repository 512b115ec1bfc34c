#pragma once
// The terminal while `observe` draws on it: the alternate screen (the student's
// scrollback stays as it was), the cursor hidden, and keys read one at a time without
// echo. ISIG stays on, so Ctrl-C is still SIGINT and ends labcheck through the interrupt
// thread; Ctrl-Z is turned off, since a stopped labcheck would leave the terminal like
// this. Leaving (`q`, an error) or an interrupt gives the terminal back as it was.
// One at a time: the interrupt's cleanup is a plain function over this file's state.

#include <optional>
#include <string_view>

#include "interrupts.hpp"
#include "os/deadline.hpp"

namespace labcheck::observe {

class LiveTerminal {
  public:
    LiveTerminal();  // throws std::system_error when the terminal refuses its settings
    LiveTerminal(const LiveTerminal&) = delete;
    LiveTerminal& operator=(const LiveTerminal&) = delete;
    ~LiveTerminal();

    // Draws a frame over the last one, whole (a single write of the whole screen).
    void draw(std::string_view lines);
    // Waits for keys until the deadline; true as soon as `q` is pressed.
    bool quit_pressed_before(const Deadline& deadline);

  private:
    std::optional<CleanupOnInterrupt> on_interrupt_;
    bool keys_ = false;  // stdin is the terminal, so keys can be read
};

// The size of the terminal stdout is; 0 when it is not one.
int terminal_rows();
int terminal_columns();

}  // namespace labcheck::observe
