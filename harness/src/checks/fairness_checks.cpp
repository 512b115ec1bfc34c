// Lab 08 (and 10): a client that floods the server and never reads must not starve
// the others, nor make the server grow without bound, spin, or die; and a client that
// reads slowly gets all of its echo, even after its EOF.
//
// The story, in five acts, each with a failure message of its own:
//   1. client A sends up to 32 MiB without reading a byte of its echo, until the
//      server has stopped taking A's data (or all of it went). A server that keeps
//      reading what it cannot send back holds A's bytes in its memory, or drops them:
//      counted exactly from the TCP queues of both ends of the connection.
//   2. client B connects and must get its round trip: a server blocked in write() to
//      A serves nobody else.
//   3. with A stalled and B idle, the server has nothing to do and must sleep: a poll
//      loop that asks for POLLOUT on a socket with nothing to send spins.
//   4. A aborts with RST while the server still holds its echo; a new client C must
//      still be served.
//   5. client D sends, without reading, until the server has to keep part of D's echo
//      in its own buffer; then D half-closes and reads: every byte must come, then EOF.

#include <algorithm>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "checks/flow_probes.hpp"
#include "checks/probes.hpp"

namespace labcheck {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;
// More than the kernel's buffers on both ends can hold for a server that stops reading
// (A's send buffer and the server's, 4 MiB each at most on Linux, its receive buffer):
// a server that applies back-pressure never lets all of it through.
constexpr std::size_t kFlood = 32 * kMiB;
// What a server may keep of A's data in its own memory. A back-pressured server keeps
// one buffer's worth (the kit's solutions: 64 KiB and one read); one that never stops
// reading keeps nearly all of kFlood.
constexpr std::size_t kHeldLimit = 4 * kMiB;
// Act 5 creeps up on the point where the server's send buffer for D is full in steps
// this small, so that the server keeps less than a buffer's worth of D's echo when D
// half-closes: it then still reads, and meets D's EOF. Big steps until it is near
// (7/8 of what the send queue held for A), small ones after.
constexpr std::size_t kBigStep = 64 * kKiB;
constexpr std::size_t kStep = 8 * kKiB;
constexpr std::size_t kMostSteps = 1024;
// How much of D's echo the server must keep before D half-closes: more than one small
// step, so that bytes a server drops when write() takes only part of them are followed
// by bytes it kept (the gap then shows in the middle of the echo), and more than the
// count can be off while both ends are read (D's small receive window).
constexpr std::size_t kOwedAtLeast = 24 * kKiB;
// Small: the server's echo backs up at once.
constexpr int kSmallWindow = 4096;
constexpr Millis kFillBudget{10000};
constexpr Millis kDrainBudget{5000};
constexpr Millis kSleepBudget{1000};
constexpr Millis kStepsBudget{15000};
constexpr Millis kReadBackBudget{15000};

std::string mib(std::size_t bytes) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / kMiB);
}

std::string kib(std::size_t bytes) {
    return fmt::format("{} KiB", (bytes + kKiB - 1) / kKiB);
}

struct Flooded {
    std::size_t sent = 0;
    Flow flow;  // A's connection once the server stopped taking A's data
};

