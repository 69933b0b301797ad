#include "cli/commands.hpp"

int main(int argc, char** argv) { return sealscope::cli::run(argc, argv); }
