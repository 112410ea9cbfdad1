"""`python -m evalkit` behaves exactly like the `evalkit` command."""

from evalkit.cli import main

main()
