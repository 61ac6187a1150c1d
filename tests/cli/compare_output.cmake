# Golden test: runs BINARY with ARGS and fails unless stdout equals the file GOLDEN exactly.
# To approve a deliberate change: scripts/approve-golden (rewrites the files from the binary).
execute_process(COMMAND ${BINARY} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "exit code ${code}: ${err}")
endif()
file(READ ${GOLDEN} expected)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "output differs from ${GOLDEN}:\n--- got ---\n${out}\n--- expected ---\n${expected}")
endif()
