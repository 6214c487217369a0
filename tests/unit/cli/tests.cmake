# The CLI is tested end to end in tests/integration/cli; serve's settings are in tests/unit/config.
