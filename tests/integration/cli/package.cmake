# `robotni package` (extracted with Debian's cph) and `robotni env check`.
robotni_test(package_cli_test
  tests/integration/cli/package_test.cc
  tests/integration/cli/env_check_test.cc)
# Running in a venv or conda environment (--python-prefix, VIRTUAL_ENV, CONDA_PREFIX).
robotni_test(python_env_cli_test tests/integration/cli/python_env_test.cc)
# `robotni env create` (conda packages into a prefix, run from there) and the conda recipe.
robotni_test(env_create_cli_test tests/integration/cli/env_create_test.cc)
