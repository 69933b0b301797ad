# captures/README.md quotes canary-placements.tsv (written by sealscope-mkcaptures beside canary.pcap; the test
# captures.regenerate_identical keeps the committed file equal to the generator's). Fails unless the README
# holds every row of the file as a Markdown table row, in the file's order, and no other placement row.
file(STRINGS ${CAPTURES_DIR}/canary-placements.tsv rows ENCODING UTF-8)  # the generator writes no ; and no brackets
file(READ ${CAPTURES_DIR}/README.md readme)
list(LENGTH rows count)
if(count LESS 2)
  message(FATAL_ERROR "canary-placements.tsv has no placement rows")
endif()
set(from 0)
foreach(row IN LISTS rows)
  string(REPLACE "\t" " | " md "${row}")
  set(md "\n| ${md} |\n")
  string(FIND "${readme}" "${md}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "captures/README.md does not hold this row of canary-placements.tsv:${md}"
                        "regenerate the table from the file (see the canary.pcap section)")
  endif()
  if(pos LESS from)
    message(FATAL_ERROR "captures/README.md holds the rows of canary-placements.tsv in another order (at:${md})")
  endif()
  set(from ${pos})
endforeach()
# Placement rows in the README: lines starting with a case letter, a line number and a canary column.
string(REGEX MATCHALL "\n\\| [a-i] \\| [0-9]+ \\| [^\n]*" documented "${readme}")
list(LENGTH documented ndoc)
math(EXPR nrows "${count} - 1")
if(NOT ndoc EQUAL nrows)
  message(FATAL_ERROR "captures/README.md has ${ndoc} canary placement rows, canary-placements.tsv ${nrows}")
endif()
message(STATUS "captures/README.md quotes all ${nrows} rows of canary-placements.tsv")
