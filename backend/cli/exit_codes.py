"""The exit codes of `upscale`: 0 all done, 1 a file failed, 2 usage, 130 Ctrl-C, 143 SIGTERM, 141 reader gone."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell shows for a producer killed by `| head`
