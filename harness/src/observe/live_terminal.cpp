#include "observe/live_terminal.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "os/errors.hpp"

namespace labcheck::observe {
namespace {

// The alternate screen and no cursor; then plain text, the cursor and the main screen.
constexpr std::string_view kEnter = "\x1b[?1049h\x1b[?25l";
constexpr std::string_view kLeave = "\x1b[0m\x1b[?25h\x1b[?1049l";

// What the cleanup on an interrupt needs, which runs on the signal thread: the settings
// to put back, and a lock that keeps it from writing into the middle of a frame.
termios saved_settings{};
std::atomic<bool> settings_saved{false};
std::atomic<bool> given_back{false};
std::timed_mutex drawing;

// Writes all of `text`, waiting for room at most until `deadline`: a terminal nobody
// reads (paused with Ctrl-S, or a pty whose reader stopped) must not keep the interrupt
// from stopping the server.
void write_all(std::string_view text, const Deadline& deadline) {
    while (!text.empty()) {
        pollfd room{STDOUT_FILENO, POLLOUT, 0};
        if (retry_on_eintr([&] { return ::poll(&room, 1, deadline.poll_timeout()); }) <= 0) return;
        ssize_t written =
            retry_on_eintr([&] { return ::write(STDOUT_FILENO, text.data(), text.size()); });
        if (written <= 0) return;  // the terminal is gone: nothing left to restore
        text.remove_prefix(static_cast<std::size_t>(written));
    }
}

// TCSANOW, and the keys typed but not read dropped: TCSAFLUSH would also wait for the
// output to drain, which a paused terminal never does.
void give_terminal_back(const Deadline& deadline) {
    if (given_back.exchange(true)) return;
    write_all(kLeave, deadline);
    if (settings_saved) {
        ::tcflush(STDIN_FILENO, TCIFLUSH);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_settings);
    }
}

// On the signal thread. A frame being drawn finishes first, unless the terminal is
// paused and would keep us waiting; the lock is kept, so no frame follows.
void give_terminal_back_on_interrupt() {
    [[maybe_unused]] bool locked = drawing.try_lock_for(std::chrono::milliseconds(200));
    give_terminal_back(Deadline::after(Millis(200)));
}

}  // namespace

LiveTerminal::LiveTerminal() {
    given_back = false;
    keys_ = ::isatty(STDIN_FILENO) == 1;
    if (keys_) {
        if (::tcgetattr(STDIN_FILENO, &saved_settings) != 0) throw_errno("tcgetattr(stdin)");
        termios raw = saved_settings;
        raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE;
        if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) throw_errno("tcsetattr(stdin)");
        settings_saved = true;
    }
    on_interrupt_.emplace(&give_terminal_back_on_interrupt);
    write_all(kEnter, Deadline::after(Millis(60'000)));
}

LiveTerminal::~LiveTerminal() {
    on_interrupt_.reset();
    std::lock_guard lock(drawing);
    give_terminal_back(Deadline::after(Millis(1000)));
    settings_saved = false;
}

void LiveTerminal::draw(std::string_view lines) {
    std::lock_guard lock(drawing);
    // A terminal paused for a minute (Ctrl-S) loses a frame; the next one redraws it all.
    if (!given_back) write_all(lines, Deadline::after(Millis(60'000)));
}

bool LiveTerminal::quit_pressed_before(const Deadline& deadline) {
    for (;;) {
        // Keys first, deadline second: when drawing takes longer than the interval (a
        // busy machine) the deadline has passed already, and q must still be read.
        pollfd keys{STDIN_FILENO, POLLIN, 0};
        int ready = ::poll(&keys, keys_ ? 1 : 0, deadline.poll_timeout());
        if (ready < 0 && errno != EINTR) throw_errno("poll(stdin)");
        if (ready > 0) {
            char typed[64];
            ssize_t got = ::read(STDIN_FILENO, typed, sizeof typed);
            if (got <= 0) keys_ = false;  // the terminal hung up: SIGHUP ends labcheck
            std::string_view keys_typed(typed, static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
            if (keys_typed.find_first_of("qQ") != std::string_view::npos) return true;
        }
        if (deadline.expired()) return false;
    }
}

int terminal_rows() {
    winsize size{};
    return ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 ? size.ws_row : 0;
}

int terminal_columns() {
    winsize size{};
    return ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
}

}  // namespace labcheck::observe
