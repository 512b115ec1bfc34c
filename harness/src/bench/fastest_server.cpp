#include "fastest_server.hpp"

#include <filesystem>

#include <fmt/format.h>

namespace labcheck::bench {
namespace fs = std::filesystem;

FastestServer find_fastest_server(const Kit& kit, const TargetOptions& like) {
    // Highest-numbered first: lab 10's epoll server is the kit's fastest, lab 08's poll
    // server the next.
    for (const char* folder : {"10-compare", "08-poll"}) {
        const fs::path binary = kit.server_binary(kit.root / "solutions" / folder, true);
        if (!fs::exists(binary)) continue;
        FastestServer fastest;
        fastest.folder = folder;
        fastest.options.user = like.user;
        fastest.options.max_procs = like.max_procs;
        // Through its lab when the kit has it, so the lab's protocol is used.
        if (fs::exists(kit.root / "labs" / folder / "lab.toml")) {
            fastest.options.lab = folder;
            fastest.options.solution = true;
        } else {
            fastest.options.server = binary.string();
        }
        return fastest;
    }
    throw UsageError(fmt::format(
        "--ceiling compares with the kit's fastest server, the built solution of 10-compare or "
        "08-poll, and neither is built in {}: build them first (make)",
        (kit.build / "solutions").string()));
}

}  // namespace labcheck::bench
