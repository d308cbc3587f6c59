from tests.deployments.conftest import sandbox  # noqa: F401  (the sandbox cluster fixture)
