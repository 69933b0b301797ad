#pragma once
// Opening the text files the commands read (rules, canaries, labels), with the same errors for each.
#include <fstream>
#include <string>

namespace sealscope {

/// Opens `path` for reading; throws InputError "PATH: is a directory, not a NOUN" or
/// "PATH: OPEN_FAILURE: <the system's reason>". NOUN names the kind of file ("rules file"), OPEN_FAILURE
/// says what could not be done ("cannot read the rules file").
std::ifstream open_text_input(const std::string& path, const std::string& noun, const std::string& open_failure);

}  // namespace sealscope
