#include "observe/observe_command.hpp"

#include <csignal>
#include <functional>
#include <iostream>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "interrupts.hpp"
#include "observe/json_view.hpp"
#include "observe/live_terminal.hpp"
#include "observe/observation.hpp"
#include "observe/text_view.hpp"
#include "server_process.hpp"
#include "terminal.hpp"

namespace labcheck {
namespace {

using observe::Frame;

// A server labcheck started may die while we watch: say so rather than show an empty tree.
std::string exit_note(const LiveServer& server) {
    const ServerProcess* process = server.process();
    auto status = process ? process->wait_status() : std::nullopt;
    return status ? fmt::format("the server {}", describe_wait_status(*status)) : "";
}

std::string joined_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + '\n';
    return text;
}

int watch_live(const LiveServer& server, const std::function<Frame()>& look, bool colour,
               Millis interval) {
    observe::LiveTerminal terminal;
    for (;;) {
        Deadline next = Deadline::after(interval);
        std::size_t rows = static_cast<std::size_t>(std::max(observe::terminal_rows(), 5));
        std::size_t columns = static_cast<std::size_t>(std::max(observe::terminal_columns(), 40));
        auto lines = observe::text_frame(look(), colour, static_cast<int>(columns));
        std::string note = exit_note(server);
        std::string footer =
            (note.empty() ? "" : note + ";  ") + "q quits (Ctrl-C too); nothing is left running";
        if (lines.size() + 2 > rows) {
            std::size_t hidden = lines.size() + 2 - rows;
            lines.resize(rows - 2);
            footer = fmt::format("({} more lines below: a taller terminal shows them)  {}", hidden,
                                 footer);
        }
        lines.push_back("");
        lines.push_back(footer);
        std::string screen = "\x1b[H";  // home: each frame overwrites the last
        for (const auto& line : lines) screen += observe::cut_to_width(line, columns) + "\x1b[K\n";
        screen.resize(screen.size() - 1);  // no newline after the last line: it would scroll
        terminal.draw(screen + "\x1b[J");
        if (terminal.quit_pressed_before(next)) return 0;
    }
}

}  // namespace

int run_observe(const ObserveOptions& options, const Kit& kit) {
    // Before the server's threads start, so that they inherit the blocked interrupts.
    stop_servers_on_interrupt();
    // A reader that goes away (`| head`) ends the watch with EPIPE, and the server with it.
    std::signal(SIGPIPE, SIG_IGN);
    LiveServer server = LiveServer::start(options, kit);
    const std::string& label = server.label();

    observe::Observation observation;
    auto look = [&] {
        Frame frame = observation.look(server.view().snapshot(), observe::now_since_boot());
        frame.server = label;
        frame.port = server.port();
        return frame;
    };
    bool colour = use_colour(options.colour);
    bool json = options.format == "json";
    if (!json && !options.once && stdout_is_terminal())
        return watch_live(server, look, colour, Millis(options.interval_ms));

    // Plain snapshots, for scripts and logs: JSON one object a line, text separated by
    // a rule. Each refresh prints one, until Ctrl-C (or --once: just the one).
    for (;;) {
        Deadline next = Deadline::after(Millis(options.interval_ms));
        Frame frame = look();
        std::string text =
            json ? observe::frame_json(frame).dump() + '\n'
                 : joined_lines(observe::text_frame(frame, colour, observe::terminal_columns()));
        if (std::string note = exit_note(server); !json && !note.empty()) text += note + '\n';
        if (!options.once && !json) text += std::string(60, '-') + '\n';
        if (!(std::cout << text).flush() || options.once) return 0;
        std::this_thread::sleep_for(next.remaining());  // the refresh rate, not a wait on anything
    }
}

}  // namespace labcheck
