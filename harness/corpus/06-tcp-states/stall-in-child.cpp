// BROKEN: on stall the child sleeps, instead of telling the parent. The child never calls
// accept() anyway: the parent goes on accepting, the accept queue never fills, and no
// SYN is dropped (or, if a burst of clients outruns the parent's forks, the queue is
// empty again a moment later).
#include "playground.hpp"

#include <thread>

// BUG: the process that stops is the wrong one: only the parent calls accept().
void stall_in_the_child(int fd, int, int ms) {
    playground::say(fd, "stall: the server stops calling accept() for a while\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    corpus::echo_swapcase(fd);
}

int main(int argc, char** argv) {
    playground::Handlers handlers;
    handlers.stall = stall_in_the_child;
    return playground::run(argc, argv, "stall-in-child", handlers);
}
