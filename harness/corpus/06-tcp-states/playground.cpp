// CORRECT (design): lab 06's state playground, as the lab text builds it: lab 05's
// forking server, a backlog of 5 (or argv[2]), and the four commands, each doing what
// it should: close closes first, leak keeps the connection after EOF, reset sends RST,
// stall stops the parent accepting for the time asked.
#include "playground.hpp"

int main(int argc, char** argv) {
    return playground::run(argc, argv, "playground", {});
}
