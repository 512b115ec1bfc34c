#include "generator_thread.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "bench/connector.hpp"
#include "os/errors.hpp"

namespace labcheck::bench {
namespace {

// How often connections are looked at for a stall.
constexpr Millis kSweepInterval{100};
// The epoll data of the go eventfd; connections use generation << 32 | index.
constexpr std::uint64_t kGoMarker = UINT64_MAX;

std::uint64_t event_data(std::uint32_t generation, std::uint32_t index) {
    return std::uint64_t{generation} << 32 | index;
}

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

std::chrono::nanoseconds thread_cpu_time() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

}  // namespace

SharedRun::SharedRun(const LoadPlan& load_plan, const PayloadPattern& payload)
    : plan(load_plan), pattern(payload) {
    if (plan.mode == Mode::hold) {
        go = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!go) throw_errno("eventfd");
    }
}

GeneratorThread::GeneratorThread(SharedRun& run, std::uint32_t first_client, std::uint32_t clients)
    : run_(run),
      plan_(run.plan),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      connections_(clients),
      scratch_(PayloadPattern::kWindow) {
    if (!epoll_) throw_errno("epoll_create1");
    to_open_.reserve(clients);
    opening_.reserve(clients);
    samples_.reserve(kErrorSamples);
    for (std::uint32_t i = 0; i < clients; ++i) connections_[i].client = first_client + i;
    if (plan_.mode == Mode::hold) {
        epoll_event go{};
        go.events = EPOLLIN;
        go.data.u64 = kGoMarker;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, run.go.get(), &go) < 0)
            throw_errno("epoll_ctl(eventfd)");
    }
}

void GeneratorThread::run() noexcept {
    try {
        cpu_time_ = -thread_cpu_time();
        loop();
    } catch (const std::exception& error) {
        // epoll_wait failing, or no memory left for a message: every connection still
        // open fails, so the report says the run is not to be trusted.
        for (auto& c : connections_)
            if (c.phase != Phase::idle && c.phase != Phase::served)
                fail(c, fmt::format("the generator stopped: {}", error.what()), Clock::now());
    }
    finished_at_ = Clock::now();
    cpu_time_ += thread_cpu_time();
}

void GeneratorThread::loop() {
    Clock::time_point now = Clock::now();
    active_ = static_cast<std::uint32_t>(connections_.size());
    for (std::uint32_t i = 0; i < connections_.size(); ++i) to_open_.push_back(i);
    Clock::time_point next_sweep = now + kSweepInterval;
    while (active_ > 0) {
        // Opened here, after a batch of events, never from inside one: a connect that
        // fails at once (a refused port) cannot recurse into the next attempt.
        std::swap(to_open_, opening_);
        for (std::uint32_t index : opening_) open(connections_[index], Clock::now());
        opening_.clear();
        if (active_ == 0) break;

        const int timeout =
            to_open_.empty()
                ? static_cast<int>(std::chrono::ceil<Millis>(
                                       std::max(next_sweep - Clock::now(), Clock::duration::zero()))
                                       .count())
                : 0;
        const int ready =
            ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw_errno("epoll_wait");
        }
        for (int i = 0; i < ready; ++i) {
            const epoll_event& event = events_[static_cast<std::size_t>(i)];
            if (event.data.u64 == kGoMarker) {
                on_go();
                continue;
            }
            Connection& c = connections_[static_cast<std::uint32_t>(event.data.u64)];
            if (c.generation != static_cast<std::uint32_t>(event.data.u64 >> 32)) continue;
            on_event(c, event.events);
        }
        now = Clock::now();
        if (now >= next_sweep) {
            sweep_stalled(now);
            next_sweep = now + kSweepInterval;
        }
    }
}

void GeneratorThread::open(Connection& c, Clock::time_point now) {
    ++c.generation;
    c.started = now;
    c.last_progress = now;
    c.phase = Phase::connecting;
    ConnectStart start = start_connect(plan_, connects_started_++);
    if (!start.fd) {
        fail(c, describe_connect_error(start.call, start.error), now);
        return;
    }
    c.fd = std::move(start.fd);
    // Edge-triggered: each event is handled until the socket would block, and a socket
    // that is always writable wakes nobody.
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = event_data(c.generation, static_cast<std::uint32_t>(&c - connections_.data()));
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &event) < 0)
        fail(c, fmt::format("epoll_ctl: {}", std::strerror(errno)), now);
}

void GeneratorThread::on_event(Connection& c, std::uint32_t events) {
    const Clock::time_point now = Clock::now();
    if (c.phase == Phase::connecting) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            int error = 0;
            socklen_t size = sizeof error;
            ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
            fail(c, describe_connect_error("connect", error ? error : ECONNRESET), now);
            return;
        }
        if (!(events & EPOLLOUT)) return;
        connected(c, now);
    }
    if (c.phase == Phase::exchanging) pump(c, now);
}

void GeneratorThread::connected(Connection& c, Clock::time_point now) {
    bump(counters_.connections_made);
    c.last_progress = now;
    switch (plan_.mode) {
        case Mode::conn:
            begin_exchange(c, kRoundTripBytes, c.started);  // timed from connect()
            break;
        case Mode::stream:
            begin_exchange(c, plan_.stream_bytes, c.started);
            break;
        case Mode::hold:
            c.phase = Phase::waiting;  // until every connection of the run is open
            settle();
            break;
    }
}

