#pragma once
// labcheck run as a student runs it: the built binary (LABCHECK_BINARY) in a process
// of its own, stdout and stderr into one pipe that the test reads, stdin /dev/null.
// The process is ended (SIGINT, then SIGKILL) if a test leaves it running.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "os/unique_fd.hpp"

extern char** environ;

class LabcheckProcess {
  public:
    // `arguments` follow the program name; `environment` overrides (or, with an
    // empty value, removes) variables of the test's own environment.
    LabcheckProcess(const std::vector<std::string>& arguments,
                    const std::map<std::string, std::string>& environment) {
        // Everything exec needs is prepared before fork: the child only calls
        // async-signal-safe functions.
        std::vector<std::string> argv_storage{LABCHECK_BINARY};
        argv_storage.insert(argv_storage.end(), arguments.begin(), arguments.end());
        std::vector<std::string> env_storage;
        for (char** entry = environ; *entry; ++entry) {
            std::string variable = *entry;
            if (!environment.contains(variable.substr(0, variable.find('='))))
                env_storage.push_back(variable);
        }
        for (const auto& [name, value] : environment)
            if (!value.empty()) env_storage.push_back(name + "=" + value);
        std::vector<char*> argv = pointers(argv_storage);
        std::vector<char*> envp = pointers(env_storage);

        int ends[2];
        REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
        output_ = labcheck::UniqueFd(ends[0]);
        labcheck::UniqueFd write_end(ends[1]);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            int null = ::open("/dev/null", O_RDONLY);
            if (null < 0 || dup2(null, 0) < 0 || dup2(write_end.get(), 1) < 0 ||
                dup2(write_end.get(), 2) < 0)
                _exit(127);
            // The test runner's signal state is not labcheck's business.
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
    }
    LabcheckProcess(const LabcheckProcess&) = delete;
    LabcheckProcess& operator=(const LabcheckProcess&) = delete;
    ~LabcheckProcess() {
        if (status_) return;
        ::kill(pid_, SIGINT);
        if (!wait_exit(labcheck::Deadline::after(labcheck::Millis(10000)))) {
            ::kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    pid_t pid() const { return pid_; }
    const std::string& output() const { return text_; }

    // Reads output as it comes until `condition(output)` holds (true) or the deadline
    // passes, or the output ends (false).
    template <typename Condition>
    bool wait_for_output(const labcheck::Deadline& deadline, Condition condition) {
        while (!condition(text_)) {
            if (!read_some(deadline)) return condition(text_);
        }
        return true;
    }

    // Reads the rest of the output, then reaps the process: its wait status, or
    // nullopt when it is still running at the deadline.
    std::optional<int> wait_exit(const labcheck::Deadline& deadline) {
        while (read_some(deadline)) {
        }
        if (!status_) {
            labcheck::poll_until(deadline, [&] {
                int status = 0;
                if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
                return status_.has_value();
            });
        }
        return status_;
    }

  private:
    static std::vector<char*> pointers(std::vector<std::string>& strings) {
        std::vector<char*> result;
        for (auto& text : strings) result.push_back(text.data());
        result.push_back(nullptr);
        return result;
    }

    // Waits for output until the deadline; false at end of output or at the deadline.
    bool read_some(const labcheck::Deadline& deadline) {
        if (!output_) return false;
        pollfd entry{output_.get(), POLLIN, 0};
        int ready = ::poll(&entry, 1, deadline.poll_timeout());
        if (ready < 0 && errno == EINTR) return !deadline.expired();
        if (ready <= 0) return false;
        char buffer[4096];
        ssize_t n = ::read(output_.get(), buffer, sizeof buffer);
        if (n <= 0) {
            output_.reset();
            return false;
        }
        text_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    labcheck::UniqueFd output_;
    std::string text_;
    std::optional<int> status_;
};
