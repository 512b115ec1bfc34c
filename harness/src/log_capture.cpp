#include "log_capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>

namespace labcheck {
namespace {
constexpr std::size_t kRecentWindow = 8 * 1024;
}

LogCapture::LogCapture(UniqueFd read_end, const std::filesystem::path& file, std::size_t cap_bytes)
    : pipe_(std::move(read_end)),
      path_(file),
      file_(file, std::ios::binary | std::ios::trunc),
      cap_(cap_bytes) {
    fcntl(pipe_.get(), F_SETFL, fcntl(pipe_.get(), F_GETFL) | O_NONBLOCK);
}

void LogCapture::drain() {
    char buffer[16 * 1024];
    while (pipe_) {
        ssize_t n = ::read(pipe_.get(), buffer, sizeof buffer);
        if (n == 0) {
            pipe_.reset();  // every writer is gone
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // EAGAIN: drained for now
        }
        auto size = static_cast<std::size_t>(n);
        total_ += size;
        if (written_ < cap_) {
            std::size_t keep = std::min(size, cap_ - written_);
            file_.write(buffer, static_cast<std::streamsize>(keep));
            written_ += keep;
            file_.flush();
        }
        if (total_ > cap_ && !noted_cap_) {
            file_ << "\n[labcheck: log capped here; further output dropped]\n";
            file_.flush();
            noted_cap_ = true;
        }
        recent_.append(buffer, size);
        if (recent_.size() > 2 * kRecentWindow) recent_.erase(0, recent_.size() - kRecentWindow);
    }
}

std::string LogCapture::tail(std::size_t max_lines) const {
    if (max_lines == 0) return {};
    std::string_view text = recent_;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (text.empty()) return {};
    // Walk back over newlines until `max_lines` complete lines are behind us.
    std::size_t start = text.size();
    std::size_t lines = 0;
    while (start > 0) {
        std::size_t newline = text.rfind('\n', start - 1);
        if (newline == std::string_view::npos) {
            start = 0;
            break;
        }
        if (++lines == max_lines) {
            start = newline + 1;
            break;
        }
        start = newline;
    }
    std::string_view kept = text.substr(start);
    if (kept.size() > 4096) kept = kept.substr(kept.size() - 4096);
    std::string result(kept);
    if (total_ > cap_)
        result +=
            fmt::format("\n[{} bytes of output in all; the log keeps the first {}]", total_, cap_);
    return result;
}

}  // namespace labcheck
