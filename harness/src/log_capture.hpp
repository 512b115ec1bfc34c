#pragma once
// The server's stdout and stderr, drained from a pipe into a capped log file.
// A server that floods its output keeps running (we keep reading and dropping),
// and the last lines stay at hand for failure messages.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include "os/unique_fd.hpp"

namespace labcheck {

class LogCapture {
  public:
    LogCapture(UniqueFd read_end, const std::filesystem::path& file, std::size_t cap_bytes);

    int fd() const { return pipe_.get(); }
    bool open() const { return static_cast<bool>(pipe_); }

    // Reads what is there without blocking; closes the pipe at EOF.
    void drain();

    // The last `max_lines` lines (at most ~4 KiB), with a note when output was cut.
    std::string tail(std::size_t max_lines) const;
    std::size_t total_bytes() const { return total_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    UniqueFd pipe_;
    std::filesystem::path path_;
    std::ofstream file_;
    std::size_t cap_;
    std::size_t written_ = 0;
    std::size_t total_ = 0;
    bool noted_cap_ = false;
    std::string recent_;  // a sliding window over the newest output
};

}  // namespace labcheck