// Act 1: A floods until the server stops taking its data, or all of it went.
Flooded flood(const CheckContext& context, Connection& a) {
    const std::size_t memory_before = server_anon_memory(context);
    const std::string block(256 * kKiB, 'f');
    std::size_t sent = 0;
    std::optional<unsigned long> last_server_rx;
    int still = 0;  // samples in a row where the server left A's data unread, asleep
    poll_until(
        Deadline::after(kFillBudget),
        [&] {
            bool pushed = false;
            for (int chunk = 0; chunk < 64 && sent < kFlood; ++chunk) {
                std::size_t n = a.send_some(
                    std::string_view(block).substr(0, std::min(block.size(), kFlood - sent)));
                if (n == 0) break;
                sent += n;
                pushed = true;
            }
            if (sent >= kFlood) return true;
            Flow flow = read_flow(context, a.local_port());
            if (!flow.found) return true;  // the connection is gone: reported below
            // The server has stopped reading A (back-pressure, or blocked in write()):
            // A can send no more, data waits in the server's receive queue and does not
            // move, and no thread of the server runs or is about to. A server that still
            // wanted A's data would have been woken by its arrival.
            bool waiting = !pushed && flow.server_rx > 0 && last_server_rx == flow.server_rx &&
                           server_asleep(context);
            last_server_rx = flow.server_rx;
            still = waiting ? still + 1 : 0;
            return still >= 2;
        },
        Millis(2));

    Flow flow = read_flow(context, a.local_port());
    // All of it went through: the server keeps it, or is still reading it. Let the
    // queues on A's way in empty, so that the count below is exact.
    if (sent >= kFlood)
        poll_until(Deadline::after(kDrainBudget), [&] {
            flow = read_flow(context, a.local_port());
            return !flow.found || (flow.client_tx == 0 && flow.server_rx == 0) ||
                   held_by_server(sent, flow) > kHeldLimit;
        });
    if (!flow.found) {
        pid_t listener = require_listener(context);  // throws when the server died
        throw CheckFailure(fmt::format(
            "client A sent {} without reading its echo; then the server (listening pid {}) "
            "closed A's connection.\nA client that is slow to read is no reason to drop it and "
            "what it sent: stop reading from it until it has read its echo, and the kernel makes "
            "it wait.",
            mib(sent), listener));
    }
    const std::size_t held = held_by_server(sent, flow);
    if (held <= kHeldLimit) return {sent, flow};

    const std::size_t memory_after = server_anon_memory(context);
    const std::size_t grew = memory_after > memory_before ? memory_after - memory_before : 0;
    const std::size_t echoed = flow.server_tx + flow.client_rx;
    if (grew < held / 2)
        throw CheckFailure(fmt::format(
            "client A sent {} without reading a byte of its echo; the server read {} of it, "
            "sent only {} back towards A, and its memory grew by just {}: the rest is lost.\n"
            "On a non-blocking socket write() takes only what fits and returns how much that "
            "was: keep the bytes it did not take in that client's output buffer, and send them "
            "when poll() says POLLOUT.",
            mib(sent), mib(sent - flow.client_tx - flow.server_rx), mib(echoed), mib(grew)));
    throw CheckFailure(fmt::format(
        "client A sent {} without reading a byte of its echo; the server read it and holds {} "
        "of it in its own memory (only {} went back towards A, which does not read; the "
        "server's memory grew by {}).\nA server that keeps reading from a client it cannot "
        "write to grows without bound: a few such clients and it runs out of memory. Once a "
        "client's output buffer is full, stop asking poll() for POLLIN on it: its data then "
        "waits in the kernel, and the kernel makes the client wait (back-pressure).",
        mib(sent), mib(held), mib(echoed), mib(grew)));
}

// Act 2: B's round trip while A floods.
Connection serve_b(const CheckContext& context, std::size_t sent) {
    try {
        return connect_and_echo(context, "client B", client_message(2));
    } catch (const CheckFailure& failure) {
        auto listener = context.view.snapshot().main_listener();
        std::string call = listener ? blocked_call(*listener) : "";
        std::string stuck =
            call == "write()"
                ? fmt::format(
                      "The server (pid {}) is blocked in write(): it is stuck writing A's "
                      "echo, which A will never read, and so it serves nobody else.",
                      *listener)
            : call == "read()"
                ? fmt::format(
                      "The server (pid {}) is blocked in read() on some connection, so it "
                      "serves nobody else.",
                      *listener)
                : std::string("The server is still busy with client A.");
        throw CheckFailure(fmt::format(
            "client A connected and sent {} without reading its echo; then {}\n{}\nMake the "
            "sockets non-blocking: write what the socket takes, keep the rest in that client's "
            "output buffer, and let poll() say (POLLOUT) when more can go.",
            mib(sent), failure.what(), stuck));
    }
}

