#include "cli.hpp"

int main(int argc, char** argv) {
    return labcheck::run_cli(argc, argv);
}
