#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "os/deadline.hpp"
#include "os/errors.hpp"

using namespace labcheck;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- Deadline

TEST_CASE("deadline: a zero budget is already expired") {
    const auto deadline = Deadline::after(Millis(0));
    CHECK(deadline.expired());
    CHECK(deadline.poll_timeout() == 0);
    CHECK(deadline.remaining() == Millis(0));
}

TEST_CASE("deadline: a past deadline never gives a negative remainder") {
    const Deadline deadline(Clock::now() - 1h);
    CHECK(deadline.expired());
    CHECK(deadline.remaining() == Millis(0));
    CHECK(deadline.poll_timeout() == 0);
}

TEST_CASE("deadline: a 10 s deadline") {
    const auto before = Clock::now();
    const auto deadline = Deadline::after(10s);
    CHECK(deadline.at() >= before + 10s);
    CHECK_FALSE(deadline.expired());
    const auto remaining = deadline.remaining();
    CHECK(remaining > 9s);
    CHECK(remaining <= 10s);
    const int timeout = deadline.poll_timeout();
    CHECK(timeout > 9000);
    CHECK(timeout <= 10000);
}

TEST_CASE("deadline: poll_timeout rounds a partial millisecond up") {
    // 0.5 ms ahead: not expired yet (unless the machine stalls), and never 0 while it is not.
    const Deadline deadline(Clock::now() + 500us);
    const int timeout = deadline.poll_timeout();
    if (deadline.expired())
        CHECK(timeout >= 0);
    else
        CHECK(timeout >= 1);
    CHECK(timeout <= 1);
}

TEST_CASE("deadline: capped_by picks the earlier") {
    const auto now = Clock::now();
    const Deadline soon(now + 1s);
    const Deadline late(now + 1h);
    CHECK(soon.capped_by(late).at() == soon.at());
    CHECK(late.capped_by(soon).at() == soon.at());
    CHECK(soon.capped_by(soon).at() == soon.at());
}

// ---------------------------------------------------------------- poll_until

TEST_CASE("deadline: poll_until returns at once when the condition holds") {
    int evaluations = 0;
    const auto start = Clock::now();
    const bool held = poll_until(Deadline::after(10s), [&] {
        ++evaluations;
        return true;
    });
    CHECK(held);
    CHECK(evaluations == 1);
    CHECK(Clock::now() - start < 5s);
}

TEST_CASE("deadline: poll_until gives up at the deadline") {
    int evaluations = 0;
    const auto start = Clock::now();
    const bool held = poll_until(Deadline::after(Millis(50)), [&] {
        ++evaluations;
        return false;
    });
    const auto took = Clock::now() - start;
    CHECK_FALSE(held);
    CHECK(evaluations > 1);
    CHECK(took >= 50ms);
    CHECK(took < 5s);
}

TEST_CASE("deadline: poll_until tests an already expired deadline's condition once") {
    int evaluations = 0;
    CHECK(poll_until(Deadline::after(Millis(0)), [&] { return ++evaluations > 0; }));
    CHECK(evaluations == 1);

    evaluations = 0;
    CHECK_FALSE(poll_until(Deadline::after(Millis(0)), [&] {
        ++evaluations;
        return false;
    }));
    CHECK(evaluations == 1);
}

TEST_CASE("deadline: poll_until stops as soon as the condition becomes true") {
    int evaluations = 0;
    const auto start = Clock::now();
    const bool held = poll_until(Deadline::after(10s), [&] { return ++evaluations == 3; });
    CHECK(held);
    CHECK(evaluations == 3);
    CHECK(Clock::now() - start < 5s);
}

TEST_CASE("deadline: poll_patiently stops as soon as the condition becomes true") {
    int evaluations = 0;
    const auto start = Clock::now();
    CHECK(poll_patiently(Deadline::after(10s), [&] { return ++evaluations == 5; }));
    CHECK(evaluations == 5);
    CHECK(Clock::now() - start < 5s);
}

TEST_CASE("deadline: poll_patiently looks ever less often, so a lost wait costs few looks") {
    int evaluations = 0;
    const auto start = Clock::now();
    CHECK_FALSE(poll_patiently(Deadline::after(1s), [&] {
        ++evaluations;
        return false;
    }));
    CHECK(Clock::now() - start >= 1s);
    // Gaps of 2 ms up to 20 ms waited, then a tenth of the time waited, then 50 ms: about
    // 10 + 34 + 10 looks. A busy machine only makes fewer; a fixed 2 ms would be 500.
    CHECK(evaluations <= 70);
}

// ---------------------------------------------------------------- errors.hpp

TEST_CASE("deadline: retry_on_eintr calls again after EINTR") {
    int calls = 0;
    const auto result = retry_on_eintr([&]() -> long {
        ++calls;
        if (calls <= 2) {
            errno = EINTR;
            return -1;
        }
        return 42;
    });
    CHECK(result == 42);
    CHECK(calls == 3);
}

TEST_CASE("deadline: retry_on_eintr returns any other failure at once") {
    int calls = 0;
    const auto result = retry_on_eintr([&] {
        ++calls;
        errno = EBADF;
        return -1;
    });
    const int error = errno;  // before any CHECK, whose reporting may change errno
    CHECK(result == -1);
    CHECK(error == EBADF);
    CHECK(calls == 1);
}

TEST_CASE("deadline: retry_on_eintr does not look at errno on success") {
    int calls = 0;
    errno = EINTR;  // stale from an earlier call: not a failure of this one
    const auto result = retry_on_eintr([&] {
        ++calls;
        return 0;
    });
    CHECK(result == 0);
    CHECK(calls == 1);
}

TEST_CASE("deadline: throw_errno throws a system_error with errno and the message") {
    errno = ENOENT;
    try {
        throw_errno("open /nonexistent");
        FAIL("throw_errno returned");
    } catch (const std::system_error& error) {
        CHECK(error.code().value() == ENOENT);
        CHECK(error.code() == std::errc::no_such_file_or_directory);
        CHECK(error.code().category() == std::generic_category());
        const std::string what = error.what();
        CHECK(what.find("open /nonexistent") != std::string::npos);
    }
    errno = EACCES;
    CHECK_THROWS_AS(throw_errno("x"), std::system_error);
}
