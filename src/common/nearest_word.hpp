#pragma once
#include <string>
#include <vector>

namespace sealscope {

/// Of `candidates`, the one a misspelt `word` most likely meant, or "" when none is close: the smallest
/// optimal-string-alignment distance, case-insensitive (a swap of two neighbours, "dsn" for "dns", costs 1),
/// at most 1 for words of up to 4 characters (they are close to too many others) and at most a third of the
/// word's length (and 2) for longer ones. The "did you mean" of sealscope's commands and rules, and of
/// sealrelay's configuration keys.
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace sealscope
