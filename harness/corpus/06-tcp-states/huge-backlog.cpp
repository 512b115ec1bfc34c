// BROKEN: the commands all work, but the server listens with lab 05's SOMAXCONN (4096
// here) when argv[2] is absent. A stall then queues every client labcheck sends: the
// queue is never full, and no SYN is ever dropped.
#include "playground.hpp"

int main(int argc, char** argv) {
    // BUG: the default backlog should be 5, small enough to fill by hand.
    return playground::run(argc, argv, "huge-backlog", {}, SOMAXCONN);
}
