"""One module per ``sportbot`` command, each with ``run(args) -> int``; imported only when used."""
