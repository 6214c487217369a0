"""Run the unit tests of the pure-Python shims (runtime/python/shims).

    /usr/bin/python3.11 -I tests/unit/python/shims/run_tests.py [-v] [pattern]

Exits non-zero when a test fails.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SHIMS = os.path.join(REPO, "runtime", "python", "shims")

for p in (HERE, SHIMS):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ["ROBOTNI_SHIMS_DIR"] = SHIMS
os.environ["ROBOTNI_REPO_DIR"] = REPO


def main(argv) -> int:
    verbosity = 2 if "-v" in argv else 1
    patterns = [a for a in argv if not a.startswith("-")]
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern=patterns[0] if patterns else "test_*.py",
                            top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=verbosity, buffer=True).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
