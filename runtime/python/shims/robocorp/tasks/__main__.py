import sys

from robocorp.tasks.cli import main

main(sys.argv[1:])