// Act 3: nothing to do, so the server must sleep.
void expect_sleep(const CheckContext& context) {
    if (poll_until(
            Deadline::after(kSleepBudget), [&] { return server_asleep(context); }, Millis(1)))
        return;
    auto snapshot = context.view.snapshot();
    throw CheckFailure(fmt::format(
        "client A stalled (it reads nothing, so the server can send it nothing more) and client "
        "B, served, stayed connected and idle: the server had nothing to do, yet it never slept "
        "in {} ms: {} spins on the CPU.\npoll() (or epoll_wait()) returns at once, every time, "
        "when it watches for something that stays true while the server does nothing about "
        "it: POLLOUT on a client with nothing to send (a socket with room in its send buffer "
        "is always writable), or POLLIN on a client the server will not read now (its output "
        "buffer is full, or it has sent EOF). Ask for POLLOUT only while a client's buffer "
        "holds data, and for POLLIN only while the server will read.",
        kSleepBudget.count(), describe_processes(snapshot, context.view.tree())));
}

// Act 4: A gives up with RST while the server holds its echo; the server goes on.
void survive_reset(const CheckContext& context, Connection& a, std::size_t sent) {
    pid_t listener = require_listener(context);
    a.abort();
    try {
        converse(context, "client C, after A's reset", client_message(3));
    } catch (const CheckFailure& failure) {
        // A server that dies of C's reset may still be on its way out: give it a moment.
        bool gone = poll_until(Deadline::after(Millis(500)), [&] {
            auto process = procfs::read_process(listener);
            return !process || process->is_zombie() || process->is_exiting();
        });
        throw CheckFailure(fmt::format(
            "client A, which had sent {} without reading, aborted its connection (RST) while "
            "the server still held its echo. Since then the listening process (pid {}) {}.\n{}\n"
            "Writing to a reset connection fails with ECONNRESET or EPIPE (and raises SIGPIPE, "
            "which kills the process unless ignored): close that one client and go on serving "
            "the others.",
            mib(sent), listener, gone ? "has exited" : "is still there, but does not serve",
            failure.what()));
    }
}

