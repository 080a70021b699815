pytest_plugins = [
    "tests.support.pclib_fixtures",
    "tests.support.catalog_fixtures",
    "tests.support.tracing_fixtures",
]
