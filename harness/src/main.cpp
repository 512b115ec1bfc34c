#include <unistd.h>

#include "cli.hpp"
#include "interrupts.hpp"

int main(int argc, char** argv) {
    int status = labcheck::run_cli(argc, argv);
    // A command that ends because an interrupt just killed what it was waiting for
    // must not exit with its own status: the signal thread is ending labcheck, and
    // exits with 128 + the signal once everything it started is gone.
    if (labcheck::interrupt_in_progress())
        for (;;) pause();
    return status;
}