void GeneratorThread::begin_exchange(Connection& c, std::uint64_t bytes, Clock::time_point from) {
    c.phase = Phase::exchanging;
    // Each client, and each of its round trips, sends other bytes: a server that mixes up
    // its clients' data, or answers with an earlier reply, sends wrong bytes.
    c.pattern_offset = (std::uint64_t{c.client} * 1031 + c.rounds * 67) % PayloadPattern::kPeriod;
    c.to_send = bytes;
    c.sent = 0;
    c.write_closed = false;
    c.started = from;
    c.reply.expect(c.pattern_offset, bytes);
}

void GeneratorThread::pump(Connection& c, Clock::time_point now) {
    if (send_some(c, now)) receive(c, now);
}

bool GeneratorThread::send_some(Connection& c, Clock::time_point now) {
    while (c.sent < c.to_send) {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(c.to_send - c.sent, PayloadPattern::kWindow));
        const std::string_view bytes = run_.pattern.sent(c.pattern_offset + c.sent, n);
        const ssize_t written = ::send(c.fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;  // EPOLLOUT will come
            if (errno == EINTR) continue;
            fail(c,
                 fmt::format("send: {} after {} of {} bytes sent, {} of the reply received",
                             std::strerror(errno), c.sent, c.to_send, c.reply.received()),
                 now);
            return false;
        }
        c.sent += static_cast<std::uint64_t>(written);
        c.last_progress = now;
    }
    if (plan_.mode == Mode::stream && !c.write_closed) {
        // All sent: the server's read() returns 0 and it closes once the echo is out.
        ::shutdown(c.fd.get(), SHUT_WR);
        c.write_closed = true;
    }
    return true;
}

void GeneratorThread::receive(Connection& c, Clock::time_point now) {
    for (;;) {
        const ssize_t got = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
        if (got > 0) {
            const std::uint64_t before = c.reply.received();
            auto wrong = c.reply.accept(
                run_.pattern, std::string_view(scratch_.data(), static_cast<std::size_t>(got)));
            bump(counters_.bytes_verified, c.reply.received() - before);
            if (wrong) {
                fail(c, *wrong, now);
                return;
            }
            c.last_progress = now;
            // conn and hold close (or keep) the connection as soon as the reply is whole;
            // a stream waits for the server's close.
            if (c.reply.complete() && plan_.mode != Mode::stream) {
                completed(c);
                return;
            }
            continue;
        }
        if (got == 0) {
            if (c.reply.complete())
                completed(c);
            else
                fail(c, c.reply.closed_early(), now);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        fail(c,
             fmt::format("recv: {} after {} of the {} reply bytes", std::strerror(errno),
                         c.reply.received(), c.reply.length()),
             now);
        return;
    }
}

void GeneratorThread::completed(Connection& c) {
    // Now, not when the event was picked up: a reply can come back within the event that
    // sent its request (in hold mode, within the loop that sends them all).
    const Clock::time_point now = Clock::now();
    bump(counters_.round_trips);
    if (now <= run_.load_end) ++in_window_;
    latency_.record(now - c.started);
    if (plan_.mode == Mode::hold) {
        c.phase = Phase::served;  // stays open: every connection is open until all are served
        last_served_ = now;
        --active_;
        return;
    }
    // A normal close (FIN), never an abort: the server sees what a polite client does.
    c.fd.reset();
    next_or_end(c, now);
}

void GeneratorThread::fail(Connection& c, const std::string& message, Clock::time_point now) {
    bump(counters_.errors);
    if (samples_.size() < kErrorSamples)
        samples_.push_back(
            plan_.mode == Mode::conn
                ? fmt::format("client {}, connection {}: {}", c.client, c.rounds + 1, message)
                : fmt::format("connection {}: {}", c.client, message));
    const bool was_connecting = c.phase == Phase::connecting;
    c.fd.reset();
    if (plan_.mode == Mode::hold && was_connecting) settle();
    next_or_end(c, now);
}

void GeneratorThread::next_or_end(Connection& c, Clock::time_point now) {
    if (plan_.mode == Mode::conn && now < run_.load_end) {
        ++c.rounds;
        c.phase = Phase::idle;
        to_open_.push_back(static_cast<std::uint32_t>(&c - connections_.data()));
        return;
    }
    c.phase = Phase::idle;
    --active_;  // done for this run
}

void GeneratorThread::settle() {
    if (run_.settled.fetch_add(1) + 1 == plan_.connections) {
        // Cannot fail: an eventfd write only blocks (here: EAGAIN) near 2^64.
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(run_.go.get(), &one, sizeof one);
    }
}

void GeneratorThread::on_go() {
    // Seen once per thread; the eventfd stays readable for the other threads.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, run_.go.get(), nullptr);
    for (auto& c : connections_) {
        if (c.phase != Phase::waiting) continue;
        const Clock::time_point now = Clock::now();
        begin_exchange(c, kRoundTripBytes, now);  // timed from its first byte sent
        c.last_progress = now;
        pump(c, now);
    }
}

void GeneratorThread::sweep_stalled(Clock::time_point now) {
    for (auto& c : connections_) {
        if (c.phase != Phase::connecting && c.phase != Phase::exchanging) continue;
        if (now - c.last_progress < plan_.stall_timeout) continue;
        if (c.phase == Phase::connecting)
            fail(c,
                 fmt::format("connect did not complete within {:.0f} s (the server's accept "
                             "queue stayed full, or nothing answers)",
                             seconds(plan_.stall_timeout)),
                 now);
        else
            fail(c,
                 fmt::format("no progress for {:.0f} s: {} of {} bytes sent, {} of the reply "
                             "received{}",
                             seconds(plan_.stall_timeout), c.sent, c.to_send, c.reply.received(),
                             c.reply.complete() ? " (all of it; the server never closed)" : ""),
                 now);
    }
}

}  // namespace labcheck::bench
