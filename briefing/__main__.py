"""`python -m briefing` is the `brief` command."""

from briefing.cli import main

main()
