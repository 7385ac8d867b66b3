"""One module per `ift-desktop` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
