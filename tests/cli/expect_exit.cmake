# Runs BINARY with ARGS and fails unless it exits with EXPECT; prints its output for regex checks.
execute_process(COMMAND ${BINARY} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT code EQUAL EXPECT)
  message(FATAL_ERROR "expected exit code ${EXPECT}, got ${code}")
endif()
