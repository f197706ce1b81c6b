"""`python -m server` is `palabre`."""

from server.cli import main

main()
