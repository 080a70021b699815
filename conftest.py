pytest_plugins = ["pclib.testing", "catalog.fixtures"]