// Act 5: D is owed part of its echo when it half-closes; it must get all of it, then EOF.
// `send_queue_hint` is how much the server's send queue took for A: half of it goes
// through at once, then D creeps up in steps.
std::string expect_flush_at_eof(const CheckContext& context, unsigned long send_queue_hint) {
    auto d =
        Connection::open(context.host, context.port, Deadline::after(kReplyBudget), kSmallWindow);
    // Pseudo-random bytes, not one letter over and over: bytes lost from the middle of
    // the echo then show where they went missing, instead of passing for a short tail.
    std::string payload(send_queue_hint / 2 + kMostSteps * kStep, '\0');
    std::mt19937 random(1205);
    std::generate(payload.begin(), payload.end(),
                  [&] { return static_cast<char>(random() & 0xff); });
    std::size_t sent = 0;
    // Sends `bytes` more, as fast as the server takes them. A server that stops taking
    // them has stopped reading D, which is its right (back-pressure): false, and no more.
    auto send = [&](std::size_t bytes) {
        const std::size_t goal = sent + bytes;
        return poll_until(
            Deadline::after(kSettleBudget),
            [&] {
                while (sent < goal) {
                    std::size_t n =
                        d.send_some(std::string_view(payload).substr(sent, goal - sent));
                    if (n == 0) break;
                    sent += n;
                }
                return sent >= goal;
            },
            Millis(1));
    };
    bool taking = send(send_queue_hint / 2);
    Flow flow;
    std::size_t owed = 0;
    auto steps = Deadline::after(kStepsBudget);
    for (;;) {
        // Until the server keeps part of D's echo, or has taken all D sent and sleeps.
        // The count is exact only while nothing moves: between its read() and its
        // write() even a correct server holds what it just read.
        bool consumed = false;
        Flow last;
        poll_until(
            Deadline::after(kSettleBudget),
            [&] {
                flow = read_flow(context, d.local_port());
                owed = held_by_server(sent, flow);
                consumed = flow.client_tx == 0 && flow.server_rx == 0;
                bool still = flow == last && server_asleep(context);
                last = flow;
                return still && (owed > kOwedAtLeast || consumed);
            },
            Millis(1));
        // It keeps part of the echo (time to half-close), or it has stopped reading D
        // (a thread blocked in write(): nothing more to learn by sending).
        if (owed > kOwedAtLeast || !consumed || !taking) break;
        const std::size_t step = sent + kBigStep < send_queue_hint / 8 * 7 ? kBigStep : kStep;
        if (steps.expired() || sent + step > payload.size()) break;
        taking = send(step);
    }
    // D reads only once the server has dealt with its EOF: reading earlier would make
    // room in the server's send buffer, and a server that closes at EOF would then
    // have written everything in time. Its threads wake when the EOF arrives (whatever
    // they wait for), and their count of voluntary context switches says they slept again.
    const auto switches = server_switches(context);
    d.shutdown_write();
    poll_until(
        Deadline::after(kSettleBudget),
        [&] { return server_switches(context) > switches && server_asleep(context); }, Millis(1));
    const std::string expected = context.expected(std::string_view(payload).substr(0, sent));
    Received reply = d.receive_until_eof(sent + 64 * kKiB, Deadline::after(kReadBackBudget));
    if (reply.data == expected && reply.end == Received::End::eof)
        return fmt::format(", and a slow reader got all {} of its echo after its EOF", kib(sent));
    std::string story = fmt::format(
        "client D sent {} without reading yet, so the server had to keep {} of D's echo "
        "itself (its socket's send buffer was full); then D half-closed (EOF) and read: it "
        "received {} — {}",
        kib(sent), owed ? fmt::format("{} bytes", owed) : std::string("some"),
        kib(reply.data.size()), reply.describe_end(kReadBackBudget));
    if (reply.end == Received::End::eof && reply.data.size() < expected.size() &&
        expected.compare(0, reply.data.size(), reply.data) == 0)
        throw CheckFailure(fmt::format(
            "{}: the last {} bytes of its echo were never sent.\nread() returning 0 means the "
            "client will send nothing more, not that it wants nothing more: stop reading from "
            "it, but close only once its output buffer is empty.",
            story, expected.size() - reply.data.size()));
    throw CheckFailure(fmt::format(
        "{}\n{}{}", story, describe_difference(expected, reply.data),
        reply.data.size() < expected.size()
            ? "\nBytes are missing from the middle of the echo: a write() that takes only part "
              "of its bytes returns how many it took; the others must be kept, in order, and "
              "sent when poll() says POLLOUT."
            : ""));
}

std::string flood_no_read(CheckContext& context) {
    auto a =
        Connection::open(context.host, context.port, Deadline::after(kReplyBudget), kSmallWindow);
    Flooded flooded = flood(context, a);
    auto b = serve_b(context, flooded.sent);  // stays connected, idle, for act 3
    expect_sleep(context);
    survive_reset(context, a, flooded.sent);
    std::string flushed = expect_flush_at_eof(context, flooded.flow.server_tx);
    return fmt::format(
        "a client sent {} without reading: another was served at once, the server kept little "
        "of the flood, slept while idle and survived the flooder's reset{}",
        mib(flooded.sent), flushed);
}

}  // namespace

std::vector<CheckDefinition> fairness_checks() {
    return {
        {"flood-no-read", "serves others while one client floods without reading", false, true,
         flood_no_read},
    };
}

}  // namespace labcheck
