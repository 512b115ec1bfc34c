#pragma once
// What `observe` and `bench` point at, named as `check` names a server: a lab (its
// built server, or --solution), --server PATH, `-- CMD ... {port}`, or a server
// already running (--attach HOST:PORT). A LiveServer is that server, listening:
// started by labcheck (and stopped with every process of its tree when dropped), or
// attached to (left running).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lab_catalog.hpp"
#include "lab_spec.hpp"
#include "protocol.hpp"
#include "runner.hpp"
#include "sandbox.hpp"
#include "server_start.hpp"
#include "server_view.hpp"

namespace labcheck {

struct TargetOptions {
    std::string lab;  // 3, 03, 03-fork-per-client or a lab folder; may be empty with -- CMD
    std::string server;
    bool solution = false;
    int port = 0;
    std::string attach;
    std::string user = "nobody";
    int max_procs = 128;
    std::vector<std::string> command;
};

// "HOST:PORT" (HOST may be [::1]). Throws UsageError.
AttachTarget parse_attach(const std::string& text);

// The server's argv: `-- CMD` (searched in PATH), --server PATH, or the lab's built
// server (or solution) from `spec`. Throws UsageError naming what is missing.
std::vector<std::string> server_command(const TargetOptions& options, const Kit& kit,
                                        const LabSpec* spec);

// With no lab, `observe -- ./server {port}` has CLI11 put "./server" in the optional lab
// positional (after `--` every word is positional): this moves a lab that was not
// written before "--" in argv back to the front of the command.
void move_lab_after_dashes_to_command(TargetOptions& options, int argc, char** argv);

class LiveServer {
  public:
    // Starts (or attaches to) the server the options name and waits for it to listen.
    // `protocol` is the lab's when a lab is named, else `fallback`. Throws UsageError
    // or std::runtime_error (with the server's log) when it never listens.
    static LiveServer start(const TargetOptions& options, const Kit& kit,
                            Protocol fallback = Protocol::swapcase);

    LiveServer(LiveServer&&) = default;
    LiveServer& operator=(LiveServer&&) = default;
    ~LiveServer();

    const std::string& host() const { return host_; }
    std::uint16_t port() const { return port_; }
    Protocol protocol() const { return protocol_; }
    const ServerView& view() const { return *view_; }
    // The server as the user named it, with the port it got:
    // "solutions/05-robust-server/server 40123", "127.0.0.1:1205 (attached)".
    const std::string& label() const { return label_; }
    bool attached() const { return !started_.process; }
    // The process labcheck started; null when attached.
    const ServerProcess* process() const { return started_.process.get(); }

  private:
    LiveServer() = default;
    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    Protocol protocol_ = Protocol::swapcase;
    std::optional<ServerView> view_;
    std::string label_;
    std::unique_ptr<StagingArea> staging_;
    StartedServer started_;
};

}  // namespace labcheck
