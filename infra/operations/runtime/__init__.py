"""Lambda runtimes of the operations unit, one folder per function."""
