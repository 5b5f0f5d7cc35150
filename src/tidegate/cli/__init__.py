"""The command line: argv → options → library call → render → exit code. One module per subcommand group."""
